"""Roles and what each may do, as data: console users' role matrix and API keys' grants.

A console page or action names one permission; a role may use it when the matrix lists the
role under it.  README "Console" shows the same table; tests/test_admin.py walks the route
list against it.  An API key has one of ``KEY_ROLES``: an endpoint asks for a role, and a key
may act as the roles its own grants (``KEY_GRANTS``).
"""

from __future__ import annotations

from collections.abc import Mapping

USER_ROLES = ("admin", "marketing", "sales")
# Keys add "ingest" (server-side event sources such as Segment), which no person signs in as.
KEY_ROLES = ("sales", "marketing", "ingest", "admin")

# The two sides of the MQL/SQL agreement (seed 004): a threshold change needs one approval
# from each.  An admin is neither side.
THRESHOLD_SIDES = ("marketing", "sales")

# permission → the roles that hold it (admin holds every one but the threshold approvals).
MATRIX: Mapping[str, frozenset[str]] = {
    "console": frozenset({"admin", "marketing", "sales"}),  # the dashboard, signing out, own settings
    "leads.read": frozenset({"admin", "marketing", "sales"}),  # lead list, a lead's story
    "leads.export": frozenset({"admin", "sales"}),  # CSV / NDJSON downloads
    "leads.outcome": frozenset({"admin", "sales"}),  # contacted, meeting, won, lost
    "leads.reassign": frozenset({"admin", "sales"}),  # move a lead to another queue or owner
    "programme.read": frozenset({"admin", "marketing", "sales"}),  # the programme as tables, its versions
    "programme.edit": frozenset({"admin", "marketing"}),  # tokens, rules, TOML, publish, roll back, clone
    "campaigns.edit": frozenset({"admin", "marketing"}),  # campaign editor and preview
    "thresholds.propose": frozenset({"admin", "marketing", "sales"}),  # everyone can propose
    "thresholds.approve": frozenset({"marketing", "sales"}),  # each side approves for itself
    "users.manage": frozenset({"admin"}),  # create, disable, reset links
    "sites.manage": frozenset({"admin"}),  # origins, consent, privacy, snippet
    "keys.manage": frozenset({"admin"}),  # API keys: list, create, revoke
    "webhooks.manage": frozenset({"admin"}),
    "privacy.erase": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    "reports.read": frozenset({"admin", "marketing", "sales"}),  # calibration reports and their CSV
    "email.links": frozenset({"admin", "marketing"}),  # a signed e-mail link for one known person
}


# key role → the roles whose endpoints it may call: its own; an admin key, every one.
KEY_GRANTS: Mapping[str, frozenset[str]] = {
    **{role: frozenset({role}) for role in KEY_ROLES},
    "admin": frozenset(KEY_ROLES),
}


def key_may(key_role: str, role: str) -> bool:
    """Whether an API key of ``key_role`` may call an endpoint that needs ``role``."""
    return role in KEY_GRANTS.get(key_role, frozenset())


def may(role: str, permission: str) -> bool:
    """Whether a console user of ``role`` may use ``permission`` (an unknown permission: nobody)."""
    return role in MATRIX.get(permission, frozenset())


def permissions_of(role: str) -> list[str]:
    return [permission for permission, roles in MATRIX.items() if role in roles]
