"""API keys (domain/keys.py): random bearer tokens, stored only as their SHA-256 digest.

What a key may do once stored is tested through HTTP in tests/test_auth.py.
"""

from __future__ import annotations

import re

from tracker.domain.keys import PREFIX, digest, new_key


def test_a_digest_never_changes_across_releases() -> None:
    # Stored keys are looked up by this value: a different digest would lock every client out.
    assert digest("tk_test") == "c566158525c2647f59ef9a390eacf7f9dc66550ac0a984712fa02c71c7d31e82"


def test_the_digest_tells_keys_apart_to_the_character() -> None:
    key = new_key()
    assert digest(key) == digest(key)
    assert digest(key) != digest(key[:-1])
    assert digest(key) != digest(key.upper())
    assert digest(key) != digest(key + " ")  # callers trim the header, the digest does not


def test_a_new_key_is_prefixed_url_safe_and_256_bits_of_randomness() -> None:
    key = new_key()
    assert re.fullmatch(r"tk_[A-Za-z0-9_-]{43}", key), key  # 32 bytes in unpadded base64url
    assert key.startswith(PREFIX)
    assert len({new_key() for _ in range(100)}) == 100
