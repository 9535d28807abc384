"""Deleting in batches: a unit runs until one deletes fewer than a batch, each count reported."""

from __future__ import annotations

from tracker.services.batches import delete_in_batches
from tracker.store import Queries, Store


async def test_a_unit_runs_again_until_a_batch_comes_back_short(sqlite_store: Store) -> None:
    counts = iter([3, 3, 1, 3])

    async def unit(q: Queries) -> int:
        return next(counts)

    reported: list[int] = []
    assert await delete_in_batches(sqlite_store, unit, 3, reported.append) == 7
    assert reported == [3, 3, 1]  # the fourth count is never asked for
