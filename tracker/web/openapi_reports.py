"""The calibration reports in the OpenAPI document: conversion, behaviours, distribution, CSV tables."""

from __future__ import annotations

from typing import get_args

from tracker.domain.calibration.behaviours import KINDS as BEHAVIOUR_KINDS
from tracker.domain.calibration.threshold import CRITERIA, Verdict
from tracker.domain.facts import STAGES
from tracker.domain.outcomes import KINDS
from tracker.web.calibration import MAX_MIN_VOLUME, MAX_PERIOD_DAYS, MAX_WINDOW_DAYS, MIN_WIDTH, PERIOD_DAYS, TABLES
from tracker.web.openapi_parts import Schema, errors, ok, operation, query

_NUMBER: Schema = {"type": "number"}
_COUNT: Schema = {"type": "integer", "minimum": 0}
_INTERVAL: Schema = {
    "type": ["object", "null"],
    "description": "an estimate with its 95 % interval (null without data)",
    "properties": {"estimate": _NUMBER, "low": _NUMBER, "high": _NUMBER},
}
BAND: Schema = {
    "type": "object",
    "properties": {
        "low": _NUMBER,
        "high": {"type": ["number", "null"], "description": "null: the last, open band"},
        "leads": _COUNT,
        "converted": _COUNT,
        "rate": _INTERVAL,
    },
}
_SIDE: Schema = {"type": "object", "properties": {"leads": _COUNT, "converted": _COUNT, "rate": _INTERVAL}}
_CUT: Schema = {
    "type": ["object", "null"],
    "properties": {
        "threshold": _NUMBER,
        "leads": _COUNT,
        "converted": _COUNT,
        "precision": _NUMBER,
        "recall": _NUMBER,
        "f1": _NUMBER,
    },
}
_HEADER: dict[str, Schema] = {
    "site": {"type": "string"},
    "since": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
    "score": {"type": "string"},
    "converting": {"type": "array", "items": {"enum": list(KINDS)}},
    "leads": _COUNT,
    "converted": _COUNT,
    "rate": _INTERVAL,
}
_CONVERSION: Schema = {
    "type": "object",
    "properties": {
        **_HEADER,
        "width": _NUMBER,
        "bands": {"type": "array", "items": BAND},
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "stage": {"enum": list(STAGES)},
                    "leads": _COUNT,
                    "converted": _COUNT,
                    "rate": _INTERVAL,
                },
            },
        },
        "grades": {
            "type": "array",
            "description": "conversion by combined grade, best first, read with the scores; only when the"
            " programme declares a [grade]",
            "items": {
                "type": "object",
                "properties": {"grade": {"type": "string"}, "leads": _COUNT, "converted": _COUNT, "rate": _INTERVAL},
            },
        },
        "threshold": {
            "type": "object",
            "properties": {
                "sql": {"type": ["number", "null"]},
                "test": {
                    "type": ["object", "null"],
                    "properties": {
                        "above": _SIDE,
                        "below": _SIDE,
                        "verdict": {"enum": list(get_args(Verdict))},
                        "statement": {"type": "string"},
                    },
                },
                "criterion": {"enum": list(CRITERIA)},
                "min_volume": _COUNT,
                "current": _CUT,
                "best": _CUT,
            },
        },
    },
}
_BEHAVIOURS: Schema = {
    "type": "object",
    "properties": {
        **_HEADER,
        "window_days": _NUMBER,
        "behaviours": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"enum": list(BEHAVIOUR_KINDS)},
                    "key": {"type": "string"},
                    "score": {"type": ["string", "null"]},
                    "points": {"type": ["number", "null"]},
                    "converters": _COUNT,
                    "converters_share": _NUMBER,
                    "others": _COUNT,
                    "others_share": _NUMBER,
                    "lift": _INTERVAL,
                    "suggested_points": {"type": ["number", "null"]},
                    "flag": {"enum": ["too_high", "too_low", None]},
                },
            },
        },
    },
}
_SPREAD = {"type": ["number", "null"]}
_DISTRIBUTION: Schema = {
    "type": "object",
    "properties": {
        **_HEADER,
        "width": _NUMBER,
        "scores": {"type": "object", "additionalProperties": {"type": "array", "items": BAND}},
        "time_to_conversion": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "from": {"enum": ["first_visit", "mql"]},
                    "count": _COUNT,
                    "q1_seconds": _SPREAD,
                    "median_seconds": _SPREAD,
                    "q3_seconds": _SPREAD,
                },
            },
        },
    },
}


def _parameters() -> list[Schema]:
    return [
        query("since", f"start of the period, ISO 8601 or POSIX seconds (default: {PERIOD_DAYS} days before until)"),
        query(
            "until",
            f"end of the period, excluded (default: the end of the current minute); at most {MAX_PERIOD_DAYS} days"
            " after since",
        ),
        query("score", "the score banded and tested (default: the primary score)"),
        query("width", f"score band width in points, at least {MIN_WIDTH} (default: a sixth of the SQL threshold)"),
        query(
            "converting",
            f"outcome kinds that count as a conversion, comma-separated among {', '.join(KINDS)} (default: won)",
        ),
        query(
            "window", f"days before a conversion that count, 1 to {MAX_WINDOW_DAYS} (default 30)", {"type": "integer"}
        ),
        query("criterion", "what the best threshold maximises: f1 (default) or precision", {"enum": list(CRITERIA)}),
        query(
            "min_volume",
            f"fewest leads a threshold selects for precision, 1 to {MAX_MIN_VOLUME} (default 20)",
            {"type": "integer"},
        ),
        query("site", "with a console session: the site (default: the first)"),
    ]


def _report(name: str, summary: str, schema: Schema) -> Schema:
    return {
        "get": operation(
            f"report_{name}", summary, "marketing", ok(schema) | errors(400, 401, 403, 404), parameters=_parameters()
        )
    }


def _csv(table: str) -> Schema:
    return {
        "get": operation(
            f"report_{table}_csv",
            f"The {table} table of the calibration reports as CSV",
            "marketing",
            {"200": {"description": "the file", "content": {"text/csv": {"schema": {"type": "string"}}}}}
            | errors(400, 401, 403, 404),
            parameters=_parameters(),
        )
    }


def report_paths() -> Schema:
    return {
        "/api/reports/conversion": _report(
            "conversion",
            "Conversion by score band and stage; do leads above the SQL threshold convert better; the best threshold",
            _CONVERSION,
        ),
        "/api/reports/behaviours": _report(
            "behaviours", "Rules, page patterns and downloads before conversion: shares, lift, points", _BEHAVIOURS
        ),
        "/api/reports/distribution": _report(
            "distribution",
            "Each score's histogram and the time from first visit and from MQL to conversion",
            _DISTRIBUTION,
        ),
        **{f"/api/reports/{table}.csv": _csv(table) for table in TABLES},
    }
