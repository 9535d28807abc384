"""Webhooks: subscriptions, what a delivery carries, and test deliveries.

The payload of every announcement is rendered at delivery time from the lead's story
(``services.leads``), so a CRM always receives the lead as it is when delivered.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from tracker.domain.clock import iso
from tracker.errors import BadRequest
from tracker.services.accounts import account_story
from tracker.services.leads import lead_story
from tracker.services.outbox import EVENTS, NO_PERSON, Render, headers, post
from tracker.services.sites import SiteRegistry
from tracker.store import Queries, Store

MAX_URL = 2000
STATUSES = ("pending", "delivered", "dead")
_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_subscription(url: Any, events: Any) -> tuple[str, list[str]]:
    """A subscription's URL and events, validated; every event when ``events`` is None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or _UNSAFE_URL.search(url):
        raise BadRequest(f"url must be an http(s) URL of at most {MAX_URL} characters", field="url")
    try:
        parts = urlsplit(url)
        # Reading the port checks it; httpx must accept the URL too, or every delivery would fail.
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        valid = False
    if not valid:
        raise BadRequest("url must be an http(s) URL with a host", field="url")
    if events is None:
        return url, list(EVENTS)
    if not isinstance(events, list) or not events or not all(event in EVENTS for event in events):
        raise BadRequest(f"events must be a non-empty list of: {', '.join(EVENTS)}", field="events")
    return url, list(dict.fromkeys(events))


async def add_webhook(store: Store, site_id: int, url: Any, events: Any, now: float, *, actor: str) -> dict[str, Any]:
    """Subscribe ``url`` to ``events``; the answer holds the signing secret, shown this once (audited)."""
    url, wanted = check_subscription(url, events)
    secret = new_secret()

    async def unit(q: Queries) -> int:
        webhook_id = await q.insert_webhook(site_id, url, secret, wanted, now)
        await q.insert_audit(
            site_id, now, actor, "webhook_add", None, {"webhook": webhook_id, "url": url, "events": wanted}
        )
        return webhook_id

    webhook_id = await store.write(unit)
    return {"id": webhook_id, "url": url, "events": wanted, "secret": secret, "created_at": iso(now)}


async def remove_webhook(store: Store, site_id: int, webhook_id: int, *, actor: str, now: float) -> bool:
    """Delete a subscription and its deliveries, sent or not; False if the site has no such webhook."""

    async def unit(q: Queries) -> bool:
        if not await q.delete_webhook(site_id, webhook_id):
            return False
        await q.insert_audit(site_id, now, actor, "webhook_remove", None, {"webhook": webhook_id})
        return True

    return await store.write(unit)


async def redeliver(store: Store, site_id: int, delivery_id: int, *, actor: str, now: float) -> bool:
    """Make a delivery due now with a fresh budget of attempts; False if the site has no such delivery."""

    async def unit(q: Queries) -> bool:
        if not await q.resend_delivery(site_id, delivery_id, now):
            return False
        await q.insert_audit(site_id, now, actor, "webhook_resend", None, {"delivery": delivery_id})
        return True

    return await store.write(unit)


async def webhooks_of(store: Store, site_id: int) -> list[dict[str, Any]]:
    """The site's subscriptions, without their secrets."""
    hooks = await store.read(lambda q: q.webhooks(site_id))
    return [{"id": h["id"], "url": h["url"], "events": h["events"], "created_at": iso(h["created_at"])} for h in hooks]


# ---------------------------------------------------------------------------
# Payloads


def payload(
    delivery_id: int,
    event: str,
    occurred_at: float,
    site_key: str,
    data: Mapping[str, Any],
    person: Any,
    account: Any = None,
) -> bytes:
    """The body of a delivery; an account's announcement carries the account (and no person) instead."""
    body = {
        "id": delivery_id,
        "event": event,
        "occurred_at": iso(occurred_at),
        "site": site_key,
        "data": dict(data),
        "person": person,
    }
    if account is not None:
        body["account"] = account
    return orjson.dumps(body)


