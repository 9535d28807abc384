"""Re-scoring a site's history with its active programme version: a job, resumable, beside ingestion.

A job walks the site's people in id order, ``BATCH`` people per write unit: they are locked
(as every change to a person locks it), their events replayed through the version's programme
(``domain.rescoring``, as the what-if does), their ledger rewritten with rows marked "rescored
by version N" and their score copies saved.  The job row keeps the last person done and the
running summary in that same unit, so an interrupted job resumes exactly where it stopped and
ends with the summary one run would have given.  An event recorded for a person while the job
runs is either in the replay (it committed first) or scored live on the rescored state (it
waited for the batch): both end as if one came after the other.

Stages move forward only: a lead the new grid qualifies enters its stage with the reason
"rescore vN" (announced and routed like any qualification); a lead it would no longer qualify
keeps its stage and its routing (counted in the summary as "no longer qualifies").

One open job per site (a unique index): a second start is refused while one runs, naming it.
A job whose process stopped (interrupted, or silent for ``STALLED`` seconds) is resumed by the
next start for the same version, or closed as superseded when a newer version is active.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tracker.domain.clock import iso
from tracker.domain.people import PersonRecord
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.rescoring import Rescored, Standing, Tally, rescore_history, score_edges
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site
from tracker.errors import BadRequest, HTTPError, NotFound
from tracker.services.handoff import route_entered
from tracker.services.outbox import announce
from tracker.services.rebuild import write_scores
from tracker.services.sites import compile_site
from tracker.store import Queries, Store
from tracker.store.rescore_queries import JobRecord

# People per write unit: small enough that a request for one of them never waits long.
BATCH = 50
# A running job that has not moved for this long lost its process: the next start takes it over.
STALLED = 60.0
RUNNING, INTERRUPTED, DONE, SUPERSEDED = "running", "interrupted", "done", "superseded"


class RescoreRunning(HTTPError):
    status = 409
    code = "rescore_running"


def reason(version: int) -> str:
    """Why a rescore moved a lead, as its stage history and webhooks say it."""
    return f"rescore v{version}"


def is_running(job: JobRecord, now: float) -> bool:
    """Whether a process is carrying the job on (a running job silent for ``STALLED`` seconds lost its own)."""
    return job.status == RUNNING and now - job.heartbeat < STALLED


def running_words(job: JobRecord) -> str:
    return (
        f"rescore job {job.id} (version {job.version}, started by {job.started_by} at {iso(job.started_at)})"
        f" is running: {job.done} of {job.total} people done"
    )


async def start(store: Store, site_key: str, *, author: str, now: float) -> JobRecord:
    """A running job for the site's active version: a new one, or the interrupted one it resumes (audited)."""

    runner = secrets.token_hex(8)

    async def unit(q: Queries) -> JobRecord:
        job = await _open_job(q, site_key, author, runner, now)
        # The audit log names console users as everywhere else (user:<id>); scripts by what they said.
        user = await q.user_by_email(author)
        actor = f"user:{user.id}" if user is not None else author
        detail = {"job": job.id, "version": job.version, "resumed_after": job.done}
        await q.insert_audit(job.site_id, now, actor, "rescore_start", None, detail)
        return job

    return await store.write(unit)


async def _open_job(q: Queries, site_key: str, author: str, runner: str, now: float) -> JobRecord:
    """The site's open job for its active version (taken over or resumed), else a new one."""
    site = await q.site_by_key(site_key)
    if site is None:
        raise NotFound(f"no site {site_key!r}", field="site")
    latest = await q.latest_programme_version(site.id)
    if latest is None:
        raise BadRequest(f"site {site_key!r} has no programme to re-score with", field="site")
    job = await q.open_rescore_job(site.id, for_update=True)
    if job is not None:
        if is_running(job, now):
            raise RescoreRunning(running_words(job), field="site", job=job.id)
        if job.version == latest.number:
            await q.claim_rescore_job(job.id, runner, now)
            return dataclasses.replace(job, status=RUNNING, runner=runner, heartbeat=now)
        await _save(q, job, SUPERSEDED, job.last_person, job.done, job.summary, now)
    source = await q.programme_source(site.id, latest.number)
    scores = load_programme(source or "").scoring.scores
    summary = Tally.for_scores(score_edges(scores, scores)).to_json()
    total = await q.count_people(site.id)
    job_id = await q.insert_rescore_job(site.id, latest.number, runner, total, author, summary, now)
    found = await q.rescore_job(job_id)
    assert found is not None
    return found


@dataclass(frozen=True, slots=True)
class _At:
    """How far a run got: the summary so far, the last person done, how many people are done."""

    tally: Tally
    last_person: int
    done: int


