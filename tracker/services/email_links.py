"""E-mail links: mint them for a mailing list, and record what their clicks and opens tell.

tracker sends no e-mail.  A marketer mints, for each known recipient of a message, a click link
per URL of the message and an open pixel (``mint``); the e-mail tool sends them.  Then:

* an **open** is an ``email_open`` event on the person's e-mail channel, a device of its own
  (``m:<person id>``, type ``email``), so the timeline shows what happened in the mailbox apart
  from what happened on the website;
* a **click** is an ``email_click`` event on the browser that opened the link, which from now on
  belongs to the person (the caller sets its visitor cookie): a browser never seen before becomes a
  new device of the person, an anonymous one joins the person with its history.  A browser that
  belongs to another identified person is left as it is (two identified people are never merged,
  ``services.identify``): the click goes to the person's e-mail channel;
* a click or an open a scanner or a privacy proxy caused (``domain.email_signals``) is recorded,
  flagged, on the e-mail channel, and changes no browser: it scores only if the programme says so.

Recipients are people the site already knows by e-mail: an address nobody holds is refused, with
its reason, rather than creating a person (a mailing list is not a sign of interest, and a person
created from it would count as known without ever having visited).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tracker.domain.devices import device_of
from tracker.domain.email_links import EmailLinks, Link
from tracker.domain.email_signals import click_flag, open_flag
from tracker.domain.facts import EMAIL_FLAG, Incoming
from tracker.domain.identity import IdentityError, is_identified, normalise_email
from tracker.domain.people import PersonRecord
from tracker.domain.sites import IPAddress, Site
from tracker.services.identify import start_visitor
from tracker.services.ingest import Subject, record, resume_subject, save_subject
from tracker.store import Queries, Store

# The device type of a person's e-mail channel.
MAIL_DEVICE = "email"
UNKNOWN_PERSON = "unknown_person: nobody on this site has this e-mail; links are only minted for known people"


@dataclass(frozen=True, slots=True)
class Minted:
    """One recipient's links: a click token per URL, in the order given, and an open token."""

    index: int
    email: str
    person_id: int
    clicks: list[str]
    open: str


@dataclass(frozen=True, slots=True)
class Refused:
    index: int
    email: Any
    reason: str


async def mint(
    store: Store, signer: EmailLinks, site: Site, campaign: str, urls: Sequence[str], emails: Sequence[Any], now: float
) -> tuple[list[Minted], list[Refused]]:
    """Links for every known recipient of ``emails``; the others refused with their reason.

    ``campaign`` and ``urls`` are already checked (``email_links.campaign_name``, ``safe_target``).
    """
    refused: list[Refused] = []
    wanted: list[tuple[int, str]] = []
    for index, raw in enumerate(emails):
        try:
            wanted.append((index, normalise_email(raw)))
        except IdentityError as exc:
            refused.append(Refused(index, raw, f"invalid_email: {exc}"))
    known = await store.read(lambda q: q.person_ids_by_email(site.id, list({email for _, email in wanted})))
    minted: list[Minted] = []
    for index, email in wanted:
        person_id = known.get(email)
        if person_id is None:
            refused.append(Refused(index, email, UNKNOWN_PERSON))
            continue
        clicks = [signer.click_token(Link(site.id, person_id, campaign, now, url)) for url in urls]
        minted.append(
            Minted(index, email, person_id, clicks, signer.open_token(Link(site.id, person_id, campaign, now)))
        )
    refused.sort(key=lambda refusal: refusal.index)
    return minted, refused


async def record_click(
    q: Queries,
    site: Site,
    link: Link,
    *,
    browser: str | None,
    user_agent: str,
    address: IPAddress | None,
    now: float,
    make_visitor_id: Callable[[], str],
) -> str | None:
    """Record the click of ``link`` from the browser whose device is ``browser`` (from its cookie).

    Returns the device the browser carries from now on (the caller signs it into its cookie), or
    None to leave the browser as it is.
    """
    person = await _person_of(q, site, link)
    if person is None:
        return None
    first_open = await q.first_email_open(person.id, link.campaign)
    flag = click_flag(user_agent, address, minted_at=link.minted_at, first_open=first_open, now=now)
    event = Incoming("email_click", now, name=link.campaign, url=link.url, props={EMAIL_FLAG: flag} if flag else {})
    if flag is not None:
        await _record_on_mail_channel(q, site, person, event, now, make_visitor_id)
        return None
    device = device_of(user_agent)
    found = await q.device_and_person(browser, site.id) if browser is not None else None
    if found is None:
        # A browser never seen before: a new device of the person.
        visitor = await start_visitor(q, person, device.type, device.browser, now, make_visitor_id)
        subject = Subject(person, visitor)
    elif found[1].id == person.id or (not is_identified(found[1]) and found[0].bot is None):
        subject = resume_subject(*found, device.type, device.browser, now)
        if subject.person.id != person.id:
            # An anonymous browser: the click identifies it, so its history joins the person's.
            event = replace(event, email=person.email, user_id=person.user_id)
    else:
        # Another identified person's browser (or a bot's): it stays theirs.
        await _record_on_mail_channel(q, site, person, event, now, make_visitor_id)
        return None
    await record(q, site, subject, event, now, make_visitor_id)
    await save_subject(q, subject)
    return subject.visitor.id


async def record_open(
    q: Queries,
    site: Site,
    link: Link,
    *,
    user_agent: str,
    address: IPAddress | None,
    now: float,
    make_visitor_id: Callable[[], str],
) -> None:
    person = await _person_of(q, site, link)
    if person is None:
        return
    flag = open_flag(user_agent, address)
    event = Incoming("email_open", now, name=link.campaign, props={EMAIL_FLAG: flag} if flag else {})
    await _record_on_mail_channel(q, site, person, event, now, make_visitor_id)


async def _person_of(q: Queries, site: Site, link: Link) -> PersonRecord | None:
    """The link's person, locked (a merged-away id resolves); None if erased or of another site."""
    person_id = await q.resolve_person_id(link.person_id)
    person = await q.person(person_id, for_update=True) if person_id is not None else None
    return person if person is not None and person.site_id == site.id == link.site_id else None


async def _record_on_mail_channel(
    q: Queries, site: Site, person: PersonRecord, event: Incoming, now: float, make_visitor_id: Callable[[], str]
) -> None:
    channel = f"m:{person.id}"
    found = await q.device_and_person(channel, site.id)
    if found is None:
        subject = Subject(person, await start_visitor(q, person, MAIL_DEVICE, "", now, lambda: channel))
    else:
        subject = resume_subject(*found, MAIL_DEVICE, "", now)
    await record(q, site, subject, event, now, make_visitor_id)
    await save_subject(q, subject)
