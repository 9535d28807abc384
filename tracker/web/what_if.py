"""``POST /api/programme/what-if``: what publishing a programme would change, computed over the stored
history of the key's site with nothing written (``services.what_if``), and
``GET /api/programme/what-if/runs/{run_id}``: how that replay stands.

The POST asks as the console does (``services.what_if_ask``): the draft over these days is answered by
a run, replayed in the background, and the answer waits up to ``WAIT`` seconds for it.  A run over by
then answers 200 with its result, as this route always did on a small site.  One still running answers
202 with its progress and a ``Location`` to poll: a large site's replay takes minutes, longer than a
proxy in front of the server waits, and a replay in the request shared the event loop with ingestion.
The client may ask to wait less or more with ``Prefer: wait=N`` (up to ``MAX_WAIT``) or not at all with
``Prefer: respond-async`` (RFC 7240).  The same question asked again while its run answers (running, or
ended under ``what_if_runs.FRESH`` seconds ago against the same active version) gets that run;
``"again": true`` replays anew.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.errors import BadRequest, NotFound, ReplayFailed
from tracker.services import what_if_runs
from tracker.services.runtime import Runtime
from tracker.services.what_if import check_days, compile_draft, named
from tracker.services.what_if_ask import ask
from tracker.store.what_if_queries import WhatIfRun
from tracker.web.auth import authenticate, site_of
from tracker.web.collect import read_body
from tracker.web.params import int_param
from tracker.web.responses import json_response

# A programme is a text file a marketer writes: far below this.
MAX_BODY = 1024 * 1024
DEFAULT_DAYS = 90
# Seconds the POST waits for a new run: a site of some 10,000 people is replayed by then on a slow
# host; the longest asked for (``Prefer: wait``) stays below the 60 s after which proxies commonly give up.
WAIT = 20.0
MAX_WAIT = 50.0
# Seconds a client polling a running run is asked to wait between two polls.
POLL_AFTER = 2


async def programme_what_if(request: Request) -> Response:
    """``{"programme": "<TOML>", "days": 90, "again": false}`` → people replayed, stage changes,
    distributions before and after (200), or the run's progress while it replays (202)."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    raw = await read_body(request, MAX_BODY)
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("body must be JSON", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest('expected an object such as {"programme": "...", "days": 90}', field="body")
    source = body.get("programme")
    if not isinstance(source, str):
        raise BadRequest("the programme's TOML, as a string", field="programme")
    days = body.get("days", DEFAULT_DAYS)
    if not isinstance(days, int) or isinstance(days, bool):
        raise BadRequest("days must be an integer", field="days")
    again = body.get("again", False)
    if not isinstance(again, bool):
        raise BadRequest("again must be true or false", field="again")
    draft = compile_draft(source)
    wait, asynchronous = preferred_wait(request.headers.get("prefer", ""))
    background = request.app.state.background
    author = f"key:{key.id}"
    run = await ask(
        runtime, background, site.id, site.key, draft, check_days(days), author=author, again=again, wait=wait
    )
    if run.status == what_if_runs.DONE and run.result is not None:
        return json_response(await named(runtime.store, run.result))
    if run.status == what_if_runs.FAILED:
        raise ReplayFailed(f'the replay failed: {run.error}; send "again": true to replay anew')
    headers = {"location": f"/api/programme/what-if/runs/{run.id}", "retry-after": str(POLL_AFTER)}
    if asynchronous:
        headers["preference-applied"] = "respond-async"
    return json_response(_progress(run, runtime.clock()), 202, headers=headers)


async def what_if_run(request: Request) -> Response:
    """A run of the key's site: its progress, and its result once done (``result``, else null)."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    run_id = int_param(request.path_params["run_id"], "run_id")
    run = await runtime.store.read(lambda q: q.what_if_run(run_id))
    if run is None or run.site_id != key.site_id:
        raise NotFound("no such what-if run for this key's site", field="run_id")
    finished = run.result if run.status == what_if_runs.DONE else None
    result = None if finished is None else await named(runtime.store, finished)
    return json_response({**_progress(run, runtime.clock()), "result": result})


def preferred_wait(prefer: str) -> tuple[float, bool]:
    """The seconds to wait for a new run, from a ``Prefer`` header, and whether it asked ``respond-async``.

    ``respond-async`` alone waits for nothing; with ``wait=N`` it waits up to N seconds, as ``wait=N``
    alone does.  Preferences are hints (RFC 7240): one not understood, or a wait that is no whole number
    of seconds, is ignored.
    """
    asked: float | None = None
    asynchronous = False
    for preference in prefer.split(","):
        name, _, value = preference.partition(";")[0].partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "respond-async":
            asynchronous = True
        elif name == "wait" and value.isascii() and value.isdigit():
            asked = min(float(value), MAX_WAIT)
    if asked is None:
        asked = 0.0 if asynchronous else WAIT
    return asked, asynchronous


def _progress(run: WhatIfRun, now: float) -> dict[str, Any]:
    # A run said running whose process went silent will not end: say so, as the console does.
    stalled = run.status == what_if_runs.RUNNING and not what_if_runs.is_running(run, now)
    return {
        "run": run.id,
        "status": what_if_runs.INTERRUPTED if stalled else run.status,
        "days": run.days,
        "version": run.version,
        "people": run.total,
        "people_done": run.done,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "error": run.error,
    }
