"""The PostgreSQL store's own parts: its URL, and the ``?`` → ``$n`` rewrite of the shared SQL."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracker.store
from tracker.store import open_store
from tracker.store.migrations import load
from tracker.store.postgres import PostgresStore, split_schema, to_dollar

STORE = Path(tracker.store.__file__).parent
# What SQL does not read as code: literals, quoted identifiers, comments.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|/\*.*?\*/", re.S)


def test_postgres_urls_open_the_postgres_store() -> None:
    store = open_store("postgresql://postgres@127.0.0.1:5432/test?schema=t_abc&sslmode=disable")
    assert isinstance(store, PostgresStore)
    assert store.schema == "t_abc" and store.url == "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable"
    with pytest.raises(ValueError, match="schema"):
        split_schema("postgresql://h/db?schema=x;drop")


def test_placeholders_become_numbered() -> None:
    assert to_dollar("SELECT ? WHERE a = ? AND b IN (?, ?)") == "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"


def test_each_statement_is_rewritten_once() -> None:
    statement = "SELECT ? AS test_each_statement_is_rewritten_once"
    before = to_dollar.cache_info()
    assert to_dollar(statement) == to_dollar(statement)
    after = to_dollar.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def store_strings() -> Iterator[tuple[str, str]]:
    """Every string literal of the store's Python but docstrings, with where it is.

    Statements are built only from these (adjacent literals are one string in the AST, and
    what f-strings splice in are the store's column lists, table names, lock clauses and
    ``?`` marks, all literals here too); caller values travel as arguments, never as SQL.
    """
    for path in sorted(STORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                yield f"{path.name}:{node.lineno}", node.value


def test_no_statement_can_hold_a_literal_question_mark() -> None:
    """What makes the blind rewrite of every ``?`` exact (see ``to_dollar``)."""
    strings = list(store_strings())
    assert len(strings) > 100  # the walk reached the SQL
    for where, text in strings:
        hidden = _NOT_CODE.findall(text)
        assert not any("?" in part for part in hidden), f"{where}: a '?' inside a literal or comment: {text!r}"
        # Balanced in each string, no literal or comment starts in one string and ends in the next.
        rest = _NOT_CODE.sub("", text)
        assert not any(mark in rest for mark in ("'", '"', "/*")), f"{where}: unbalanced quote: {text!r}"
    for dialect in ("sqlite", "postgresql"):
        for migration in load(dialect):
            assert not any("?" in statement for statement in migration.statements), migration.name
