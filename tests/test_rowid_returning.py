from __future__ import annotations

import sqlite3

import pytest

from tracker.store.rowid_returning import RowidReturning, RowidRow

_SCHEMA = (
    "CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE, name TEXT)",
    "CREATE TABLE devices (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)",
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT) WITHOUT ROWID",
    "CREATE TABLE ranks (id INTEGER PRIMARY KEY DESC, name TEXT)",
    "CREATE TABLE pairs (a BIGINT PRIMARY KEY, b TEXT)",
)


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for statement in _SCHEMA:
        db.execute(statement)
    return db


def test_one_new_row_returning_its_rowid_runs_without_the_clause(db: sqlite3.Connection) -> None:
    answers = RowidReturning(db)
    assert answers.without_returning("INSERT INTO people (email, name) VALUES (?, ?) RETURNING id") == (
        "INSERT INTO people (email, name) VALUES (?, ?)",
        "id",
    )
    assert answers.without_returning("INSERT INTO devices (id) VALUES (?) RETURNING num") == (
        "INSERT INTO devices (id) VALUES (?)",
        "num",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO devices (id) VALUES (?) RETURNING id",  # not the rowid: a text key
        "INSERT INTO people (email, name) VALUES (?, ?) RETURNING id, name",
        "INSERT INTO people (email) VALUES (?), (?) RETURNING id",  # two rows
        "INSERT INTO people (email) VALUES (?) ON CONFLICT (email) DO NOTHING RETURNING id",  # maybe none
        "INSERT INTO people (email) SELECT email FROM people RETURNING id",
        "INSERT INTO tags (id, name) VALUES (?, ?) RETURNING id",  # no rowid at all
        "INSERT INTO ranks (name) VALUES (?) RETURNING id",  # SQLite's quirk: DESC is not the rowid
        "INSERT INTO pairs (a, b) VALUES (?, ?) RETURNING a",  # BIGINT is not INTEGER
        "UPDATE people SET name = ? WHERE id = ? RETURNING id",
    ],
)
def test_any_other_statement_runs_as_written(db: sqlite3.Connection, sql: str) -> None:
    assert RowidReturning(db).without_returning(sql) is None


def test_the_id_read_after_is_the_one_returning_gives(db: sqlite3.Connection) -> None:
    answers = RowidReturning(db)
    returning = "INSERT INTO people (email, name) VALUES (?, ?) RETURNING id"
    given = [db.execute(returning, (f"{n}@x.fr", "a")).fetchone()[0] for n in range(3)]
    plain = answers.without_returning(returning)
    assert plain is not None
    read = [db.execute(plain[0], (f"{n}@y.fr", "b")).lastrowid for n in range(3)]
    assert given + read == [1, 2, 3, 4, 5, 6]


def test_a_rowid_row_reads_as_a_database_row() -> None:
    row = RowidRow("id", 7)
    assert row["id"] == row[0] == 7 and list(row) == [7] and row.keys() == ["id"]
    with pytest.raises(KeyError):
        row["num"]
    with pytest.raises(IndexError):
        row[1]
