"""Devices and persons the SQLite writer saved lately, kept in memory so a returning visitor's
next request does not read and decode them again.

Only the SQLite writer keeps them: it is the one connection of this process that writes, so
it sees every change made here.  An entry is a copy of what the last ingest unit saved, and
it is dropped whenever that may no longer be the row:

- any other statement of this process that updates or deletes the row (temporary triggers on
  the writer connection call ``forget_person`` / ``forget_visitor``, see ``sqlite.py``);
- a rolled-back transaction (``clear``): the entries it remembered were never committed;
- a commit by another connection, e.g. a second worker process or the CLI (``clear``, when
  ``PRAGMA data_version`` moved since the writer last looked).

Hand-outs and keeps are copies, so a unit changing its records cannot change an entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tracker.domain.people import PersonRecord, VisitorRecord

# Entries per kind.  A person's state is ~1-3 kB in memory: about 20-60 MB at most.
CAPACITY = 20_000


class HotPeople:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._visitors: dict[str, VisitorRecord] = {}
        self._persons: dict[int, PersonRecord] = {}
        self._watching = True

    def recall(self, visitor_id: str, site_id: int) -> tuple[VisitorRecord, PersonRecord] | None:
        visitor = self._visitors.get(visitor_id)
        if visitor is None or visitor.site_id != site_id:
            return None
        person = self._persons.get(visitor.person_id)
        if person is None:
            return None
        return visitor.copy(), person.copy()

    def saving_person(self, person_id: int) -> PersonRecord | None:
        """The person's row as the database holds it (if remembered), forgotten: it is being saved.

        Deferred saves are written with triggers unwatched (``sqlite_writer``), so they are
        forgotten here; only to compare with, never to change.
        """
        return self._persons.pop(person_id, None)

    def saving_visitor(self, visitor_id: str) -> VisitorRecord | None:
        """The device's row as the database holds it (if remembered), forgotten: it is being saved."""
        return self._visitors.pop(visitor_id, None)

    def remember(self, visitor: VisitorRecord, person: PersonRecord) -> None:
        # Popped first so that a remembered entry moves to the end: the oldest go first.
        self._visitors.pop(visitor.id, None)
        self._persons.pop(person.id, None)
        self._visitors[visitor.id] = visitor.copy()
        self._persons[person.id] = person.copy()
        if len(self._visitors) > self.capacity:
            del self._visitors[next(iter(self._visitors))]
        if len(self._persons) > self.capacity:
            del self._persons[next(iter(self._persons))]

    def forget_person(self, person_id: int) -> None:
        if self._watching:
            self._persons.pop(person_id, None)

    def forget_visitor(self, visitor_id: str) -> None:
        if self._watching:
            self._visitors.pop(visitor_id, None)

    @contextlib.contextmanager
    def unwatched(self) -> Iterator[None]:
        """Changes made meanwhile forget nothing: their entries were dealt with beforehand."""
        self._watching = False
        try:
            yield
        finally:
            self._watching = True

    def clear(self) -> None:
        self._visitors.clear()
        self._persons.clear()

    def __len__(self) -> int:
        return len(self._visitors)
