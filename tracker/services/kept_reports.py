"""A large site's calibration reports, kept a few minutes and each computed once for everyone asking.

Such a report takes seconds of a child process (``calibration_apart``).  The page's CSV links, a
reload, a second marketer opening the same report: each asked for it anew, and two at once started
two children.  Now a report is kept ``KEEP_SECONDS`` after it was first asked for, and whoever asks
the same question meanwhile (the same site, programme and options, the period's end included) waits
for that computation or gets its result.  The default end of a period is the end of the current
minute (``web.calibration``), so the default report asked twice within a minute is one question.

A failed computation is not kept: the next reader asks again.  Different questions are computed
``AT_ONCE`` at a time, in the order asked: however many reports are asked for at once, a child each
would leave ingestion no share of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from tracker.domain.calibration.report import CalibrationReport, Options

# Long enough to read a report and download its tables; short enough that no one reads one much older.
KEEP_SECONDS = 300.0

# Reports computed at once: a child process takes a core; the server needs the other.
AT_ONCE = 1
# (site id, programme source, options): a changed programme is another question.
Question = tuple[int, str, Options]
Computation = Callable[[], Coroutine[Any, Any, CalibrationReport]]


class KeptReports:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._kept: dict[Question, tuple[float, asyncio.Task[CalibrationReport]]] = {}
        self._turns = asyncio.Semaphore(AT_ONCE)

    async def report(self, question: Question, compute: Computation) -> CalibrationReport:
        """The report answering ``question``: kept, being computed, or computed now by ``compute``."""
        now = self._clock()
        for old in [q for q, (asked, _) in self._kept.items() if now - asked >= KEEP_SECONDS]:
            del self._kept[old]
        kept = self._kept.get(question)
        if kept is None:
            task = asyncio.create_task(self._in_turn(compute), name="calibration-report")
            self._kept[question] = (now, task)
            task.add_done_callback(lambda done: self._forget_if_failed(question, done))
        else:
            task = kept[1]
        # Shielded: a reader who leaves does not stop the computation others wait for.
        return await asyncio.shield(task)

    async def _in_turn(self, compute: Computation) -> CalibrationReport:
        async with self._turns:
            return await compute()

    def _forget_if_failed(self, question: Question, task: asyncio.Task[CalibrationReport]) -> None:
        if task.cancelled() or task.exception() is not None:
            kept = self._kept.get(question)
            if kept is not None and kept[1] is task:
                del self._kept[question]

    async def stop(self) -> None:
        """Stop every computation still running (a child process is stopped with its task)."""
        running = [task for _, task in self._kept.values() if not task.done()]
        self._kept.clear()
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
