"""Editing one ``[[campaigns]]`` entry inside the marketers' TOML, keeping everything else as written.

The console's campaign editor changes a campaign, not the file: comments, key order, blank
lines and the other tables stay byte for byte, and so do the campaign's own keys that did
not change (with their end-of-line comments).  ``tomlkit`` keeps the document's layout.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, Table

from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.edit import plain


class CampaignMissing(ProgrammeError):
    """The campaign to change or delete is not in the source (any more)."""


def campaign_tables(source: str) -> dict[str, dict[str, Any]]:
    """The raw ``[[campaigns]]`` tables by id, as the marketer wrote them."""
    raw = tomllib.loads(source).get("campaigns", [])
    if not isinstance(raw, list):
        return {}
    return {str(table["id"]): table for table in raw if isinstance(table, dict) and "id" in table}


def put_campaign(source: str, original: str | None, table: Mapping[str, Any]) -> str:
    """``source`` with campaign ``original`` replaced by ``table``, or ``table`` appended when ``original`` is None."""
    if original is None and source.strip():
        source = source.rstrip("\n") + "\n\n"  # a blank line before the new [[campaigns]]
    doc = tomlkit.parse(source)
    campaigns = _campaigns(doc)
    if original is None:
        campaigns.append(_table(table))
    else:
        _sync(campaigns[_index(campaigns, original)], table)
    return tomlkit.dumps(doc)


def remove_campaign(source: str, campaign_id: str) -> str:
    doc = tomlkit.parse(source)
    campaigns = _campaigns(doc)
    del campaigns[_index(campaigns, campaign_id)]
    if not campaigns:
        del doc["campaigns"]
    return tomlkit.dumps(doc)


def _campaigns(doc: tomlkit.TOMLDocument) -> AoT:
    if "campaigns" not in doc:
        doc.append("campaigns", tomlkit.aot())
    campaigns = doc["campaigns"]
    if not isinstance(campaigns, AoT):
        raise ProgrammeError("campaigns", "expected an array of tables ([[campaigns]])")
    return campaigns


def _index(campaigns: AoT, campaign_id: str) -> int:
    for index, table in enumerate(campaigns):
        if table.get("id") == campaign_id:
            return index
    raise CampaignMissing(f"campaigns[{campaign_id}]", "no such campaign (deleted in the meantime?)")


def _sync(target: Table, wanted: Mapping[str, Any]) -> None:
    """Make ``target`` hold ``wanted``, touching only the keys whose value changed."""
    for key in [k for k in target if k not in wanted]:
        del target[key]
    for key, value in wanted.items():
        current = target.get(key)
        if isinstance(current, Table) and isinstance(value, Mapping):
            _sync(current, value)  # a [campaigns.when] section stays a section
        elif current is None or plain(current) != plain(value):
            # ``when`` becomes a [campaigns.when] section, unless the marketer wrote it inline.
            target[key] = _item(value, section=key == "when" and not isinstance(current, InlineTable))


def _table(wanted: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in wanted.items():
        table[key] = _item(value, section=key == "when")
    return table


def _item(value: Any, *, section: bool = False) -> Any:
    """Small values inline (``cta = { label = …, url = … }``); ``when`` as its own ``[campaigns.when]``."""
    if isinstance(value, Mapping):
        if section:
            return _table(value)
        inline: InlineTable = tomlkit.inline_table()
        for key, item in value.items():
            inline[key] = _item(item)
        return inline
    if isinstance(value, (list, tuple)):
        array: Array = tomlkit.array()
        array.extend(_item(item) for item in value)
        return array
    return value
