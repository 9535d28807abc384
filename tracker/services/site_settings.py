"""A site's settings as one form (console /admin/sites, ``tracker sites add``): name, allowed
origins, privacy policy and internal ranges, checked together and saved in one transaction.

Every field is checked before anything is written, and every bad one is named (``SiteErrors``),
so a form can show each error next to its field.  The change is audited with before and after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from tracker.domain.email_links import LinkError, safe_target
from tracker.domain.privacy import PrivacySettings
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.sites import HOME_SETTING, INTERNAL_SETTING, internal_networks, normalise_origin
from tracker.errors import BadRequest
from tracker.store import Queries, SiteRecord, Store

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
BAD_KEY = "a key is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"
MAX_NAME = 200
PRIVACY_FIELDS = ("consent", "dnt", "gpc", "ip", "retention_anonymous_days", "retention_identified_days")


class SiteErrors(BadRequest):
    """Every field that is wrong, field → message (``field`` names the first)."""

    code = "site"

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first], field=first)
        self.errors = dict(errors)

    def __str__(self) -> str:
        return "; ".join(f"{field}: {message}" for field, message in self.errors.items())


@dataclass(frozen=True, slots=True)
class SiteChange:
    """What a form asks for; None keeps the current value."""

    name: str | None = None
    origins: list[str] | None = None
    privacy: Mapping[str, Any] | None = None
    internal: list[str] | None = None
    # Where an expired or altered e-mail link leads; "" goes back to the first origin.
    home: str | None = None


def check_origin(raw: str) -> str:
    origin = raw.strip()
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{origin!r} is no origin: scheme and host only, like https://www.example.com")
    return normalise_origin(origin)


def site_state(site: SiteRecord) -> dict[str, Any]:
    """What the audit log records of a site before and after a change."""
    return {
        "name": site.name,
        "origins": list(site.origins),
        "privacy": asdict(PrivacySettings.from_json(site.settings)),
        "internal": list(site.settings.get(INTERNAL_SETTING, [])),
        **({"home": site.settings[HOME_SETTING]} if HOME_SETTING in site.settings else {}),
    }


def _checked(key: str, change: SiteChange, creating: bool) -> SiteChange:
    errors: dict[str, str] = {}
    if creating and not KEY.match(key):
        errors["key"] = BAD_KEY
    name = change.name.strip() if change.name is not None else None
    if name is not None and (not name or len(name) > MAX_NAME):
        errors["name"] = f"a name has 1 to {MAX_NAME} characters"
    origins: list[str] | None = None
    if change.origins is not None:
        origins = []
        for raw in change.origins:
            try:
                origins.append(check_origin(raw))
            except ValueError as exc:
                errors.setdefault("origins", str(exc))
    for field, value in (change.privacy or {}).items():
        try:  # one field at a time, so that each bad one is named
            PrivacySettings.from_json({field: value})
        except ProgrammeError as exc:
            errors[field] = exc.message
    internal: list[str] | None = None
    if change.internal is not None:
        try:
            internal = [str(network) for network in internal_networks(change.internal)]
        except ProgrammeError as exc:
            errors["internal"] = exc.message
    home = change.home.strip() if change.home is not None else None
    if home:
        try:
            home = safe_target(home)
        except LinkError as exc:
            errors["home"] = str(exc)
    if errors:
        raise SiteErrors(errors)
    origins = list(dict.fromkeys(origins)) if origins is not None else None
    return SiteChange(name, origins, change.privacy, internal, home)


async def save_settings(
    store: Store, key: str, change: SiteChange, *, create: bool | None, actor: str, now: float
) -> SiteRecord:
    """Create site ``key`` (``create`` True), change it (False) or either (None); SiteErrors names
    every bad field, and then nothing is written.  Running servers pick the change up within
    seconds (a new version)."""
    checked = _checked(key, change, create is True)

    async def unit(q: Queries) -> SiteRecord:
        site = await q.site_by_key(key, for_update=True)
        if create is True and site is not None:
            raise SiteErrors({"key": f"a site {key!r} exists already"})
        if site is None and create is False:
            raise SiteErrors({"key": f"no site {key!r}"})
        if site is None:
            if not KEY.match(key):
                raise SiteErrors({"key": BAD_KEY})
            await q.insert_site(key, checked.name or key, checked.origins or [], "", now)
            before: dict[str, Any] | None = None
        else:
            before = site_state(site)
            if checked.name is not None and checked.name != site.name:
                await q.rename_site(site.id, checked.name)
            if checked.origins is not None and checked.origins != site.origins:
                await q.update_site(site.id, origins=checked.origins)
        saved = await q.site_by_key(key)
        assert saved is not None
        settings = dict(saved.settings)
        if checked.privacy is not None:
            settings.update({field: checked.privacy[field] for field in PRIVACY_FIELDS if field in checked.privacy})
        if checked.internal is not None:
            settings[INTERNAL_SETTING] = checked.internal
        if checked.home:
            settings[HOME_SETTING] = checked.home
        elif checked.home is not None:
            settings.pop(HOME_SETTING, None)
        if settings != saved.settings:
            await q.save_site_settings(saved.id, settings)
        saved = await q.site_by_key(key)
        assert saved is not None
        after = site_state(saved)
        if after != before:
            detail = {"site": key, "after": after, **({"before": before} if before is not None else {})}
            await q.insert_audit(saved.id, now, actor, "site_create" if before is None else "site_update", None, detail)
        return saved

    return await store.write(unit)
