"""Deleting many rows without holding the write lock long: one unit deletes at most a batch, and
runs again until a batch comes back short (the retention purge, forgotten message ids)."""

from __future__ import annotations

from collections.abc import Callable

from tracker.store import Store, Unit


async def delete_in_batches(
    store: Store, unit: Unit[int], batch: int, progress: Callable[[int], None] | None = None
) -> int:
    """Run ``unit`` (which deletes at most ``batch`` rows and says how many) until it deletes fewer; the total."""
    total = 0
    while True:
        deleted = await store.write(unit)
        total += deleted
        if progress is not None:
            progress(deleted)
        # A short batch means none is left (for the purge on PostgreSQL: or only persons a request holds now).
        if deleted < batch:
            return total
