"""Times as the API shows them: ISO 8601 in UTC with a ``Z``.  Stored times are POSIX seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
