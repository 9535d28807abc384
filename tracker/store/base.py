"""The ``Store``: the only owner of connections, transactions and durability.

Work is handed over as *units*: async functions that receive a ``Queries`` bound to
the current transaction.  ``write`` resolves only once the unit's changes are durable,
so a handler that awaits it can acknowledge safely.  Backends decide how units share
transactions (both group-commit the units queued meanwhile in one; PostgreSQL's units also lock
the rows they change, for cross-instance safety).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tracker.store.queries import Queries

T = TypeVar("T")
Unit = Callable[[Queries], Awaitable[T]]


# A unit waiting for its group commit, and the future its caller awaits.
Queued = tuple[Unit[Any], asyncio.Future[Any]]


async def next_batch(queue: asyncio.Queue[Queued | None], limit: int) -> tuple[list[Queued], bool]:
    """The units queued for a group commit: the next one, waited for, then all queued meanwhile up to
    ``limit``; and whether a ``None`` (the store closing) came after them."""
    item = await queue.get()
    batch: list[Queued] = []
    while item is not None:
        batch.append(item)
        if len(batch) >= limit or queue.empty():
            break
        item = queue.get_nowait()
    return batch, item is None


def settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Hand a group-committed unit's result, or its error, to whoever awaits it (unless they gave up)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Store(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish queued writes, then release every connection."""

    @abc.abstractmethod
    async def write(self, unit: Unit[T], *, bulk: bool = False) -> T:
        """Run ``unit`` in a write transaction; return once it is committed durably.

        If the unit raises, none of its changes are kept and the exception propagates;
        other units sharing the transaction are unaffected.  A unit may run more than once
        before its changes commit (a retried conflict, a neighbour that failed), so it acts on
        the store only and keeps its results for after ``write`` returns.  ``bulk`` says the
        unit is a large one (a Segment batch's): a store may give such units writers of their own.
        """

    @abc.abstractmethod
    async def read(self, unit: Unit[T]) -> T:
        """Run ``unit`` on a read connection (sees only committed data)."""

    @abc.abstractmethod
    async def backup(self, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
        """Write a consistent copy of the database to ``target`` while the store keeps serving."""
