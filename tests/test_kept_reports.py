"""Reports kept a few minutes (tracker.services.kept_reports): one computation for everyone asking the same
question, kept until it is ``KEEP_SECONDS`` old, not kept when it failed; different questions one at a time;
a reader who leaves stops nothing, and stopping the server stops what still runs and what waits its turn."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tracker.domain.calibration.report import CalibrationReport, Options
from tracker.services.kept_reports import KEEP_SECONDS, KeptReports, Question

QUESTION: Question = (1, "[scores.engagement]", Options(0.0, 60.0, "engagement", 5.0))


async def settled() -> None:
    """Let every task started so far run as far as it can."""
    for _ in range(5):
        await asyncio.sleep(0)


class Reports:
    """Computations that count themselves and end when told to (``release``)."""

    def __init__(self) -> None:
        self.started = 0
        self.released = asyncio.Event()
        self.cancelled = 0

    async def compute(self) -> CalibrationReport:
        self.started += 1
        try:
            await self.released.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return cast(CalibrationReport, f"report {self.started}")


async def test_everyone_asking_meanwhile_waits_for_one_computation() -> None:
    kept, reports = KeptReports(lambda: 0.0), Reports()
    readers = [asyncio.create_task(kept.report(QUESTION, reports.compute)) for _ in range(3)]
    await settled()
    reports.released.set()
    assert await asyncio.gather(*readers) == ["report 1"] * 3
    assert reports.started == 1


async def test_a_report_is_kept_until_it_is_keep_seconds_old() -> None:
    now = [1000.0]
    kept, reports = KeptReports(lambda: now[0]), Reports()
    reports.released.set()
    assert await kept.report(QUESTION, reports.compute) == "report 1"
    now[0] += KEEP_SECONDS - 1
    assert await kept.report(QUESTION, reports.compute) == "report 1"
    other: Question = (2, QUESTION[1], QUESTION[2])
    assert await kept.report(other, reports.compute) == "report 2"
    now[0] += 1
    assert await kept.report(QUESTION, reports.compute) == "report 3"


async def test_a_failed_computation_is_not_kept() -> None:
    kept = KeptReports(lambda: 0.0)
    answers: list[Any] = [RuntimeError("the child died"), "report"]

    async def compute() -> CalibrationReport:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return cast(CalibrationReport, answer)

    with pytest.raises(RuntimeError, match="the child died"):
        await kept.report(QUESTION, compute)
    assert await kept.report(QUESTION, compute) == "report"


async def test_a_reader_who_leaves_stops_nothing_and_stopping_stops_what_runs() -> None:
    kept, reports = KeptReports(lambda: 0.0), Reports()
    leaving = asyncio.create_task(kept.report(QUESTION, reports.compute))
    await settled()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    staying = asyncio.create_task(kept.report(QUESTION, reports.compute))
    await settled()
    assert (reports.started, reports.cancelled) == (1, 0)
    await kept.stop()
    assert reports.cancelled == 1
    with pytest.raises(asyncio.CancelledError):
        await staying


async def two_questions(kept: KeptReports) -> tuple[Reports, Reports, list[asyncio.Task[CalibrationReport]]]:
    """Two different questions asked one after the other, each computed by a ``Reports`` of its own."""
    first, second = Reports(), Reports()
    other: Question = (2, QUESTION[1], QUESTION[2])
    asked = [asyncio.create_task(kept.report(QUESTION, first.compute))]
    asked.append(asyncio.create_task(kept.report(other, second.compute)))
    await settled()
    return first, second, asked


async def test_different_questions_are_computed_one_at_a_time_in_the_order_asked() -> None:
    first, second, asked = await two_questions(KeptReports(lambda: 0.0))
    assert (first.started, second.started) == (1, 0)  # its turn comes after the first's
    second.released.set()
    first.released.set()
    assert await asyncio.gather(*asked) == ["report 1", "report 1"]
    assert second.started == 1


async def test_stopping_stops_a_computation_waiting_its_turn() -> None:
    kept = KeptReports(lambda: 0.0)
    first, second, asked = await two_questions(kept)
    await kept.stop()
    assert (first.cancelled, second.started) == (1, 0)
    for task in asked:
        with pytest.raises(asyncio.CancelledError):
            await task
