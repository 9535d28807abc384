"""Segment calls as the beacon's event kinds, so one rule scores an action whichever door it came through.

A marketer writes ``when = { type = "download", url = "*/livre-blanc-a*" }`` once.  The beacon
sends that download as ``{"type": "download", "url": <file>, "props": {"page": <page>}}``; an
official Segment SDK sends ``track("File Downloaded", {url: <file>})`` with ``context.page.url``.
``TRACK_KINDS`` is the one table of which track names mean which kind.  A mapped call is put in
the beacon's shape (``shape``) and then checked by the beacon's own validator, so a kind needs
the same things through both doors: feedback and chat their ``campaign``, engaged time its
``seconds``, and a form identifies by the e-mail among its fields exactly as the beacon's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from tracker.domain.programme.goals import event_key
from tracker.web.validation import MAX_NAME, MAX_URL, optional_text

# Track names, compared in lower case with runs of spaces, "_" and "-" read as one space
# ("File Downloaded", "file_downloaded"), and the beacon kind each one means.  Any other
# name is a custom event of that name.  README.md ("Segment API") shows this table.
TRACK_KINDS: Mapping[str, str] = {
    # The beacon's own kinds, by their own names ("identify" and "custom" have calls of their own).
    "page": "page",
    "download": "download",
    "click": "click",
    "outbound": "outbound",
    "form": "form",
    "engaged": "engaged",
    "chat": "chat",
    "impression": "impression",
    "close": "close",
    "conversion": "conversion",
    # Common names for them: Segment's "Object Action" naming, and Google Analytics 4's events.
    "page viewed": "page",
    "page view": "page",
    "file downloaded": "download",
    "file download": "download",
    "link clicked": "click",
    "button clicked": "click",
    "outbound link clicked": "outbound",
    "outbound click": "outbound",
    "form submitted": "form",
    "form submit": "form",
}
# Where each kind's ``url`` points, as the beacon sends it: downloads and outbound links at
# the link followed (the page it was on goes to ``props.page``), page views at the page, and
# every other kind at the page it happened on.
LINK_KINDS = frozenset({"download", "outbound"})
# Properties holding the link's target, first found wins; a relative one is read against the page.
LINK_PROPERTIES = ("url", "href", "link_url", "file_url", "file")
# Properties naming the event as the beacon's ``name`` does: the form, the marked element.
NAME_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "form": ("form_name", "formName", "form_id", "formId", "form"),
    "click": ("name", "label", "text"),
}


def kind_of(event: str) -> str | None:
    """The beacon kind a track's event name means, None when it is a custom event."""
    # Compared as the programme's goals compare event names.
    return TRACK_KINDS.get(event_key(event))


def shape(kind: str, properties: Mapping[str, Any], page: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A call's ``properties`` and ``context.page`` as the beacon sends ``kind`` (``validation.incoming`` checks it).

    Raises ``Invalid`` naming the Segment field when a property read here has the wrong type.
    """
    page_url = optional_text(page.get("url"), f"{where}.context.page.url", MAX_URL) or ""
    props = dict(properties)
    event: dict[str, Any] = {"type": kind, "props": props}
    if kind in LINK_KINDS:
        link = _first(properties, LINK_PROPERTIES, where, MAX_URL)
        event["url"] = urljoin(page_url, link[1]) if link else page_url
        if page_url:
            props["page"] = page_url
    elif kind == "page":
        event["url"] = _text(properties, "url", where, MAX_URL) or page_url
        referrer = _text(properties, "referrer", where, MAX_URL)
        event["ref"] = referrer or optional_text(page.get("referrer"), f"{where}.context.page.referrer", MAX_URL)
    else:
        event["url"] = page_url or _text(properties, "url", where, MAX_URL)
    named = _first(properties, NAME_PROPERTIES.get(kind, ()), where, MAX_NAME)
    if named:
        event["name"] = named[1]
        if kind == "form":
            del props[named[0]]  # a form's props are its fields, and its name is not one of them
    return event


def _first(properties: Mapping[str, Any], keys: tuple[str, ...], where: str, limit: int) -> tuple[str, str] | None:
    """The first of ``keys`` holding a non-empty string, and that string."""
    for key in keys:
        if value := _text(properties, key, where, limit):
            return key, value
    return None


def _text(properties: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    return optional_text(properties.get(key), f"{where}.properties.{key}", limit) or ""
