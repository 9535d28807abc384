from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tracker.web.beacon import QUEUE_STUB
from tracker.web.demo import PAPERS, POSTS, PRODUCTS, Product, demo_routes, euros, pdf_document

EMBED = '<script async src="/t.js" data-site="demo"></script>'
PAGES = [
    "/demo/",
    "/demo/blog/",
    *(post.url for post in POSTS),
    "/demo/produits/",
    *(f"/demo/produits/{p.line}/{p.slug}" for p in PRODUCTS),
    "/demo/emplois",
    "/demo/tarifs",
    "/demo/contact",
    "/demo/app",
    "/demo/app/factures",
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=demo_routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo.test") as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_embeds_the_beacon(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text
    assert EMBED in response.text
    # The stub comes first, so calls made while /t.js loads are queued.
    assert response.text.index(QUEUE_STUB) < response.text.index(EMBED)


def page_props(page: str) -> dict[str, object]:
    found = re.search(r"<meta name=\"tracker:props\" content='([^']*)'>", page)
    assert found, "no tracker:props meta"
    props: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return props


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
async def test_product_pages_carry_line_and_price(client: httpx.AsyncClient, product: Product) -> None:
    response = await client.get(f"/demo/produits/{product.line}/{product.slug}")
    assert page_props(response.text) == {"line": product.line, "price": product.price, "product": product.slug}
    assert 'data-tracker-slot="offer"' in response.text
    assert f"{euros(product.price)} € HT" in response.text
    assert f'href="/demo/files/{product.datasheet}.pdf" download' in response.text


@pytest.mark.parametrize("line", ["general", "medical"])
def test_each_line_has_field_sales_and_call_centre_prices(line: str) -> None:
    prices = [p.price for p in PRODUCTS if p.line == line]
    assert max(prices) >= 10_000  # routed to field sales (seed 003)
    assert min(prices) < 500  # routed to the call centre


async def test_home_offers_the_three_white_papers_and_the_offer_slot(client: httpx.AsyncClient) -> None:
    page = (await client.get("/demo/")).text
    for letter in "abc":
        assert f'href="/demo/files/livre-blanc-{letter}.pdf" download' in page
    assert 'data-tracker-slot="offer"' in page
    assert "tracker:props" not in page


def test_three_quality_posts_live_under_the_quality_path() -> None:
    quality = [post.url for post in POSTS if post.quality]
    assert len(quality) == 3
    assert all(url.startswith("/demo/blog/qualite/") for url in quality)
    assert all(not post.url.startswith("/demo/blog/qualite/") for post in POSTS if not post.quality)


@pytest.mark.parametrize("name", [paper.file for paper in PAPERS] + [PRODUCTS[0].datasheet])
async def test_documents_are_pdfs(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/demo/files/{name}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}.pdf"'
    assert response.content.startswith(b"%PDF-1.4")


def test_pdf_cross_reference_table_points_at_every_object() -> None:
    document = pdf_document("Livre blanc (A) — l'été \\ 2025")
    startxref = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert document[startxref:].startswith(b"xref\n0 6\n")
    table = document[startxref:].split(b"\n")[3:8]
    for number, row in enumerate(table, start=1):
        offset = int(row[:10])
        assert document[offset:].startswith(f"{number} 0 obj".encode())
    assert b"(Livre blanc \\(A\\) \x97 l'\xe9t\xe9 \\\\ 2025)" in document  # cp1252, escaped
    assert document.endswith(b"%%EOF\n")


async def test_contact_form_is_the_tracked_demo_request(client: httpx.AsyncClient) -> None:
    page = (await client.get("/demo/contact?sujet=newsletter")).text
    assert 'data-tracker-form="demo"' in page
    for field in ("email", "first_name", "company", "job_title", "phone"):
        assert f'name="{field}"' in page
    assert re.search(r'<input type="hidden" name="csrf_token" value="[\w-]{16,}">', page)
    assert '<option value="newsletter" selected>' in page
    thanks = await client.post("/demo/contact", data={"email": "a@example.test"})
    assert thanks.status_code == 200
    assert "Merci" in thanks.text


async def test_single_page_app_changes_tabs_with_push_state(client: httpx.AsyncClient) -> None:
    page = (await client.get("/demo/app/factures")).text
    assert "history.pushState" in page
    assert "<title>Mes factures — Prisme 3D</title>" in page


@pytest.mark.parametrize(
    "path",
    [
        "/demo/blog/qualite/tendances-impression-3d",  # exists, but not as a quality post
        "/demo/blog/nope",
        "/demo/produits/medical/prisme-pro",  # a general product under the medical line
        "/demo/files/livre-blanc-d.pdf",
        "/demo/app/parametres",
    ],
)
async def test_unknown_pages_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_bare_demo_path_redirects_to_home(client: httpx.AsyncClient) -> None:
    response = await client.get("/demo")
    assert response.status_code == 308
    assert response.headers["location"] == "/demo/"


def test_euros_groups_thousands_the_french_way() -> None:
    assert euros(24500) == "24\u202f500"
    assert euros(390) == "390"
