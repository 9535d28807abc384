"""Accessibility of the console's forms: every field a person fills in has a label (a
``<label for>``, a wrapping ``<label>``, ``aria-label`` or ``aria-labelledby``), on every page an
admin can open, in both languages' markup (one is enough: labels are the same elements)."""

from __future__ import annotations

from html.parser import HTMLParser

from starlette.routing import Route

from .conftest import Server
from .test_admin import session_of
from .test_ingest import marc_journey

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Fields(HTMLParser):
    """The form fields of a page and the ids that labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if found.get("for"):
                self.labelled.add(str(found["for"]))
        elif tag in ("input", "select", "textarea") and found.get("type") not in UNLABELLED_TYPES:
            self.fields.append({**found, "tag": tag, "wrapped": "yes" if self.open_labels else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)


def unlabelled(html: str) -> list[str]:
    page = Fields()
    page.feed(html)
    return [
        f"<{field['tag']} name={field.get('name')!r} id={field.get('id')!r}>"
        for field in page.fields
        if not (
            field.get("wrapped")
            or field.get("aria-label")
            or field.get("aria-labelledby")
            or (field.get("id") and field["id"] in page.labelled)
        )
    ]


async def test_every_field_of_every_console_page_has_a_label(server: Server) -> None:
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]["id"]
    headers = await session_of(server, "admin")
    account = (await server.api("/api/accounts"))["accounts"][0]["id"]  # Marc's company
    samples = {"{person_id}": str(lead), "{campaign_id}": "sales-popup", "{key}": "demo", "{account_id}": str(account)}
    checked = 0
    for route in server.app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/admin") or "GET" not in (route.methods or set()):
            continue
        path = route.path
        for placeholder, value in samples.items():
            path = path.replace(placeholder, value)
        if "{" in path:
            continue
        answer = await server.http.get(path, headers=headers)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue  # stylesheets, scripts, downloads
        assert unlabelled(answer.text) == [], path
        checked += 1
    assert checked >= 20
