"""The sales API: one lead's whole story, re-routing, owners, and visitor lookup.

Every route needs an API key of its site (see ``keys``).  Scores are returned as
they are *now*, decay applied, and the ledger that explains them comes along.
The list of leads and the exports are in ``exports``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
