"""Changes the console makes to a programme's TOML, with tomlkit: only the value edited changes,
every comment and the marketers' layout stay (a token's trailing note, the sections' banners).

Each function takes the source and returns the new source; none checks the programme as a
whole (``load_programme`` does, on the result).  ``error_line`` finds the line a
``ProgrammeError`` is about, so the TOML editor can point at it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, InlineTable, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from tracker.domain.programme.checks import ProgrammeError

_TOML_LINE = re.compile(r"at line (\d+)")
_SEGMENT = re.compile(r"([^.\[\]]+)(?:\[([^\]]*)\])?")


def parse(source: str) -> TOMLDocument:
    try:
        return tomlkit.parse(source)
    except TOMLKitError as exc:
        raise ProgrammeError("toml", str(exc)) from None


def number(value: float) -> int | float:
    """12.0 is written 12: what a person would type."""
    return int(value) if float(value).is_integer() else value


def value_of(text: str) -> Any:
    """A condition value typed in a form: TOML when it is one (``10000``, ``true``, ``["a", "b"]``), else text.

    So ``>= 10000`` and ``~achat|purchas`` stay patterns while ``2`` compares as a number.
    """
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_tokens(source: str, values: Mapping[str, float], removed: Collection[str] = ()) -> str:
    doc = parse(source)
    tokens = doc.get("tokens")
    if not isinstance(tokens, Table):
        tokens = tomlkit.table()
        doc["tokens"] = tokens
    for name in removed:
        if name in tokens:
            del tokens[name]
    for name, value in values.items():
        if name not in tokens or tokens[name] != value:
            tokens[name] = number(value)
    return tomlkit.dumps(doc)


def set_score(source: str, name: str, *, mql: float | None, sql: float | None, decay: tuple[str, float] | None) -> str:
    """The score's thresholds and decay (``(after, percent)``, None: no decay); absent values are removed."""
    doc = parse(source)
    scores = doc.get("scores")
    if not isinstance(scores, Table) or not isinstance(scores.get(name), Table):
        raise ProgrammeError(f"scores.{name}", "no such score")
    table = scores[name]
    for key, value in (("mql", mql), ("sql", sql)):
        if value is None:
            table.pop(key, None)
        elif table.get(key) != value:
            table[key] = number(value)
    if decay is None:
        table.pop("decay", None)
    elif plain(table.get("decay")) != {"after": decay[0], "percent": decay[1]}:
        table["decay"] = _inline({"after": decay[0], "percent": number(decay[1])})
    return tomlkit.dumps(doc)


def keep_thresholds(source: str, thresholds: Mapping[str, tuple[float | None, float | None]]) -> str:
    """Put back the given (active) MQL/SQL thresholds on every score the source shares with them."""
    doc = parse(source)
    scores = doc.get("scores")
    if not isinstance(scores, Table):
        return source
    for name, (mql, sql) in thresholds.items():
        table = scores.get(name)
        if not isinstance(table, (Table, InlineTable)):  # [scores.x] or x = { mql = …, sql = … }
            continue
        for key, value in (("mql", mql), ("sql", sql)):
            if value is None:
                table.pop(key, None)
            elif table.get(key) != value:
                table[key] = number(value)
    return tomlkit.dumps(doc)


def put_rule(source: str, rule: Mapping[str, Any], replacing: str | None = None) -> str:
    """Write ``rule`` (id, score, when, points, limit) over the rule ``replacing``, or append it."""
    doc = parse(source)
    rules = doc.get("rules")
    existing = _rule(rules, replacing) if replacing else None
    if replacing and existing is None:
        raise ProgrammeError(f"rules[{replacing}]", "this rule no longer exists")
    table = existing if existing is not None else tomlkit.table()
    for key in ("id", "score", "when", "points", "limit"):
        value = rule.get(key)
        if value is None:
            table.pop(key, None)
        elif plain(table.get(key)) != value:
            table[key] = _inline(value) if isinstance(value, Mapping) else value
    if existing is None:
        if not isinstance(rules, AoT):
            rules = tomlkit.aot()
            doc["rules"] = rules
        _append(rules, table)
    return tomlkit.dumps(doc)


