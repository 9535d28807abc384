"""How long Segment's message ids are remembered: long enough for any retry, not forever.

A retried delivery carries the ids of the first, so within the window a message is never
scored twice.  Past it, the id is forgotten: the table would otherwise grow with the traffic
for ever, a UUID costing 125 bytes with its indexes on SQLite (197 on PostgreSQL), half of
what the event itself takes (243 B).  Segment keeps "at least 24 hours" of ids; client
libraries retry for minutes, and a phone's queue waits for a network for days at most.
Thirty days covers both with a wide margin.
"""

from __future__ import annotations

from tracker.domain.privacy import DAY
from tracker.services.batches import delete_in_batches
from tracker.store import Store

MESSAGE_ID_DAYS = 30
# Ids per transaction: a first run on a large table must not keep ingest from the write lock.
FORGET_BATCH = 10_000


async def forget_old_message_ids(store: Store, now: float, batch: int = FORGET_BATCH) -> int:
    """Forget the message ids received more than ``MESSAGE_ID_DAYS`` days before ``now``; how many."""
    before = now - MESSAGE_ID_DAYS * DAY
    return await delete_in_batches(store, lambda q: q.forget_messages_before(before, batch), batch)