async def run(
    store: Store, job_id: int, *, clock: Callable[[], float], progress: Callable[[int], None] | None = None
) -> JobRecord:
    """Carry job ``job_id`` on to its end; ``progress`` hears how many people each batch did.

    Interrupted (cancelled, Ctrl-C, an error), the job is left "interrupted" at its last batch.
    """
    job, site = await store.read(lambda q: _job_and_site(q, job_id))
    at = _At(Tally.from_json(job.summary), job.last_person, job.done)
    try:
        while True:
            step = await store.write(functools.partial(_batch, job=job, site=site, at=at, now=clock()))
            if step is None:
                break
            previous, at = at, step
            if progress is not None:
                progress(at.done - previous.done)
            # Requests waiting for the writer go before the next batch.
            await asyncio.sleep(0)
    except BaseException:
        await store.write(functools.partial(_stop, job=job, now=clock()))
        raise
    final = await store.read(lambda q: q.rescore_job(job_id))
    assert final is not None
    return final


async def _job_and_site(q: Queries, job_id: int) -> tuple[JobRecord, Site]:
    job = await q.rescore_job(job_id)
    if job is None:
        raise NotFound(f"no rescore job {job_id}", field="job")
    record = next(s for s in await q.sites() if s.id == job.site_id)
    source = await q.programme_source(job.site_id, job.version)
    programme: Programme = load_programme(source or "")
    return job, dataclasses.replace(compile_site(record), programme=programme)


async def _batch(q: Queries, *, job: JobRecord, site: Site, at: _At, now: float) -> _At | None:
    """Re-score the next people after ``at``; None once the job is over (or no longer this run's)."""
    mine = await q.rescore_job(job.id, for_update=True)
    if mine is None or mine.status != RUNNING or mine.runner != job.runner:
        return None  # taken over by another start after this run stalled: that one carries on
    people = await q.people_after(site.id, at.last_person, BATCH, for_update=True)
    if not people:
        await _save(q, job, DONE, at.last_person, at.done, at.tally.to_json(), now)
        return None
    scoring = site.programme.scoring
    # Events no rule can score change nothing in a replay (``what_if.replay_site``).
    events = await q.events_by_person([person.id for person in people], sorted(scoring.unscored_types()))
    # A copy: the unit may run again before it commits, and must start from the same tally.
    batch = Tally.from_json(at.tally.to_json())
    for person in people:
        before = current_scores(scoring, person.scoring, now)
        standing = Standing.of(person)
        rescored = rescore_history(scoring, standing, events.get(person.id, []))
        batch.add(standing, rescored, before, current_scores(scoring, rescored.result.state, now))
        await _rewrite(q, site, job.version, person, rescored, now)
    step = _At(batch, people[-1].id, at.done + len(people))
    await _save(q, job, RUNNING, step.last_person, step.done, batch.to_json(), now)
    return step


async def _rewrite(q: Queries, site: Site, version: int, person: PersonRecord, rescored: Rescored, now: float) -> None:
    await write_scores(q, person, rescored.result, rescored_by=version)
    entered = rescored.entered
    for stage in entered:
        await q.insert_stage(person.id, stage, now, None, reason(version))
    if entered:
        person.stage = rescored.after
        signals = [
            ("person.stage_changed", {"stage": stage, "event_id": None, "reason": reason(version)})
            for stage in entered
            if stage in ("mql", "sql")
        ]
        if signals:
            await announce(q, site.id, person.id, signals, occurred_at=now, now=now)
        await route_entered(q, site, person, entered, now)
    await q.save_person(person)


async def _stop(q: Queries, *, job: JobRecord, now: float) -> None:
    """Leave the job interrupted at its last committed batch, unless another run has it now.

    That batch may be one this run never heard of: cancelled while waiting for its commit.
    """
    mine = await q.rescore_job(job.id, for_update=True)
    if mine is not None and mine.status == RUNNING and mine.runner == job.runner:
        await _save(q, job, INTERRUPTED, mine.last_person, mine.done, mine.summary, now)


async def _save(
    q: Queries, job: JobRecord, status: str, last: int, done: int, summary: Mapping[str, object], now: float
) -> None:
    await q.save_rescore_job(job.id, status=status, last_person=last, done=done, summary=summary, now=now)


async def latest(store: Store, site_key: str) -> tuple[int, JobRecord | None]:
    """The site's id and its latest job (running or not)."""

    async def read(q: Queries) -> tuple[int, JobRecord | None]:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        return site.id, await q.latest_rescore_job(site.id)

    return await store.read(read)