def delete_rule(source: str, rule_id: str) -> str:
    doc = parse(source)
    rules = doc.get("rules")
    if _rule(rules, rule_id) is None:
        raise ProgrammeError(f"rules[{rule_id}]", "this rule no longer exists")
    assert isinstance(rules, AoT)
    index = next(i for i, table in enumerate(rules) if table.get("id") == rule_id)
    del rules[index]
    return tomlkit.dumps(doc)


def error_line(source: str, error: ProgrammeError) -> int | None:
    """The 1-based line ``error`` is about: the TOML parser's own line, else the key ``where`` names."""
    if error.where == "toml":
        parsed = _TOML_LINE.search(error.message)
        return int(parsed.group(1)) if parsed else None
    lines = source.splitlines()
    segments = [(m.group(1).strip(), m.group(2)) for m in _SEGMENT.finditer(error.where)]
    if not segments:
        return None
    start, end, rest = _block(lines, segments)
    if start is None:
        return None
    table = segments[0][0]
    while rest:
        key = rest[0][0]
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=.]")
        found = next((n for n in range(start, end) if pattern.match(lines[n])), None)
        if found is not None:
            return found + 1
        # An array item's sub-table follows it: [[campaigns]] … then [campaigns.when].
        table = f"{table}.{key}"
        header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
        if end >= len(lines) or not header.match(lines[end]):
            break
        start, end, rest = end, _next_header(lines, end), rest[1:]
    return start + 1 if start < len(lines) and lines[start].lstrip().startswith("[") else None


def _next_header(lines: list[str], after: int) -> int:
    return next((n for n in range(after + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines))


def _block(lines: list[str], segments: list[tuple[str, str | None]]) -> tuple[int | None, int, list[Any]]:
    """Where the table ``segments`` name starts and ends (0-based, end excluded), and the keys left."""
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith("[")]

    def end_of(start: int) -> int:
        return next((i for i in headers if i > start), len(lines))

    name, item = segments[0]
    if item is not None:  # an array of tables: rules[wp-c], campaigns[2]
        blocks = [i for i in headers if re.match(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]", lines[i])]
        ident = re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(item)}[\"']")
        for position, start in enumerate(blocks):
            if (item.isdigit() and position == int(item)) or any(ident.match(x) for x in lines[start : end_of(start)]):
                return start, end_of(start), segments[1:]
        return None, 0, []
    for size in range(len(segments), 0, -1):
        header = re.compile(rf"^\s*\[\s*{re.escape('.'.join(s for s, _ in segments[:size]))}\s*\]")
        found = next((i for i in headers if header.match(lines[i])), None)
        if found is not None:
            return found, end_of(found), segments[size:]
    return 0, headers[0] if headers else len(lines), segments


def _rule(rules: Any, rule_id: str | None) -> Table | None:
    if not isinstance(rules, AoT):
        return None
    return next((table for table in rules if table.get("id") == rule_id), None)


def _append(rules: AoT, table: Table) -> None:
    """After the last rule's keys: the comments that trail it introduce the next section, so they move after."""
    if len(rules):
        body = rules[-1].value.body
        trailing: list[tuple[Any, Any]] = []
        while body and body[-1][0] is None:
            trailing.insert(0, body.pop())
        body.append((None, Whitespace("\n")))
        rules.append(table)
        table.value.body.extend(trailing)
    else:
        rules.append(table)


def _inline(value: Mapping[str, Any]) -> InlineTable:
    """``{ type = "page", url = "/x" }``, spaced as people write it."""
    item = tomlkit.parse(f"v = {inline_text(value)}")["v"]
    assert isinstance(item, InlineTable)
    return item


def inline_text(value: Any) -> str:
    """A value as inline TOML: ``{ type = \"page\" }``, ``[\"a\", \"b\"]``, ``2``."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {inline_text(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(inline_text(v) for v in value) + "]"
    return str(tomlkit.item(value).as_string())


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else tomlkit.item(name).as_string()


def plain(value: Any) -> Any:
    """A tomlkit value as plain Python, to tell whether an edit changes anything."""
    return value.unwrap() if hasattr(value, "unwrap") else value
