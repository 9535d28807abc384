"""URL ids remembered per process: bounded, oldest out first, and a unit's own kept apart until it commits."""

from __future__ import annotations

from tracker.store.url_ids import UrlIds


def test_the_oldest_entries_go_first_and_a_remembered_one_moves_to_the_end() -> None:
    ids = UrlIds(capacity=2)
    ids.remember(("a", ""), 1)
    ids.remember(("b", ""), 2)
    ids.remember(("a", ""), 1)
    ids.remember(("c", ""), 3)
    assert (ids.get(("a", "")), ids.get(("b", "")), ids.get(("c", ""))) == (1, None, 3)
    assert len(ids) == 2


def test_forget_and_clear() -> None:
    """An address is remembered per title: forgetting one of its rows leaves its others."""
    ids = UrlIds()
    ids.remember(("a", "Home"), 1)
    ids.remember(("a", ""), 2)
    ids.forget(("a", "Home"))
    assert (ids.get(("a", "Home")), ids.get(("a", ""))) == (None, 2)
    ids.clear()
    assert ids.get(("a", "")) is None and len(ids) == 0


def test_a_units_ids_are_its_own_until_it_settles() -> None:
    shared = UrlIds()
    shared.remember(("a", ""), 1)
    unit = UrlIds(behind=shared)
    unit.remember(("b", ""), 2)
    assert (unit.get(("a", "")), unit.get(("b", ""))) == (1, 2)
    assert shared.get(("b", "")) is None  # another unit must not name a row not committed yet
    unit.settle()
    assert shared.get(("b", "")) == 2 and len(unit) == 0
