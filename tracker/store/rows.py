"""Rows as the rest of the code sees them: typed, decoded, free of driver types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SiteRecord:
    id: int
    key: str
    name: str
    origins: list[str]
    programme: str
    version: int
    # Per-site settings (JSON object; privacy keys are read by privacy.PrivacySettings).
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    site_id: int
    role: str
    name: str
