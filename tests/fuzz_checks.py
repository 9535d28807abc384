"""Schemathesis checks of our own (loaded through SCHEMATHESIS_HOOKS by tests/test_fuzz.py)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def errors_name_the_problem(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx is JSON with an error code and a message saying what is wrong."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and body.get("error") and body.get("message"), (
            f"unexplained {response.status_code}"
        )
