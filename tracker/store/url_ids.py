"""Ids of stored URLs (the ``urls`` table) remembered per process, so an event naming a known page
costs no statement to find its id.  A row is an (address, title) pair: that pair is the key.

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

from typing import Generic, TypeVar

# A URL is ~60 bytes, a title ~30, and their entry ~300 in memory: about 6 MB at most.
CAPACITY = 20_000
# (address, title): a referrer's, or an untitled page's, title is "".
UrlKey = tuple[str, str]
# A ledger name's text (``ledger_names``).
NameKey = tuple[str]
K = TypeVar("K")


class RememberedIds(Generic[K]):
    """Ids of interned rows by their key: URLs' here, ledger names' too (``ledger_names``)."""

    def __init__(self, capacity: int = CAPACITY, *, behind: RememberedIds[K] | None = None) -> None:
        """``behind``: the ids a PostgreSQL unit's own sit in front of until ``settle``."""
        self.capacity = capacity
        self._ids: dict[K, int] = {}
        self._behind = behind

    def get(self, key: K) -> int | None:
        found = self._ids.get(key)
        if found is None and self._behind is not None:
            return self._behind.get(key)
        return found

    def remember(self, key: K, url_id: int) -> None:
        # Popped first so that a remembered entry moves to the end: the oldest go first.
        self._ids.pop(key, None)
        self._ids[key] = url_id
        if len(self._ids) > self.capacity:
            del self._ids[next(iter(self._ids))]

    def forget(self, key: K) -> None:
        """The row of ``key`` was deleted (SQLite's trigger on ``urls`` says so)."""
        self._ids.pop(key, None)

    def clear(self) -> None:
        self._ids.clear()

    def settle(self) -> None:
        """The unit's transaction committed: its ids are everyone's now."""
        if self._behind is not None:
            for key, url_id in self._ids.items():
                self._behind.remember(key, url_id)
        self._ids.clear()

    def __len__(self) -> int:
        return len(self._ids)


UrlIds = RememberedIds[UrlKey]
