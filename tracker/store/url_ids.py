"""Ids of stored URLs (the ``urls`` table) remembered per process, so an event naming a known page
costs no statement to find its id.

An id is only ever a row's: ids are never reused (AUTOINCREMENT, identity), so a remembered id
can at worst name a row that is gone, never another URL.  It is gone when erasure or the purge
deleted the last event naming it, and forgotten then:

- SQLite's writer: a temporary trigger on ``urls`` forgets each row this process deletes; a rolled-back
  transaction, or a commit by another connection (``PRAGMA data_version``), forgets them all, with the
  remembered people (``sqlite.py``);
- PostgreSQL: other instances delete too, so the foreign keys of ``events`` refuse a gone id, and the
  unit runs again with every id forgotten (``postgres.py``).  A unit's own new ids are
  its own (``behind``) until it commits: another unit could not yet name them.
"""

from __future__ import annotations

# A URL is ~60 bytes and its entry ~200 in memory: about 4 MB at most.
CAPACITY = 20_000


class UrlIds:
    def __init__(self, capacity: int = CAPACITY, *, behind: UrlIds | None = None) -> None:
        """``behind``: the ids a PostgreSQL unit's own sit in front of until ``settle``."""
        self.capacity = capacity
        self._ids: dict[str, int] = {}
        self._behind = behind

    def get(self, text: str) -> int | None:
        found = self._ids.get(text)
        if found is None and self._behind is not None:
            return self._behind.get(text)
        return found

    def remember(self, text: str, url_id: int) -> None:
        # Popped first so that a remembered entry moves to the end: the oldest go first.
        self._ids.pop(text, None)
        self._ids[text] = url_id
        if len(self._ids) > self.capacity:
            del self._ids[next(iter(self._ids))]

    def forget(self, text: str) -> None:
        self._ids.pop(text, None)

    def clear(self) -> None:
        self._ids.clear()

    def settle(self) -> None:
        """The unit's transaction committed: its ids are everyone's now."""
        if self._behind is not None:
            for text, url_id in self._ids.items():
                self._behind.remember(text, url_id)
        self._ids.clear()

    def __len__(self) -> int:
        return len(self._ids)
