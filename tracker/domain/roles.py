"""Console roles and what each may do: the role matrix, as data.

A console page or action names one permission; a role may use it when the matrix lists the
role under it.  README "Console" shows the same table; tests/test_admin.py walks the route
list against it.
"""

from __future__ import annotations

from collections.abc import Mapping

USER_ROLES = ("admin", "marketing", "sales")

# permission → the roles that hold it (admin holds every one).
MATRIX: Mapping[str, frozenset[str]] = {
    "console": frozenset({"admin", "marketing", "sales"}),  # the home page, signing out
    "leads.read": frozenset({"admin", "marketing", "sales"}),  # lead list, a lead's story
    "leads.export": frozenset({"admin", "sales"}),  # CSV / NDJSON downloads
    "programme.read": frozenset({"admin", "marketing"}),  # the programme as tables
    "users.manage": frozenset({"admin"}),  # create, disable, reset links
}


def may(role: str, permission: str) -> bool:
    """Whether a console user of ``role`` may use ``permission`` (an unknown permission: nobody)."""
    return role in MATRIX.get(permission, frozenset())


def permissions_of(role: str) -> list[str]:
    return [permission for permission, roles in MATRIX.items() if role in roles]
