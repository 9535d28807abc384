"""The sales API: one lead's whole story, re-routing, owners, and visitor lookup.

Every route needs an API key of its site (see ``keys``).  Scores are returned as
they are *now*, decay applied, and the ledger that explains them comes along.
The list of leads and the exports are in ``exports``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")
