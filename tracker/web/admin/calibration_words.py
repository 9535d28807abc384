"""The calibration reports' sentences, in the reader's language: seed 000's test in words, with
both intervals.  The API states it in English from the same messages."""

from __future__ import annotations

from tracker.domain.calibration.intervals import Interval
from tracker.domain.calibration.threshold import Side, ThresholdTest
from tracker.web.admin.i18n import N_, gettext, number

VERDICTS = {
    "better": N_(
        "Leads at or above the SQL threshold (%(threshold)s) converted better: %(above)s of %(above_leads)s leads"
        " (95 %% interval %(above_low)s to %(above_high)s) against %(below)s of %(below_leads)s below it"
        " (%(below_low)s to %(below_high)s)."
    ),
    "no_better": N_(
        "Leads at or above the SQL threshold (%(threshold)s) converted no better than those below it:"
        " %(above)s of %(above_leads)s leads (95 %% interval %(above_low)s to %(above_high)s) against %(below)s"
        " of %(below_leads)s (%(below_low)s to %(below_high)s). Raise the threshold."
    ),
    "unclear": N_(
        "Leads at or above the SQL threshold (%(threshold)s) converted more often, but the intervals overlap:"
        " %(above)s of %(above_leads)s leads (95 %% interval %(above_low)s to %(above_high)s) against %(below)s"
        " of %(below_leads)s (%(below_low)s to %(below_high)s). Not enough evidence yet."
    ),
    "no_data": N_("No lead on one side of the SQL threshold (%(threshold)s): nothing to compare yet."),
    "no_conversion": N_("No lead converted in this period: nothing to compare yet."),
}
BEHAVIOURS = {"rule": N_("Rule"), "page": N_("Page pattern"), "download": N_("Download")}
FLAGS = {"too_high": N_("too high"), "too_low": N_("too low")}
TIMINGS = {"first_visit": N_("From the first visit"), "mql": N_("From becoming an MQL")}


def percent(value: float, language: str) -> str:
    return f"{number(round(100 * value, 1), language)} %"


def verdict_words(test: ThresholdTest, language: str) -> str:
    """Seed 000's test for a reader: which side converted better, with both rates and intervals."""
    values: dict[str, object] = {"threshold": number(test.threshold, language)}
    for name, side in (("above", test.above), ("below", test.below)):
        values.update(_side(name, side, language))
    return gettext(language, VERDICTS[test.verdict], **values)


def _side(name: str, side: Side, language: str) -> dict[str, str]:
    rate = side.rate or Interval(0.0, 0.0, 0.0)
    return {
        name: percent(rate.estimate, language),
        f"{name}_leads": number(side.leads, language),
        f"{name}_low": percent(rate.low, language),
        f"{name}_high": percent(rate.high, language),
    }
