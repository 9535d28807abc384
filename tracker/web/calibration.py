"""Handlers of the calibration reports: ``GET /api/reports/conversion``, ``/behaviours`` and
``/distribution`` as JSON, and their tables as CSV (``/api/reports/<table>.csv``).

A marketing key (the programme is marketing's to tune) or a console session whose role may read
reports (``?site=KEY``).  The query parameters are read here for the API and the console page
alike (``calibration_options``): ``since`` and ``until`` (the period, by default the 90 days up
to now), ``score`` (the primary one by default), ``width`` of the score bands, ``converting``
(the outcome kinds that count as a conversion, ``won`` by default), ``window`` (days before a
conversion that count as "before", 30 by default), ``criterion`` (``f1`` or ``precision``) and
``min_volume`` (the fewest leads a threshold must select for precision to count).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.calibration.bands import band_json
from tracker.domain.calibration.intervals import Interval, interval_json
from tracker.domain.calibration.report import (
    DEFAULT_CONVERTING,
    DEFAULT_MIN_VOLUME,
    DEFAULT_WINDOW,
    CalibrationReport,
    GroupRow,
    Options,
    default_width,
)
from tracker.domain.calibration.threshold import CRITERIA, Cut, Side
from tracker.domain.clock import iso
from tracker.domain.outcomes import KINDS
from tracker.domain.sites import Site
from tracker.errors import BadRequest
from tracker.services.calibration_apart import report_of
from tracker.services.exports import csv_bytes, csv_cell
from tracker.services.runtime import Runtime
from tracker.web.admin.calibration_words import verdict_words
from tracker.web.auth import caller
from tracker.web.params import int_param, number_param, text_param, time_param
from tracker.web.responses import json_response

DAY = 86400.0
MINUTE = 60.0
PERIOD_DAYS = 90
# A longer period reads more history than a page should wait for; two years covers any season.
MAX_PERIOD_DAYS = 731
MAX_WINDOW_DAYS = 365
WINDOW_DAYS = round(DEFAULT_WINDOW / DAY)
MAX_MIN_VOLUME = 1_000_000
# Scores are kept to two decimals: a narrower band could only ever hold one value.
MIN_WIDTH = 0.01
MAX_WIDTH = 1_000_000.0
LAST_MOMENT = datetime(9999, 12, 31, tzinfo=UTC).timestamp()  # a report's dates must print


def calibration_options(site: Site, params: Mapping[str, str], now: float) -> Options:
    """The report a query string asks for; ``BadRequest`` names the parameter at fault."""
    scores = site.programme.scoring.scores
    score = text_param(params.get("score"), "score") or site.programme.primary_score
    if score is None or score not in scores:
        raise BadRequest(f"unknown score {score!r}" if score else "this site's programme has no score", field="score")
    end = _moment(params, "until", _this_minutes_end(now))
    start = _moment(params, "since", end - PERIOD_DAYS * DAY)
    if not start < end:
        raise BadRequest("since must be before until", field="since")
    if end - start > MAX_PERIOD_DAYS * DAY:
        raise BadRequest(f"the period must be at most {MAX_PERIOD_DAYS} days", field="since")
    width = number_param(params.get("width"), "width")
    if width is not None and not MIN_WIDTH <= width <= MAX_WIDTH:
        raise BadRequest(f"width must be from {MIN_WIDTH} to {MAX_WIDTH:g}", field="width")
    criterion = params.get("criterion") or "f1"
    if criterion not in CRITERIA:
        raise BadRequest(f"criterion must be one of: {', '.join(CRITERIA)}", field="criterion")
    window = int_param(params.get("window"), "window", minimum=1, maximum=MAX_WINDOW_DAYS, default=WINDOW_DAYS)
    return Options(
        start=start,
        end=end,
        score=score,
        width=width or default_width(site.programme.scoring, score),
        converting=_converting(params.get("converting")),
        window=window * DAY,
        criterion="precision" if criterion == "precision" else "f1",
        min_volume=int_param(
            params.get("min_volume"), "min_volume", minimum=1, maximum=MAX_MIN_VOLUME, default=DEFAULT_MIN_VOLUME
        ),
    )


def _this_minutes_end(now: float) -> float:
    """A period's default end: everything up to now, and the same for a minute, so that the same report
    asked again within it is the one kept (``services.kept_reports``)."""
    return math.ceil(now / MINUTE) * MINUTE


def _moment(params: Mapping[str, str], name: str, default: float) -> float:
    moment = time_param(params.get(name), name)
    if moment is None:
        return default
    if not 0 <= moment <= LAST_MOMENT:
        raise BadRequest(f"{name} must be between 1970 and 9999", field=name)
    return moment


def _converting(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_CONVERTING
    kinds = tuple(dict.fromkeys(kind.strip() for kind in raw.split(",") if kind.strip()))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise BadRequest(f"converting takes outcome kinds among: {', '.join(KINDS)}", field="converting")
    return kinds


# ---- JSON ---------------------------------------------------------------------------------


def _side(side: Side) -> dict[str, Any]:
    return {"leads": side.leads, "converted": side.converted, "rate": interval_json(side.rate)}


def _cut(cut: Cut | None) -> dict[str, Any] | None:
    if cut is None:
        return None
    return {
        "threshold": cut.threshold,
        "leads": cut.leads,
        "converted": cut.converted,
        "precision": cut.precision,
        "recall": cut.recall,
        "f1": cut.f1,
    }


def _header(site: Site, report: CalibrationReport) -> dict[str, Any]:
    options = report.options
    return {
        "site": site.key,
        "since": iso(options.start),
        "until": iso(options.end),
        "score": options.score,
        "converting": list(options.converting),
        "leads": report.leads,
        "converted": report.converted,
        "rate": interval_json(report.rate),
    }


def _group(name: str, row: GroupRow) -> dict[str, Any]:
    return {name: row.group, "leads": row.leads, "converted": row.converted, "rate": interval_json(row.rate)}


def conversion_body(site: Site, report: CalibrationReport) -> dict[str, Any]:
    test = report.test
    # Only a programme that declares a grade has conversion by grade.
    grades = {} if report.grades is None else {"grades": [_group("grade", row) for row in report.grades]}
    return {
        **_header(site, report),
        "width": report.options.width,
        "bands": [band_json(band) for band in report.bands],
        "stages": [_group("stage", row) for row in report.stages],
        **grades,
        "threshold": {
            "sql": report.sql,
            "test": None
            if test is None
            else {
                "above": _side(test.above),
                "below": _side(test.below),
                "verdict": test.verdict,
                "statement": verdict_words(test, "en"),
            },
            "criterion": report.options.criterion,
            "min_volume": report.options.min_volume,
            "current": _cut(report.current),
            "best": _cut(report.best),
        },
    }


def behaviours_body(site: Site, report: CalibrationReport) -> dict[str, Any]:
    return {
        **_header(site, report),
        "window_days": report.options.window / DAY,
        "behaviours": [
            {
                "kind": b.kind,
                "key": b.key,
                "score": b.score,
                "points": b.points,
                "converters": b.converters,
                "converters_share": b.converters_share,
                "others": b.others,
                "others_share": b.others_share,
                "lift": interval_json(b.lift),
                "suggested_points": b.suggested,
                "flag": b.flag,
            }
            for b in report.behaviours
        ],
    }


def distribution_body(site: Site, report: CalibrationReport) -> dict[str, Any]:
    return {
        **_header(site, report),
        "width": report.options.width,
        "scores": {name: [band_json(band) for band in found] for name, found in report.distributions.items()},
        "time_to_conversion": [
            {
                "from": timing.start,
                "count": timing.spread.count if timing.spread else 0,
                "q1_seconds": timing.spread.q1 if timing.spread else None,
                "median_seconds": timing.spread.median if timing.spread else None,
                "q3_seconds": timing.spread.q3 if timing.spread else None,
            }
            for timing in report.timings
        ],
    }


# ---- CSV ----------------------------------------------------------------------------------

Table = tuple[list[str], list[list[Any]]]


def _rate_cells(interval: Interval | None) -> list[Any]:
    return [None, None, None] if interval is None else [interval.estimate, interval.low, interval.high]


def conversion_table(report: CalibrationReport) -> Table:
    header = ["group", "low", "high", "leads", "converted", "rate", "rate_low", "rate_high"]
    rows = [["band", b.low, b.high, b.leads, b.converted, *_rate_cells(b.rate)] for b in report.bands]
    rows += [[f"stage:{s.group}", None, None, s.leads, s.converted, *_rate_cells(s.rate)] for s in report.stages]
    rows += [[f"grade:{g.group}", None, None, g.leads, g.converted, *_rate_cells(g.rate)] for g in report.grades or []]
    if report.test is not None:
        above, below, sql = report.test.above, report.test.below, report.test.threshold
        rows.append(["above_sql", sql, None, above.leads, above.converted, *_rate_cells(above.rate)])
        rows.append(["below_sql", None, sql, below.leads, below.converted, *_rate_cells(below.rate)])
    return header, rows


def behaviours_table(report: CalibrationReport) -> Table:
    header = [
        "kind",
        "key",
        "score",
        "points",
        "converters",
        "converters_share",
        "others",
        "others_share",
        "lift",
        "lift_low",
        "lift_high",
        "suggested_points",
        "flag",
    ]
    rows = [
        [
            b.kind,
            csv_cell(b.key),
            b.score,
            b.points,
            b.converters,
            b.converters_share,
            b.others,
            b.others_share,
            *_rate_cells(b.lift),
            b.suggested,
            b.flag,
        ]
        for b in report.behaviours
    ]
    return header, rows


def distribution_table(report: CalibrationReport) -> Table:
    header = ["score", "low", "high", "leads", "converted"]
    rows = [[name, b.low, b.high, b.leads, b.converted] for name, found in report.distributions.items() for b in found]
    return header, rows


def timing_table(report: CalibrationReport) -> Table:
    header = ["from", "count", "q1_seconds", "median_seconds", "q3_seconds"]
    rows = [
        [t.start, t.spread.count, t.spread.q1, t.spread.median, t.spread.q3]
        if t.spread
        else [t.start, 0, None, None, None]
        for t in report.timings
    ]
    return header, rows


TABLES: dict[str, Callable[[CalibrationReport], Table]] = {
    "conversion": conversion_table,
    "behaviours": behaviours_table,
    "distribution": distribution_table,
    "timing": timing_table,
}


# ---- routes -------------------------------------------------------------------------------


async def _report(request: Request) -> tuple[Site, CalibrationReport]:
    who = await caller(request, "marketing", "reports.read")
    runtime: Runtime = request.app.state.runtime
    options = calibration_options(who.site, request.query_params, runtime.clock())
    return who.site, await report_of(runtime, request.app.state.kept_reports, who.site, options)


async def conversion_report(request: Request) -> Response:
    return json_response(conversion_body(*await _report(request)))


async def behaviours_report(request: Request) -> Response:
    return json_response(behaviours_body(*await _report(request)))


async def distribution_report(request: Request) -> Response:
    return json_response(distribution_body(*await _report(request)))


async def _csv(request: Request, table: str) -> Response:
    site, report = await _report(request)
    header, rows = TABLES[table](report)
    day = datetime.fromtimestamp(report.options.end, UTC).strftime("%Y%m%d")
    return Response(
        csv_bytes([header, *rows]),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{table}-{site.key}-{day}.csv"'},
    )


async def conversion_csv(request: Request) -> Response:
    return await _csv(request, "conversion")


async def behaviours_csv(request: Request) -> Response:
    return await _csv(request, "behaviours")


async def distribution_csv(request: Request) -> Response:
    return await _csv(request, "distribution")


async def timing_csv(request: Request) -> Response:
    return await _csv(request, "timing")
