"""Identity rules: signed visitor tokens, e-mail and user-id normalisation, profile fields.

Junk identities are refused (Segment Unify and PostHog block the same values), form
fields get canonical names, secrets never reach a profile, and a device new to a person
only fills its empty profile fields (``update_profile``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, Signer

from tracker.domain.facts import CampaignMemory, ProfileChange
from tracker.domain.people import PersonRecord

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Segment Unify and PostHog block these as identities; an e-mail can't be them, but a
# beacon bug can still send them, and they must never become a person.
_JUNK = frozenset({"", "null", "none", "undefined", "anonymous", "nan", "[object object]", "-1", "0"})
_JUNK_PATTERN = re.compile(r"^[0-]*$")

_FIELD_ALIASES = {
    "mail": "email",
    "e_mail": "email",
    "courriel": "email",
    "jobtitle": "job_title",
    "job": "job_title",
    "title": "job_title",
    "fonction": "job_title",
    "poste": "job_title",
    "societe": "company",
    "société": "company",
    "entreprise": "company",
    "organisation": "company",
    "organization": "company",
    "secteur": "industry",
    "tel": "phone",
    "telephone": "phone",
    "téléphone": "phone",
    "firstname": "first_name",
    "prenom": "first_name",
    "prénom": "first_name",
    "lastname": "last_name",
    "nom": "last_name",
}
# Never kept in a profile even if a form sends them.
_SECRET_FIELD = re.compile(r"pass|pwd|card|^cc_|cvv|cvc|csrf|token|nonce|iban|secret", re.I)
_MAX_PROFILE_FIELDS = 50
_MAX_FIELD_LENGTH = 500
_MAX_SESSIONS_MEMORY = 20


class IdentityError(ValueError):
    """An identity value that must not identify anyone."""


def normalise_email(value: Any) -> str:
    if not isinstance(value, str):
        raise IdentityError("email must be a string")
    email = value.strip().lower()
    if email in _JUNK or _JUNK_PATTERN.match(email):
        raise IdentityError(f"{value!r} is not an identity")
    if len(email) > 254 or not _EMAIL.match(email):
        raise IdentityError(f"{value!r} is not a valid e-mail address")
    return email


def normalise_user_id(value: Any) -> str:
    """A backend user id (Segment's userId): trimmed, at most 200 characters, never a junk value."""
    if not isinstance(value, str):
        raise IdentityError("userId must be a string")
    user_id = value.strip()
    if user_id.lower() in _JUNK or _JUNK_PATTERN.match(user_id) or len(user_id) > 200:
        raise IdentityError(f"{value!r} is not an identity")
    return user_id


def field_name(raw: str) -> str:
    key = re.sub(r"[\s\-.]+", "_", raw.strip().lower())
    return _FIELD_ALIASES.get(key, key)


def email_in(fields: Mapping[str, Any]) -> Any:
    """The e-mail value carried by form fields or identify traits, if any."""
    for key, value in fields.items():
        if field_name(key) == "email":
            return value
    return None


def without_secrets(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields minus passwords, card numbers and CSRF tokens, whatever the beacon sent."""
    return {key: value for key, value in fields.items() if not _SECRET_FIELD.search(key)}


def profile_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields worth keeping on a profile: named canonically, secrets dropped, capped."""
    kept: dict[str, Any] = {}
    for raw, value in without_secrets(fields).items():
        if len(kept) >= _MAX_PROFILE_FIELDS:
            break
        if not isinstance(value, (str, int, float, bool)):
            continue
        key = field_name(raw)
        if key == "email":
            continue
        if isinstance(value, str):
            value = value.strip()[:_MAX_FIELD_LENGTH]
            if not value:
                continue
        kept[key] = value
    return kept


class VisitorTokens:
    """Signs the random visitor id; the salt binds a token to its site.

    Signing is deterministic (no timestamp), so the verdicts on recently seen tokens
    are memoised: a returning visitor costs a dictionary lookup, not two HMACs.
    Only successful verifications are remembered, so forged tokens cannot crowd out
    real ones.
    """

    def __init__(self, secret: str, *, memory: int = 100_000) -> None:
        self.secret = secret
        self.memory = memory
        self._signers: dict[str, Signer] = {}
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()

    def _signer(self, site_key: str) -> Signer:
        signer = self._signers.get(site_key)
        if signer is None:
            signer = self._signers[site_key] = Signer(self.secret, salt=f"tracker.visitor:{site_key}")
        return signer

    def sign(self, site_key: str, visitor_id: str) -> str:
        token = self._signer(site_key).sign(visitor_id).decode()
        self._remember(site_key, token, visitor_id)
        return token

    def verify(self, site_key: str, token: Any) -> str | None:
        """The visitor id in ``token``, or None for a missing, tampered or foreign token."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        known = self._known.get((site_key, token))
        if known is not None:
            self._known.move_to_end((site_key, token))
            return known
        try:
            visitor_id = self._signer(site_key).unsign(token).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        self._remember(site_key, token, visitor_id)
        return visitor_id

    def _remember(self, site_key: str, token: str, visitor_id: str) -> None:
        self._known[site_key, token] = visitor_id
        if len(self._known) > self.memory:
            self._known.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a message says the visitor is: an e-mail (forms), a backend user id (Segment), or both."""

    email: str | None = None
    user_id: str | None = None


def is_identified(person: PersonRecord) -> bool:
    return person.email is not None or person.user_id is not None


def _conflicts(person: PersonRecord, identity: Identity) -> bool:
    """True if ``identity`` names someone else than the identified ``person``."""
    return (identity.email is not None and person.email not in (None, identity.email)) or (
        identity.user_id is not None and person.user_id not in (None, identity.user_id)
    )


def update_profile(profile: dict[str, Any], fields: Mapping[str, Any], *, trusted: bool) -> list[ProfileChange]:
    """Write ``fields`` into ``profile``: all of them if the source is ``trusted``, else only into
    empty fields.  Returns every value that differed, written or withheld, for the profile's history."""
    changes: list[ProfileChange] = []
    for key, value in profile_fields(fields).items():
        previous = profile.get(key)
        if previous == value:
            continue
        applied = trusted or previous in (None, "")
        if applied:
            profile[key] = value
        changes.append(ProfileChange(key, value, previous, applied))
    return changes


def merge_campaign_memory(
    a: Mapping[str, CampaignMemory], b: Mapping[str, CampaignMemory]
) -> dict[str, CampaignMemory]:
    merged = dict(a)
    for campaign, theirs in b.items():
        ours = merged.get(campaign)
        if ours is None:
            merged[campaign] = theirs
            continue
        merged[campaign] = CampaignMemory(
            impressions=ours.impressions + theirs.impressions,
            last_impression=_latest(ours.last_impression, theirs.last_impression),
            sessions=(ours.sessions + [s for s in theirs.sessions if s not in ours.sessions])[-_MAX_SESSIONS_MEMORY:],
            closed=_latest(ours.closed, theirs.closed),
            converted=_latest(ours.converted, theirs.converted),
        )
    return merged


def _latest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
