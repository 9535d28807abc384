"""Experiment results read the decision log by its two partial indexes, never by a scan of every decision.

The statements are caught on the write connection, where a trace callback can be set."""

from __future__ import annotations

from tracker.store import Store
from tracker.store.sqlite import SqliteStore


async def test_exposures_and_goals_are_read_by_the_partial_indexes(sqlite_store: Store) -> None:
    assert isinstance(sqlite_store, SqliteStore) and sqlite_store._db is not None
    statements: list[str] = []
    sqlite_store._db.set_trace_callback(statements.append)
    await sqlite_store.write(lambda q: q.experiment_exposures(1, "popup"))
    await sqlite_store.write(lambda q: q.experiment_goals(1, "popup", ("conversion", "won")))
    sqlite_store._db.set_trace_callback(None)
    plans = []
    for sql in (s for s in statements if "FROM decisions" in s):
        plan = await sqlite_store.write(lambda q, sql=sql: q.conn.fetchall("EXPLAIN QUERY PLAN " + sql))
        plans += [row["detail"] for row in plan if " d " in row["detail"] or "decisions" in row["detail"]]
    assert any("decisions_campaign" in step for step in plans), plans
    assert any("decisions_conversion" in step for step in plans), plans
    assert not [step for step in plans if step.startswith("SCAN")], plans
