"""The sales holdout: a fixed share of newly sales-qualified leads is kept out of routing.

Comparing what becomes of the held-out leads with what becomes of the routed ones measures
what the sales action itself adds (seed 000: does scoring, and acting on it, convert better
than not?).  Off unless the programme says::

    [sales_holdout]
    share = 10          # percent of the leads entering the sql stage
    window = "90d"      # a lead won within this long of entering sql counts (default)
    salt = "2026-q4"    # optional: another salt draws another group

Who is held out is drawn like a campaign's control group (``experiments.bucket_of``), from the
person id: a merge keeps the survivor's draw.  A held-out lead is recorded as an assignment to
the ``HELD_OUT`` queue, which no route can be named (queues never hold parentheses), so it
shows in the lead list and history, is never routed by the table, and a person can still
hand it to sales on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.domain.experiments import BUCKETS, bucket_of
from tracker.domain.programme.checks import ProgrammeError, expect_table, parse_duration, reject_unknown

HELD_OUT = "(held out)"
# Why an assignment was made: the holdout's, and the routing table's on entering sql (handoff).
HOLDOUT_REASON = "sales_holdout"
ROUTED_REASON = "stage:sql"
DEFAULT_WINDOW = "90d"
_KEYS = frozenset({"share", "salt", "window"})
# Holding out more than half of the leads would be sales' loss, not a measurement.
MAX_SHARE = 50


@dataclass(frozen=True, slots=True)
class SalesHoldout:
    share: float
    salt: str
    window: float  # seconds after entering sql in which a won outcome counts

    def holds_out(self, person_id: int) -> bool:
        return bucket_of(self.salt, "sales_holdout", person_id) < round(self.share * BUCKETS / 100)


def compile_sales_holdout(raw: Any) -> SalesHoldout | None:
    if raw is None:
        return None
    table = expect_table(raw, "sales_holdout")
    reject_unknown(table, _KEYS, "sales_holdout")
    share = table.get("share")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= MAX_SHARE:
        raise ProgrammeError("sales_holdout.share", f"expected a percentage above 0 and at most {MAX_SHARE}")
    salt = table.get("salt", "")
    if not isinstance(salt, str) or len(salt) > 64:
        raise ProgrammeError("sales_holdout.salt", "expected a text of at most 64 characters")
    window = parse_duration(table.get("window", DEFAULT_WINDOW), "sales_holdout.window")
    return SalesHoldout(float(share), salt, window)
