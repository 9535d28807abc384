"""``tracker email link`` (tracker/cli_email.py): a signed link per URL and the open pixel for a
known person, refused for an unknown one or an unsafe URL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tracker.config import Settings
from tracker.domain.email_links import EmailLinks
from tracker.store import Queries, open_store

from .test_cli import run


def known_person(data: Path, email: str) -> int:
    async def write() -> int:
        store = open_store(str(data / "tracker.db"))
        await store.open()
        try:

            async def unit(q: Queries) -> int:
                site = await q.site_by_key("acme")
                assert site is not None
                person = await q.insert_person(site.id, 0.0, email)
                return int(person.id)

            return await store.write(unit)
        finally:
            await store.close()

    return asyncio.run(write())


def test_a_link_per_url_and_the_pixel_for_a_known_person(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "add", "acme", "--origin", "https://www.acme.fr", *data)[0] == 0
    person = known_person(tmp_path, "marc@acme.fr")
    code, out, err = run(
        "email", "link", "--person", "Marc@acme.fr", "--campaign", "newsletter-nov", "--base-url",
        "https://t.acme.fr/", "https://www.acme.fr/a", "https://www.acme.fr/b", *data,
    )  # fmt: skip
    assert code == 0, err
    first, second, pixel = out.split()
    assert first.startswith("https://t.acme.fr/r/") and pixel.startswith("https://t.acme.fr/o/")
    assert pixel.endswith(".gif") and f"person {person}, campaign newsletter-nov" in err
    links = EmailLinks(Settings(data_dir=tmp_path).signing_secret())
    link = links.click(second.removeprefix("https://t.acme.fr/r/"), time.time()).link
    assert link is not None and (link.person_id, link.campaign, link.url) == (
        person,
        "newsletter-nov",
        "https://www.acme.fr/b",
    )


def test_unknown_people_sites_and_unsafe_urls_are_refused(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "add", "acme", "--origin", "https://www.acme.fr", *data)[0] == 0
    code, _, err = run("email", "link", "--person", "nobody@acme.fr", "--campaign", "c", "https://www.acme.fr", *data)
    assert code == 1 and "unknown_person" in err
    code, _, err = run("email", "link", "--person", "a@acme.fr", "--campaign", "c", "javascript:alert(1)", *data)
    assert code == 2 and "http" in err
    code, _, err = run(
        "email", "link", "--person", "a@acme.fr", "--campaign", "c", "--site", "x", "https://a.fr", *data
    )
    assert code == 1 and "no site 'x'" in err