def renderer(sites: SiteRegistry, clock: Callable[[], float]) -> Render:
    """Builds each delivery's body at sending time, from the person's story as it is then."""

    async def render(q: Queries, delivery: Mapping[str, Any]) -> bytes | None:
        site = sites.by_id(delivery["site_id"])
        if site is None:
            raise LookupError(f"site {delivery['site_id']} is not loaded")
        args = (delivery["id"], delivery["event"], delivery["occurred_at"], site.key, delivery["data"])
        if delivery["person_id"] == NO_PERSON:
            account = await account_story(q, site, delivery["data"]["account_id"], clock())
            return None if account is None else payload(*args, None, account)
        story = await lead_story(q, site, delivery["person_id"], clock())
        if story is None:
            return None  # erased since: there is nobody left to announce
        return payload(*args, story)

    return render


def sample(event: str, now: float) -> bytes:
    """What ``tracker webhooks test`` sends: Marc of the seed articles, sales-ready and routed."""
    samples: dict[str, dict[str, Any]] = {
        "person.identified": {"event_id": 3},
        "person.stage_changed": {"stage": "sql", "event_id": 7},
        "person.merged": {"merged_from": 2, "event_id": 3},
        "person.routed": {"route": "inside-sales", "queue": "inside-sales", "owner": "chloe", "reason": "stage:sql"},
        "score.threshold_crossed": {"score": "engagement", "level": "sql", "event_id": 7},
        "campaign.converted": {"campaign": "sales-popup", "event_id": 8},
        "person.outcome": {"kind": "won", "value": 24000.0, "reason": None, "event_id": 9},
        "account.stage_changed": {"account_id": 4, "stage": "renewal_due", "event_id": None},
        "account.score_crossed": {"account_id": 4, "score": "potential", "threshold": 30.0, "event_id": 7},
    }
    person = {
        "id": 1,
        "email": "marc@example.com",
        "user_id": None,
        "stage": "sql",
        "scores": {"engagement": 13.0, "fit": 0.0, "general": 0.0, "medical": 0.0},
        "profile": {"company": "Atelier Marc", "job_title": "Responsable achats"},
        "created_at": iso(now - 3600),
        "identified_at": iso(now - 1800),
        "last_seen_at": iso(now),
        "merged_ids": [2],
        "account": {"id": 4, "key": "group:crm-4412", "name": "Atelier Marc", "owner": "chloe"},
        "routing": {"queue": "inside-sales", "owner": "chloe", "route": "inside-sales", "assigned_at": iso(now)},
        "stages": [{"stage": stage, "ts": iso(now - 60), "event_id": 7} for stage in ("known", "mql", "sql")],
        "ledger": [
            {"score": "engagement", "rule_id": "quality-blog", "event_id": 7, "op": "add", "points": 2.0},
            {"score": "engagement", "rule_id": "wp-b", "event_id": 2, "op": "add", "points": 5.0},
            {"score": "engagement", "rule_id": "wp-a", "event_id": 1, "op": "add", "points": 2.0},
        ],
        "timeline": [{"id": 7, "type": "page", "url": "https://www.example.com/blog/qualite/sav", "ts": iso(now)}],
    }
    if event.startswith("account."):
        account = {
            "id": 4,
            "key": "group:crm-4412",
            "name": "Atelier Marc",
            "owner": "chloe",
            "score": 31.0,
            "scores": {"potential": 31.0},
            "stages": ["renewal_due"],
            "traits": {"plan": "pro", "renewal_date": "2027-01-15"},
            "members": [{"id": 1, "email": "marc@atelier-marc.fr", "stage": "sql", "scores": person["scores"]}],
        }
        return payload(0, event, now, "demo", samples[event], None, account)
    return payload(0, event, now, "demo", samples[event], person)


async def send_test(
    url: str, secret: str, event: str, now: float, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[int | None, str, dict[str, str]]:
    """POST a signed sample; the HTTP status, what went wrong ("" for a 2xx) and the headers sent."""
    check_subscription(url, [event])
    body = sample(event, now)
    sent = headers(secret, body, int(now), event, 0, 1)
    async with httpx.AsyncClient(timeout=10.0, transport=transport) as client:
        status, error = await post(client, url, body, sent)
    return status, error, sent
