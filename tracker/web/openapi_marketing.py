"""The marketing key's routes in the OpenAPI document: internal-traffic links, ignored traffic, what-if,
experiments and e-mail links."""

from __future__ import annotations

from tracker.domain.email_links import LINK_SECONDS, MAX_CAMPAIGN, MAX_TARGET
from tracker.domain.facts import STAGES
from tracker.services.abuse import (
    BY_HEADLESS,
    BY_USER_AGENT,
    BY_WEBDRIVER,
    FLAGGED,
    INTERNAL,
    INTERNAL_LINK_SECONDS,
    TOO_FAST,
)
from tracker.services.what_if import MAX_DAYS
from tracker.web.email import MAX_RECIPIENTS, MAX_URLS
from tracker.web.openapi_parts import Schema, content, errors, header_param, ok, operation, path_param, query
from tracker.web.openapi_reports import BAND
from tracker.web.what_if import DEFAULT_DAYS

# Every reason ``services.abuse`` counts ignored traffic under.
_REASONS = (BY_USER_AGENT, BY_HEADLESS, BY_WEBDRIVER, TOO_FAST, FLAGGED, INTERNAL)

_INTERNAL_LINK: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "expires_at": {"type": "string", "format": "date-time"},
    },
}
_IGNORED: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "since": {"type": "string", "format": "date"},
        "counts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "reason": {"enum": list(_REASONS)},
                    "requests": {"type": "integer"},
                    "events": {"type": "integer"},
                },
            },
        },
    },
}
_STAGE_COUNTS: Schema = {"type": "object", "properties": {stage: {"type": "integer"} for stage in STAGES}}
_COUNTS: Schema = {"type": "array", "items": {"type": "integer"}}
_WHAT_IF_BODY: Schema = {
    "type": "object",
    "required": ["programme"],
    "properties": {
        "programme": {"type": "string", "description": "the draft programme's TOML"},
        "days": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DAYS,
            "default": DEFAULT_DAYS,
            "description": "replay the people seen in the last N days (their whole history)",
        },
        "again": {
            "type": "boolean",
            "default": False,
            "description": "replay anew, even if a run answered this draft over these days a moment ago",
        },
    },
}
_WHAT_IF: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "days": {"type": "integer"},
        "version": {"type": "integer", "description": "the active version the draft is compared with"},
        "people": {"type": "integer", "description": "people replayed"},
        "changed": {"type": "integer", "description": "people a rescore with the draft would move to another stage"},
        "no_longer_qualify": {
            "type": "integer",
            "description": "people whose new scores are below their stage (stages only move forward: they keep it)",
        },
        "stages": {"type": "object", "properties": {"before": _STAGE_COUNTS, "after": _STAGE_COUNTS}},
        "scores": {
            "type": "object",
            "description": "per score, counts per band now (`before`) and with the draft (`after`): below the "
            "first edge, between each two edges, at or above the last",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "edges": {"type": "array", "items": {"type": "number"}},
                    "before": _COUNTS,
                    "after": _COUNTS,
                },
            },
        },
        "people_listed": {
            "type": "array",
            "description": "the first 200 people who change stage or no longer qualify",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "email": {"type": ["string", "null"]},
                    "before": {"enum": list(STAGES)},
                    "after": {"enum": list(STAGES)},
                    "warranted": {"enum": list(STAGES), "description": "the stage the new scores alone warrant"},
                },
            },
        },
        "conversion": {
            "type": ["object", "null"],
            "description": "the leads' conversion by band of the primary score now (`before`) and with the draft"
            " (`after`), over the same bands; each lead read at its conversion (a won outcome) in the period, else"
            " now, as the conversion report reads it; null when neither programme has a score",
            "properties": {
                "score": {"type": "string"},
                "width": {"type": "number"},
                "converting": {"type": "array", "items": {"type": "string"}},
                "before": {"type": "array", "items": BAND},
                "after": {"type": "array", "items": BAND},
            },
        },
    },
}

_RUN_STATUSES = ("running", "done", "failed", "interrupted", "superseded")
_WHAT_IF_RUN: Schema = {
    "type": "object",
    "properties": {
        "run": {"type": "integer"},
        "status": {
            "enum": list(_RUN_STATUSES),
            "description": "interrupted: the server stopped (or the replay's process died) before its end; "
            "superseded: the same key asked another question meanwhile",
        },
        "days": {"type": "integer"},
        "version": {"type": "integer", "description": "the active version the draft is compared with"},
        "people": {"type": "integer", "description": "people to replay when the run started"},
        "people_done": {"type": "integer"},
        "started_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "error": {"type": ["string", "null"], "description": "why a failed run failed"},
    },
}
_WHAT_IF_RUN_RESULT: Schema = {
    **_WHAT_IF_RUN,
    "properties": {
        **_WHAT_IF_RUN["properties"],
        "result": {"anyOf": [_WHAT_IF, {"type": "null"}], "description": "the what-if, once the run is done"},
    },
}
_PREFER = (
    "`wait=N`: seconds to wait for the replay (default 20, at most 50) before answering 202; "
    "`respond-async`: answer 202 at once (RFC 7240)"
)
_NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
_ARM: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "control, original or a variant id; held_out or routed"},
        "share": {**_NUMBER_OR_NULL, "description": "percent; null once ended"},
        "people": {"type": "integer"},
        "conversions": {"type": "integer"},
        "rate": {"type": "number"},
        "rate_low": {"type": "number"},
        "rate_high": {"type": "number"},
        "uplift": {**_NUMBER_OR_NULL, "description": "rate minus the reference arm's"},
        "uplift_low": _NUMBER_OR_NULL,
        "uplift_high": _NUMBER_OR_NULL,
        "significant": {"type": "boolean", "description": "the uplift's 95 % interval leaves out zero"},
    },
}
_EXPERIMENT: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "campaign": {"type": "string"},
        "running": {"type": "boolean", "description": "false: the experiment ended; its log is still read"},
        "window_days": {"type": "number"},
        "goals": {"type": "array", "items": {"enum": ["conversion", "won"]}},
        "reference": {"type": ["string", "null"], "description": "the arm uplifts compare with"},
        "arms": {"type": "array", "items": _ARM},
    },
}

