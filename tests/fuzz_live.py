"""A live ``tracker serve --demo`` to fuzz: a real process over real HTTP and kept-alive
connections, its log read as it runs so every 5xx comes with the traceback that caused it.

``Live.send`` fills in the ``Ref`` markers of a ``Shot`` (visitor tokens, API keys),
sends it and files the answer in a ``Tally``: 5xx with their tracebacks, connections the
server dropped, 4xx that do not say what is wrong, and how many requests got past the
envelope (the share a fuzz test needs to be worth running).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from subprocess import Popen
from typing import Any
from urllib.parse import quote

import httpx

from tracker.domain.identity import VisitorTokens

from .conftest import CHROME, TLS
from .fuzz_bodies import BASE, SITE, Ref, Shot, to_json

# uvicorn keeps an idle connection 5 s: a new connection after a longer pause is no drop.
KEEP_ALIVE = 4.0
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a failure report shows of the headers: the rest are the same for every request.
_SHOWN_HEADERS = (b"authorization", b"content-encoding", b"cookie", b"origin")


def examples(default: int) -> int:
    """Bodies per fuzz test: ``default`` in CI, ``TRACKER_FUZZ_EXAMPLES`` when run by hand for longer."""
    return int(os.environ.get("TRACKER_FUZZ_EXAMPLES") or default)


class ServerLog:
    """The server's output, drained by a thread (a full pipe would block the server) and kept."""

    def __init__(self, process: Popen[bytes]) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="server-log", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for line in iter(self._stream.readline, b""):
            with self._lock:
                self._lines.append(line.decode(errors="replace").rstrip("\n"))

    def mark(self) -> int:
        with self._lock:
            return len(self._lines)

    def since(self, mark: int, wait: float = 0.0) -> list[str]:
        """Lines written after ``mark``; waits up to ``wait`` s for a traceback to be complete."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                lines = self._lines[mark:]
            complete = any(_is_exception_line(line) for line in lines)
            if complete or time.monotonic() >= deadline:
                return lines
            time.sleep(0.02)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


def _is_exception_line(line: str) -> bool:
    return bool(re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)\b", line))


def trace_summary(lines: list[str]) -> tuple[str, str]:
    """(the innermost frame in tracker/, the exception line) of the last traceback in ``lines``."""
    exception = next((line for line in reversed(lines) if _is_exception_line(line)), "")
    frames = [m for m in (_FRAME.match(line) for line in lines) if m]
    ours = [m for m in frames if "/tracker/" in m["file"] and "/tests/" not in m["file"]] or frames
    if not ours:
        return ("(no traceback in the server log)", exception)
    last = ours[-1]
    where = f"{last['file'].split('/tracker/', 1)[-1] if '/tracker/' in last['file'] else last['file']}"
    return (f"tracker/{where}:{last['line']} in {last['func']}", exception)


# Routes people open in a browser (the console, an e-mail's link): a refusal is a page saying why.
PEOPLES_PAGES = ("/admin/", "/r/", "/o/")


@dataclass
class Failure:
    kind: str  # "5xx", "dropped", "unexplained", "transport", "no nosniff"
    route: str
    status: int | None
    body: str
    where: str = ""
    exception: str = ""
    # The request as sent (every Ref filled in), and the smallest body found that still fails.
    shot: Shot | None = None
    minimal: str = ""

    @property
    def signature(self) -> tuple[str, str, str]:
        """Failures with one cause share it: the place, the exception type (not its message)."""
        return (self.kind, self.where, self.exception.split(":", 1)[0])

    def describe(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        cause = f"\n    at {self.where}\n    {self.exception}" if self.where or self.exception else ""
        smallest = f"\n    smallest body (same headers): {self.minimal}" if self.minimal else ""
        return f"{self.kind}{status} on {self.route}: {self.body[:400]}{smallest}{cause}"


@dataclass
class Tally:
    """What one fuzz test saw."""

    sent: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Requests whose contents were read: past the site or write key, the JSON and the envelope.
    reached: int = 0
    rejected_fields: Counter[str] = field(default_factory=Counter)
    # The fields named by 4xx answers: which checks of the envelope the fuzzing reached.
    refused_fields: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)

    @property
    def reached_share(self) -> float:
        return self.reached / max(self.sent, 1)

    def distinct(self) -> dict[tuple[str, str, str], list[Failure]]:
        groups: dict[tuple[str, str, str], list[Failure]] = {}
        for failure in self.failures:
            groups.setdefault(failure.signature, []).append(failure)
        return groups

    def report(self) -> str:
        lines = [f"{len(self.failures)} failures in {self.sent} requests, {len(self.distinct())} distinct:"]
        for group in self.distinct().values():
            lines.append(f"  ×{len(group)} {group[0].describe()}")
        return "\n".join(lines)

    def summary(self) -> str:
        by_status = ", ".join(f"{route} {status}: {n}" for (route, status), n in sorted(self.statuses.items()))
        return (
            f"{self.sent} sent, {self.reached} past the envelope; {by_status}; "
            f"refused: {dict(self.refused_fields)}; rejected: {dict(self.rejected_fields)}"
        )


@dataclass
class Connection:
    """A client holding one kept-alive connection, and what it knows of that connection:
    its local port (a new port means a new connection) and the request before."""

    http: httpx.Client
    port: int | None = None
    at: float = 0.0
    previous: str = ""


@dataclass
class Live:
    """A running server with its keys, a few real visitor tokens, and what it was seeded with."""

    base: str
    process: Popen[bytes]
    log: ServerLog
    data_dir: Path
    database_url: str
    keys: dict[str, str]
    tokens: list[str] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    webhook_ids: list[int] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        secret = (self.data_dir / "secret.key").read_text(encoding="utf-8").strip()
        self._signer = VisitorTokens(secret)

    @contextmanager
    def client(self) -> Iterator[Connection]:
        """One kept-alive connection, as a browser or an SDK holds one (a fresh one per test)."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # On the suite's one TLS context: a client of its own loads the CA bundle again (~50 ms), once
        # per fuzzed route in test_every_route_survives_hostile_parameters.
        with httpx.Client(base_url=self.base, timeout=30, limits=limits, verify=TLS) as http:
            yield Connection(http)

    # -- filling in what only the server knows ----------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self._ref(value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, ref: Ref) -> Any:
        if ref.kind == "token":
            return self._token(ref.name, ref.n)
        if ref.kind == "fresh":
            return str(uuid.uuid4())
        if ref.kind == "id":
            pool = {"person_id": self.person_ids, "webhook_id": self.webhook_ids, "delivery_id": self.delivery_ids}
            if ref.name == "token":
                return self._token("valid", ref.n)
            found = pool.get(ref.name) or [1]
            return str(found[ref.n % len(found)])
        key = self.keys.get(ref.name, f"tk_unknown_{ref.n:08d}")
        if ref.kind == "basic":
            return f"Basic {base64.b64encode(f'{key}:'.encode()).decode()}"
        return f"Bearer {key}" if ref.kind == "bearer" else key

    def _token(self, name: str, n: int) -> str:
        real = self.tokens[n % len(self.tokens)] if self.tokens else ""
        made = {
            "valid": real,
            "forged": f"visitor-{n}.forged-signature",
            # Well signed, but for another site: must not open a visitor of this one.
            "foreign": self._signer.sign("another-site", f"visitor-{n}"),
            # Well signed for this site, for a visitor that was never stored.
            "ghost": self._signer.sign(SITE, f"ghost-{n}"),
            "tampered": real[:-1] + ("A" if real[-1:] != "A" else "B"),
            "empty": "",
            "huge": "x" * 250,
        }
        return made[name]

    def fill(self, shot: Shot) -> Shot:
        """``shot`` with every ``Ref`` replaced by what it stands for on this server."""
        return replace(
            shot,
            body=shot.body if isinstance(shot.body, bytes) else self.resolve(shot.body),
            headers=tuple((k, self.resolve(v)) for k, v in shot.headers),
            path_params=tuple((k, self.resolve(v)) for k, v in shot.path_params),
            query=tuple((k, self.resolve(v)) for k, v in shot.query),
        )

    @staticmethod
    def url(shot: Shot) -> str:
        path = shot.path
        for name, value in shot.path_params:
            path = path.replace(f"{{{name}}}", quote(str(value), safe=""))
        if shot.query:
            path += "?" + "&".join(f"{quote(k)}={quote(str(v), safe='')}" for k, v in shot.query)
        return path

    @staticmethod
    def render(shot: Shot) -> tuple[list[tuple[bytes, bytes]], bytes]:
        if isinstance(shot.body, bytes):
            content = shot.body
        elif shot.body is None:
            content = b""
        else:
            content = to_json(shot.body, shot.ascii).encode()
        headers: list[tuple[bytes, bytes]] = []
        for name, value in shot.headers:
            if name == "cookie":
                value = f"tk_vid={value}"
            # Header values are bytes on the wire: anything else is sent as its JSON text,
            # and control characters (which the client library refuses) are dropped.
            text = value if isinstance(value, str) else to_json(value)
            headers.append((name.encode(), _CONTROL.sub("", text).strip().encode("utf-8", "replace")))
        if shot.gzip is not None:
            headers.append((b"content-encoding", b"gzip"))
            packed = gzip.compress(content)
            content = {"valid": packed, "truncated": packed[: max(10, len(packed) // 2)]}.get(shot.gzip, content)
        return headers, content

    # -- sending and judging -----------------------------------------------------------------------

    def send(self, connection: Connection, shot: Shot, tally: Tally) -> httpx.Response | None:
        shot = self.fill(shot)
        headers, content = self.render(shot)
        url = self.url(shot)
        route = f"{shot.method} {url}"
        described = _describe(shot, headers, content)
        mark = self.log.mark()
        started = time.monotonic()
        tally.sent += 1
        try:
            response = connection.http.request(shot.method, url, headers=headers, content=content)
        except httpx.TransportError as exc:
            tally.failures.append(Failure("transport", route, None, described, exception=repr(exc)))
            connection.port = None
            return None
        finally:
            connection.http.cookies.clear()  # each request says who it is itself (vid, or a cookie header)
        _check_connection(connection, response, started, route, described, tally)
        tally.statuses[shot.label or route, response.status_code] += 1
        if response.headers.get("x-content-type-options") != "nosniff":
            # Every answer, errors included: a browser must never sniff a JSON error into HTML.
            tally.failures.append(Failure("no nosniff", route, response.status_code, described))
        if response.status_code >= 500:
            where, exception = trace_summary(self.log.since(mark, wait=2.0))
            tally.failures.append(Failure("5xx", route, response.status_code, described, where, exception, shot))
        elif response.status_code >= 400 and shot.method != "OPTIONS":  # browsers read no preflight body
            if shot.path.startswith(PEOPLES_PAGES) and (_a_page(response) or _a_sentence(response)):
                tally.refused_fields["console page"] += 1  # people get a page that says what went wrong
            elif _explained(response):
                tally.refused_fields[str(response.json()["field"])] += 1
            else:
                tally.failures.append(
                    Failure("unexplained", route, response.status_code, described, response.text[:200])
                )
        elif response.status_code == 200 and shot.path.startswith(("/collect", "/v1/")):
            self._reached(response, tally)
        return response

    def explain(self, tally: Tally) -> None:
        """Find, for one 5xx of each distinct cause, the smallest body that still causes it."""
        for group in tally.distinct().values():
            failure = group[0]
            if failure.kind == "5xx" and failure.shot is not None and isinstance(failure.shot.body, (dict, list)):
                failure.minimal = to_json(self._minimise(failure, failure.shot))[:1000]

    def _minimise(self, failure: Failure, shot: Shot, budget: int = 300) -> Any:
        """Greedily drop keys and items while the same 5xx (same place) keeps happening."""
        body = shot.body
        with self.client() as connection:
            progress = True
            while progress and budget > 0:
                progress = False
                for candidate in _smaller(body):
                    budget -= 1
                    probe = Tally()
                    self.send(connection, replace(shot, body=candidate), probe)
                    if any(f.kind == "5xx" and f.where == failure.where for f in probe.failures):
                        body, progress = candidate, True
                        break
                    if budget <= 0:
                        break
        return body

    def _reached(self, response: httpx.Response, tally: Tally) -> None:
        answer = response.json()
        if answer.get("ignored") == "consent":
            return  # a withdrawal: the events were never read
        tally.reached += 1
        for rejection in answer.get("rejected", []):
            if not (rejection.get("field") and rejection.get("message")):
                tally.failures.append(Failure("unexplained", "rejection", 200, json.dumps(rejection)))
            tally.rejected_fields[re.sub(r"\[\d+\]", "[]", str(rejection.get("field")))] += 1
        token = answer.get("vid")
        if isinstance(token, str) and token and len(self.tokens) < 500:
            self.tokens.append(token)


def _check_connection(
    connection: Connection, response: httpx.Response, started: float, route: str, described: str, tally: Tally
) -> None:
    """The server must keep the connection open: a new one right after an answer means it closed it."""
    try:
        port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    except OSError:  # the socket is gone already: the server closed it with this answer
        tally.failures.append(Failure("dropped", route, response.status_code, f"closed with: {described}"))
        connection.port = None
        return
    if connection.port is not None and port != connection.port and started - connection.at < KEEP_ALIVE:
        tally.failures.append(Failure("dropped", route, None, connection.previous))
    connection.port, connection.at, connection.previous = port, time.monotonic(), f"after {route}: {described}"


def _smaller(value: Any) -> Iterator[Any]:
    """``value`` with one key or item less, anywhere in it: outer ones first, as they shrink most."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
        for key, item in value.items():
            for smaller in _smaller(item):
                yield {**value, key: smaller}
    elif isinstance(value, list):
        if len(value) > 2:
            half = len(value) // 2
            yield from ([], value[:half], value[half:])
        for index in range(len(value)):
            yield value[:index] + value[index + 1 :]
        for index, item in enumerate(value):
            for smaller in _smaller(item):
                yield [*value[:index], smaller, *value[index + 1 :]]


def _a_page(response: httpx.Response) -> bool:
    """The console answers people with an HTML page (a form with its error, a 403 page)."""
    return response.headers.get("content-type", "").startswith("text/html") and "<title>" in response.text


def _a_sentence(response: httpx.Response) -> bool:
    """An e-mail link nobody can follow any more says so in plain words."""
    return response.headers.get("content-type", "").startswith("text/plain") and bool(response.text.strip())


def _explained(response: httpx.Response) -> bool:
    """A 4xx says what is wrong: JSON with an error code, a message and the field at fault."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(body.get(k) for k in ("error", "message", "field"))


def _describe(shot: Shot, headers: list[tuple[bytes, bytes]], content: bytes) -> str:
    shown = [f"{k.decode()}: {v.decode(errors='replace')[:60]}" for k, v in headers if k in _SHOWN_HEADERS]
    # A gzipped body is shown as it was before compression.
    body = shot.body if isinstance(shot.body, bytes) else content if shot.gzip is None else to_json(shot.body).encode()
    text = body.decode(errors="replace")
    return (f"[{'; '.join(shown)}] " if shown else "") + (text if len(text) < 600 else text[:600] + f"…({len(text)} B)")


def visit(connection: Connection, *events: dict[str, Any], token: str | None = None) -> str:
    """A browser's normal request through /collect; returns its visitor token."""
    body: dict[str, Any] = {"site": SITE, "events": list(events)}
    if token:
        body["vid"] = token
    response = connection.http.post("/collect", json=body, headers={"user-agent": CHROME})
    connection.http.cookies.clear()
    assert response.status_code == 200, response.text
    token = response.json()["vid"]
    assert isinstance(token, str)
    return token


def page(path: str) -> dict[str, Any]:
    return {"type": "page", "url": BASE + path}


def download(path: str) -> dict[str, Any]:
    return {"type": "download", "url": BASE + path, "props": {"page": BASE + "/demo/"}}


def api(live: Live, connection: Connection, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    """A call to the sales or admin API with the admin key, as an operator's script makes it."""
    authorization = {"authorization": f"Bearer {live.keys['admin']}"}
    response = connection.http.request(method, path, headers=authorization, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def populate(live: Live) -> None:
    """People worth fuzzing around: leads in every stage, routed, with webhook deliveries
    queued; a Segment user.  Each fuzz test can then be run alone and still meet them."""
    with live.client() as connection:
        hook = api(live, connection, "POST", "/api/webhooks", 201, json={"url": "http://127.0.0.1:9/hook"})
        live.webhook_ids.append(int(hook["id"]))
        qualite = [page(f"/demo/blog/qualite/{n}") for n in range(3)]
        marc = visit(connection, download("/demo/files/livre-blanc-a.pdf"), download("/demo/files/livre-blanc-b.pdf"))
        marc = visit(connection, *qualite, token=marc)
        visit(
            connection,
            {"type": "form", "name": "demo", "props": {"email": "marc@example.com", "job": "Acheteur"}},
            token=marc,
        )
        elodie = visit(connection, download("/demo/files/livre-blanc-b.pdf"))
        visit(connection, {"type": "form", "name": "newsletter", "props": {"email": "elodie@exemple.fr"}}, token=elodie)
        capucine = visit(
            connection, download("/demo/files/livre-blanc-c.pdf"), *qualite, page("/demo/produits/medical/m1")
        )
        visit(connection, {"type": "identify", "props": {"email": "capucine@example.org"}}, token=capucine)
        anonymous = visit(connection, page("/demo/"), page("/demo/tarifs"))
        live.tokens += [marc, elodie, capucine, anonymous]
        segment = {"userId": "u-1", "anonymousId": "d1", "traits": {"email": "u1@example.com", "company": "ACME"}}
        response = connection.http.post("/v1/identify", json=segment, auth=(live.keys["ingest"], ""))
        assert response.status_code == 200 and response.json()["accepted"] == 1, response.text
        for token in live.tokens:
            live.person_ids.append(int(api(live, connection, "GET", f"/api/visitors/{token}")["person_id"]))
        deliveries = api(live, connection, "GET", "/api/webhooks/deliveries")["deliveries"]
        live.delivery_ids += [int(d["id"]) for d in deliveries]
    assert live.delivery_ids, "the seeded leads queued webhook deliveries"
