"""API keys: random bearer tokens, stored only as SHA-256 digests.

A key is 256 bits of randomness, so a fast digest is enough: there is nothing to
brute-force, unlike a password.  Each key belongs to one site and one role
(``domain.roles.KEY_ROLES``, with what each grants).
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "tk_"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
