"""Minting e-mail links for a newsletter: ``POST /api/email-links`` for 50,000 known recipients.

The target is 20,000 links a second.  The store holds ``recipients`` known people (written with
``executemany``, like ``console_data``); the request goes through the real application in
process (no socket, so the figure is the server's work: reading the body, finding the people,
signing, writing the answer).  Run: ``python -m bench.email_links [--recipients 50000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from tracker.app import DEMO_SITE, create_app
from tracker.config import Settings
from tracker.domain.keys import digest, new_key
from tracker.store import Queries

TARGET = "https://www.imprimantes-3d.example/blog/nouveautes-novembre?utm_source=newsletter&utm_medium=email"


async def _people(app_state: object, recipients: int) -> str:
    """``recipients`` known people on the demo site, and a marketing key for it."""
    runtime = app_state.runtime  # type: ignore[attr-defined]
    key = new_key()

    async def unit(q: Queries) -> None:
        site = await q.site_by_key(DEMO_SITE)
        assert site is not None
        rows = [(site.id, f"reader{n}@example.fr", 0.0, 0.0, 0.0, "known") for n in range(recipients)]
        await q.conn.executemany(
            "INSERT INTO persons (site_id, email, created_at, last_seen_at, updated_at, stage)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        await q.insert_api_key(site.id, "marketing", "bench", digest(key), 0.0)

    await runtime.store.write(unit)
    return key


async def run(recipients: int, urls: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), demo=True, secret="bench-secret")
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            key = await _people(app.state, recipients)
            body = {
                "campaign": "newsletter-nov",
                "urls": [f"{TARGET}&link={n}" for n in range(urls)],
                "recipients": [f"reader{n}@example.fr" for n in range(recipients)],
            }
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://t.example.fr", timeout=600) as http:
                started, cpu = time.perf_counter(), time.process_time()
                response = await http.post("/api/email-links", json=body, headers={"authorization": f"Bearer {key}"})
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert response.status_code == 201, response.text[:500]
            made = response.json()
            assert not made["refused"] and len(made["links"]) == recipients
            links = recipients * (urls + 1)  # a click link per URL and an open pixel per recipient
            # CPU time too: on a shared machine the wall clock also counts other processes' turns.
            length = len(made["links"][0]["clicks"][0])
            print(
                f"{recipients} recipients x {urls} URL(s): {links} links in {elapsed:.2f} s = {links / elapsed:,.0f}"
                f" links/s ({links / cpu:,.0f} per CPU-second; one link {length} characters)"
            )
            return links / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--urls", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.urls))


if __name__ == "__main__":
    main()
