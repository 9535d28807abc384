"""SQL for customer accounts: the accounts, their members and their stage transitions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from tracker.domain.accounts import AccountRecord
from tracker.domain.facts import Event
from tracker.store.conn import Conn, Row
from tracker.store.lead_queries import like_pattern
from tracker.store.rows import EVENT_COLUMNS, dicts, dumps, event_of_row, loads, timeline_event_of_row

_ACCOUNT = "id, site_id, key, name, traits, owner, scores, stages, score, created_at, updated_at"


def _account(row: Row) -> AccountRecord:
    return AccountRecord(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        key=row["key"],
        name=row["name"],
        traits=loads(row["traits"]),
        owner=row["owner"],
        scores={name: float(value) for name, value in loads(row["scores"]).items()},
        stages=list(loads(row["stages"]) or []),
        score=float(row["score"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )


class AccountQueries:
    conn: Conn

    async def account_for_key(
        self, site_id: int, key: str, name: str, now: float, *, for_update: bool
    ) -> AccountRecord:
        """The site's account named ``key``, created if new; ``for_update`` locks it for this unit.

        Two units creating one account at once both insert; the unique index keeps one row and
        the other insert does nothing, so both read that same row.  Joining an account does not
        lock it: people of one big company identify side by side.
        """
        await self.conn.execute(
            "INSERT INTO accounts (site_id, key, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (site_id, key) DO NOTHING",
            site_id,
            key,
            name,
            now,
            now,
        )
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            f"SELECT {_ACCOUNT} FROM accounts WHERE site_id = ? AND key = ?{lock}", site_id, key
        )
        assert row is not None  # inserted above, or by the unit that won the race
        return _account(row)

    async def account(self, account_id: int, *, for_update: bool = False) -> AccountRecord | None:
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(f"SELECT {_ACCOUNT} FROM accounts WHERE id = ?{lock}", account_id)
        return _account(row) if row else None

    async def save_account(self, account: AccountRecord) -> None:
        await self.conn.execute(
            "UPDATE accounts SET name = ?, traits = ?, owner = ?, scores = ?, stages = ?, score = ?, updated_at = ?"
            " WHERE id = ?",
            account.name,
            dumps(account.traits),
            account.owner,
            dumps(account.scores),
            dumps(account.stages),
            account.score,
            account.updated_at,
            account.id,
        )

    async def account_ids(self, site_id: int, after: int, limit: int) -> list[int]:
        rows = await self.conn.fetchall(
            "SELECT id FROM accounts WHERE site_id = ? AND id > ? ORDER BY id LIMIT ?", site_id, after, limit
        )
        return [int(row["id"]) for row in rows]

    # -- members -------------------------------------------------------------------------------

    async def membership(self, person_id: int) -> tuple[int, str] | None:
        """The person's account id and what placed them in it."""
        row = await self.conn.fetchone("SELECT account_id, source FROM account_members WHERE person_id = ?", person_id)
        return (int(row["account_id"]), row["source"]) if row else None

    async def set_membership(self, person_id: int, account_id: int, source: str, now: float) -> None:
        await self.conn.execute(
            "INSERT INTO account_members (person_id, account_id, source, joined_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET account_id = excluded.account_id, source = excluded.source,"
            " joined_at = excluded.joined_at",
            person_id,
            account_id,
            source,
            now,
        )

    async def member_scores(self, account_id: int, score: str) -> dict[int, tuple[float, float | None]]:
        """Each member's stored value of ``score`` and when it last changed (None: never scored), by person id.

        Read from ``person_scores``, not from each person's whole scoring state: an account of
        a thousand people is added up from a thousand small rows.
        """
        rows = await self.conn.fetchall(
            "SELECT m.person_id, s.value, s.changed_at FROM account_members m"
            " LEFT JOIN person_scores s ON s.person_id = m.person_id AND s.score = ? WHERE m.account_id = ?",
            score,
            account_id,
        )
        return {
            int(row["person_id"]): (float(row["value"] or 0.0), None if row["value"] is None else row["changed_at"])
            for row in rows
        }

    async def member_ids(self, account_id: int) -> list[int]:
        rows = await self.conn.fetchall(
            "SELECT person_id FROM account_members WHERE account_id = ? ORDER BY person_id", account_id
        )
        return [int(row["person_id"]) for row in rows]

    async def members_of(self, account_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT p.id, p.email, p.stage, p.scoring, p.last_seen_at, m.source, m.joined_at"
            " FROM account_members m JOIN persons p ON p.id = m.person_id WHERE m.account_id = ?"
            " ORDER BY p.id LIMIT ?",
            account_id,
            limit,
        )
        return [{**row, "scoring": loads(row["scoring"])} for row in dicts(rows)]

    async def member_counts(self, account_ids: Sequence[int]) -> dict[int, int]:
        if not account_ids:
            return {}
        marks = ", ".join("?" for _ in account_ids)
        rows = await self.conn.fetchall(
            f"SELECT account_id, COUNT(*) AS n FROM account_members WHERE account_id IN ({marks}) GROUP BY account_id",
            *account_ids,
        )
        return {int(row["account_id"]): int(row["n"]) for row in rows}

    async def account_of_person(self, person_id: int) -> AccountRecord | None:
        columns = ", ".join(f"a.{c.strip()}" for c in _ACCOUNT.split(","))
        row = await self.conn.fetchone(
            f"SELECT {columns} FROM account_members m JOIN accounts a ON a.id = m.account_id WHERE m.person_id = ?",
            person_id,
        )
        return _account(row) if row else None

    async def account_owner_of(self, person_id: int) -> str | None:
        """The owner of the person's account, if it has one: routing hands them the person."""
        owner = await self.conn.fetchval(
            "SELECT a.owner FROM account_members m JOIN accounts a ON a.id = m.account_id WHERE m.person_id = ?",
            person_id,
        )
        return None if owner is None else str(owner)

    # -- events and stages ---------------------------------------------------------------------

    async def account_events(self, account_id: int, since: float, types: Collection[str] | None) -> list[Event]:
        """The members' events since ``since`` (of ``types``, None: any), oldest first: what account rules
        and stages count."""
        columns = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
        of_types = "" if types is None else f" AND e.type IN ({', '.join('?' for _ in types)})"
        rows = await self.conn.fetchall(
            f"SELECT {columns} FROM event_rows e JOIN account_members m ON m.person_id = e.person_id"
            f" WHERE m.account_id = ? AND e.ts >= ?{of_types} ORDER BY e.ts, e.id",
            account_id,
            since,
            *(sorted(types) if types is not None else ()),
        )
        return [event_of_row(row) for row in rows]

    async def account_timeline(self, account_id: int, limit: int) -> list[dict[str, Any]]:
        """The merged timeline of every member, newest first, each event with its person."""
        columns = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
        rows = await self.conn.fetchall(
            f"SELECT {columns}, e.visitor_id, e.person_id FROM event_rows e"
            " JOIN account_members m ON m.person_id = e.person_id WHERE m.account_id = ?"
            " ORDER BY e.ts DESC, e.id DESC LIMIT ?",
            account_id,
            limit,
        )
        return [{**timeline_event_of_row(row), "person_id": int(row["person_id"])} for row in rows]

    async def insert_account_stages(
        self, account_id: int, stages: Sequence[str], ts: float, event_id: int | None
    ) -> None:
        await self.conn.executemany(
            "INSERT INTO account_stages (account_id, stage, ts, event_id) VALUES (?, ?, ?, ?)",
            [(account_id, stage, ts, event_id) for stage in stages],
        )

    async def account_stage_history(self, account_id: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT stage, ts, event_id FROM account_stages WHERE account_id = ? ORDER BY id", account_id
        )
        return dicts(rows)

    # -- listing -------------------------------------------------------------------------------

    async def list_accounts(
        self,
        site_id: int,
        *,
        stage: str | None,
        q: str | None,
        min_score: float | None,
        after: tuple[float, int] | None,
        limit: int,
    ) -> list[AccountRecord]:
        """Accounts by first account score then id, both descending; ``after`` is the last row of the page before."""
        where = ["site_id = ?"]
        args: list[Any] = [site_id]
        if stage is not None:
            # stages is a JSON list of names: the name as JSON (quoted) is found inside it.
            where.append("stages LIKE ? ESCAPE '!'")
            args.append(like_pattern(dumps(stage)))
        if q:
            where.append("(LOWER(name) LIKE ? ESCAPE '!' OR LOWER(key) LIKE ? ESCAPE '!')")
            args += [like_pattern(q.lower())] * 2
        if min_score is not None:
            where.append("score >= ?")
            args.append(min_score)
        if after is not None:
            where.append("(score < ? OR (score = ? AND id < ?))")
            args += [after[0], after[0], after[1]]
        rows = await self.conn.fetchall(
            f"SELECT {_ACCOUNT} FROM accounts WHERE {' AND '.join(where)} ORDER BY score DESC, id DESC LIMIT ?",
            *args,
            limit,
        )
        return [_account(row) for row in rows]