_SALES_HOLDOUT: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "share": {**_NUMBER_OR_NULL, "description": "percent of new SQLs held out now; null: off"},
        "window_days": {"type": "number"},
        "since": {"type": ["string", "null"], "format": "date-time", "description": "the first lead held out"},
        "reference": {"const": "held_out"},
        "arms": {"type": "array", "items": _ARM},
    },
}

_EMAIL_LINKS_REQUEST: Schema = {
    "type": "object",
    "required": ["campaign", "urls", "recipients"],
    "properties": {
        "campaign": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CAMPAIGN,
            "description": 'the e-mail campaign, as rules name it: when = { type = "email_click", name = ... }',
        },
        "urls": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_URLS,
            "items": {"type": "string", "format": "uri", "maxLength": MAX_TARGET},
            "description": "absolute http(s) URLs the message links to; each recipient gets a link per URL",
        },
        "recipients": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RECIPIENTS,
            "items": {"type": "string", "format": "email"},
            "description": "e-mail addresses of people the site knows; others are refused by row",
        },
    },
}
_EMAIL_LINKS: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "campaign": {"type": "string"},
        "urls": {"type": "array", "items": {"type": "string"}},
        "expires_at": {"type": "string", "format": "date-time"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "email": {"type": "string"},
                    "person_id": {"type": "integer"},
                    "clicks": {"type": "array", "items": {"type": "string", "format": "uri"}},
                    "open": {"type": "string", "format": "uri"},
                },
            },
        },
        "refused": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "field": {"type": "string"},
                    "email": {},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


def marketing_paths() -> Schema:
    return {
        "/api/internal-links": {
            "post": operation(
                "create_internal_link",
                "A link marking the browser that opens it as the site's own staff (not tracked), "
                f"for {INTERNAL_LINK_SECONDS // 86400} days",
                "marketing",
                {
                    "201": {
                        "description": "created: open `url` in the browser to exclude",
                        "content": content(_INTERNAL_LINK),
                    }
                }
                | errors(401, 403),
            )
        },
        "/api/ignored-traffic": {
            "get": operation(
                "ignored_traffic",
                "Bot and internal traffic, counted but never stored: requests and events per day and reason",
                "marketing",
                ok(_IGNORED) | errors(400, 401, 403),
                parameters=[query("days", "1 to 400 (default 30), today included", {"type": "integer", "minimum": 1})],
            )
        },
        "/api/programme/what-if": {
            "post": operation(
                "programme_what_if",
                "What publishing a programme would change: its replay over the stored history, nothing written",
                "marketing",
                ok(_WHAT_IF, "the replay is done")
                | {
                    "202": {
                        "description": "the replay goes on in the background: poll the run at `Location`",
                        "headers": {
                            "Location": {"description": "the run", "schema": {"type": "string"}},
                            "Retry-After": {"description": "seconds to the next poll", "schema": {"type": "integer"}},
                        },
                        "content": content(_WHAT_IF_RUN),
                    }
                }
                | errors(400, 401, 403, 413, 500),
                description="The draft over these days is replayed by a run in the background. The answer waits "
                "for it (20 seconds unless `Prefer` says otherwise): a run over by then answers 200 with the "
                "what-if, one still replaying answers 202 with its progress. The same draft over the same days "
                "gets the same run while it replays, and for 10 minutes after its end against the same active "
                "version, unless `again` is true. A run that failed answers 500 with its error.",
                parameters=[header_param("Prefer", _PREFER)],
                body=_WHAT_IF_BODY,
            )
        },
        "/api/programme/what-if/runs/{run_id}": {
            "get": operation(
                "what_if_run",
                "A what-if run of the key's site: its progress, and the what-if once done",
                "marketing",
                ok(_WHAT_IF_RUN_RESULT) | errors(400, 401, 403, 404),
                parameters=[path_param("run_id", {"type": "integer"}, "the run, from the POST's `Location`")],
            )
        },
        "/api/campaigns/{campaign_id}/experiment": {
            "get": operation(
                "campaign_experiment",
                "A campaign experiment's results: per arm, people, conversions within the window and the rate "
                "with its 95 % interval; uplift against the control (else the original) with Newcombe's interval",
                "marketing",
                ok(_EXPERIMENT) | errors(401, 403, 404),
                parameters=[path_param("campaign_id", {"type": "string"}, "the campaign's id in the programme")],
            )
        },
        "/api/sales-holdout": {
            "get": operation(
                "sales_holdout",
                "What the sales action adds: new SQLs held out of routing against those routed since the holdout "
                "began, won within the window, with the uplift's 95 % interval",
                "marketing",
                ok(_SALES_HOLDOUT) | errors(401, 403),
            )
        },
        "/api/email-links": {
            "post": operation(
                "create_email_links",
                "Signed click links and open pixels for the known recipients of one message, "
                f"valid {LINK_SECONDS // 86400} days",
                "marketing",
                {
                    "201": {
                        "description": "created, with each refused recipient and why",
                        "content": content(_EMAIL_LINKS),
                    }
                }
                | errors(400, 401, 403, 413),
                body=_EMAIL_LINKS_REQUEST,
            )
        },
    }
