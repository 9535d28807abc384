"""The demo site served by ``tracker serve --demo`` under ``/demo/``.

A small French B2B site for the 3D-printer example of the seed articles: a general
and a medical line, three white papers (A, B, C), quality blog posts, jobs, pricing,
a demo-request form and a tiny single-page app.  Every page embeds the beacon the
way a customer site would, so the demo exercises the whole product end to end.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from tracker.assets import asset_root
from tracker.web.beacon import QUEUE_STUB

TEMPLATES = Jinja2Templates(directory=asset_root() / "templates")


def euros(amount: int) -> str:
    """French grouping: 24 500, with a narrow no-break space."""
    return f"{amount:,}".replace(",", "\u202f")


TEMPLATES.env.filters["euros"] = euros
TEMPLATES.env.globals["queue_stub"] = QUEUE_STUB


@dataclass(frozen=True, slots=True)
class Product:
    slug: str
    line: str  # "general" | "medical": the URL segment and the page prop the rules read
    name: str
    price: int  # euros excl. VAT; >= 10,000 goes to field sales, < 500 to the call centre
    pitch: str
    specs: tuple[str, ...]

    @property
    def datasheet(self) -> str:
        return f"fiche-technique-{self.line}-{self.slug}"


@dataclass(frozen=True, slots=True)
class Post:
    slug: str
    title: str
    summary: str
    body: tuple[str, ...]
    quality: bool = False

    @property
    def url(self) -> str:
        return f"/demo/blog/qualite/{self.slug}" if self.quality else f"/demo/blog/{self.slug}"


@dataclass(frozen=True, slots=True)
class Paper:
    letter: str
    title: str
    summary: str

    @property
    def file(self) -> str:
        return f"livre-blanc-{self.letter}"


LINES = {"general": "Gamme générale", "medical": "Gamme médicale"}

PRODUCTS = (
    Product(
        "prisme-mini",
        "general",
        "Prisme Mini",
        390,
        "L'imprimante FDM de bureau pour prototyper dès aujourd'hui.",
        ("Volume 180 × 180 × 180 mm", "PLA, PETG", "Wi-Fi et clé USB"),
    ),
    Product(
        "prisme-pro",
        "general",
        "Prisme Pro",
        4900,
        "La résine haute précision pour les bureaux d'études.",
        ("Résolution 25 µm", "Volume 200 × 125 × 220 mm", "Post-traitement automatisé"),
    ),
    Product(
        "prisme-atelier",
        "general",
        "Prisme Atelier",
        24500,
        "Le grand format pour la production en petite série.",
        ("Volume 600 × 600 × 600 mm", "Double extrusion", "Chambre chauffée à 80 °C"),
    ),
    Product(
        "kit-guides",
        "medical",
        "Kit guides chirurgicaux",
        290,
        "Résine biocompatible et gabarits prêts à imprimer.",
        ("Résine classe IIa", "10 gabarits de perçage", "Protocole de stérilisation"),
    ),
    Product(
        "medica-dent",
        "medical",
        "Medica Dent",
        6900,
        "L'imprimante des cabinets et laboratoires dentaires.",
        ("Aligneurs, couronnes provisoires", "Résolution 35 µm", "Logiciel CAO dentaire inclus"),
    ),
    Product(
        "medica-lab",
        "medical",
        "Medica Lab",
        12900,
        "Modèles anatomiques et guides chirurgicaux à l'hôpital.",
        ("Multi-matériaux, couleurs", "Conforme ISO 13485", "Import DICOM direct"),
    ),
)

POSTS = (
    Post(
        "controle-qualite-piece-par-piece",
        "Notre contrôle qualité, pièce par pièce",
        "Chaque imprimante passe 48 points de contrôle avant de quitter l'atelier de Lyon.",
        (
            "Chaque imprimante Prisme 3D imprime une pièce témoin mesurée au micromètre avant expédition.",
            "Les écarts sont consignés : vous recevez le rapport de votre machine avec la facture.",
        ),
        quality=True,
    ),
    Post(
        "certification-iso-13485",
        "ISO 13485 : ce que notre certification vous garantit",
        "La norme des dispositifs médicaux s'applique à toute notre gamme médicale.",
        (
            "La certification ISO 13485 encadre la conception, la fabrication et le suivi de nos machines médicales.",
            "Concrètement : traçabilité des lots de résine, validation des procédés et audits annuels.",
        ),
        quality=True,
    ),
    Post(
        "sav-sous-48-heures",
        "SAV sous 48 heures : comment nous tenons l'engagement",
        "Un technicien chez vous en deux jours ouvrés, partout en France métropolitaine.",
        (
            "Nos techniciens couvrent huit régions et disposent d'un stock de pièces détachées embarqué.",
            "En 2024, 96 % des interventions ont eu lieu dans les 48 heures.",
        ),
        quality=True,
    ),
    Post(
        "tendances-impression-3d",
        "Cinq tendances de l'impression 3D professionnelle",
        "Matériaux, vitesse, logiciels : ce qui change pour les industriels.",
        (
            "Les résines techniques rattrapent les thermoplastiques injectés.",
            "Les logiciels de préparation automatisent l'orientation et les supports.",
        ),
    ),
    Post(
        "choisir-sa-resine",
        "Bien choisir sa résine",
        "Standard, technique, biocompatible : un guide rapide.",
        (
            "La résine standard suffit au prototypage visuel ; une pièce fonctionnelle demande une résine technique.",
            "Pour le médical, seule une résine certifiée biocompatible convient.",
        ),
    ),
)

PAPERS = (
    Paper("a", "Panorama de l'impression 3D professionnelle", "Technologies, matériaux et usages : la vue d'ensemble."),
    Paper("b", "Comment bien choisir son imprimante 3D", "Les dix questions à se poser avant d'investir."),
    Paper("c", "Notre vision de l'impression 3D de demain", "Où nous emmenons nos deux gammes, et pourquoi."),
)

JOBS = (
    ("Technicien·ne SAV itinérant·e", "Lyon et Rhône-Alpes, CDI"),
    ("Ingénieur·e applications médicales", "Lyon, CDI"),
    ("Commercial·e grands comptes", "Paris, CDI"),
)

# The single-page app's tabs: URL segment → title.
APP_TABS = {"commandes": "Mes commandes", "factures": "Mes factures"}


def demo_routes() -> list[BaseRoute]:
    return [
        Route("/demo", _to_home, methods=["GET"]),
        Route("/demo/", home, methods=["GET"]),
        Route("/demo/blog/", blog, methods=["GET"]),
        Route("/demo/blog/qualite/{slug}", post, methods=["GET"]),
        Route("/demo/blog/{slug}", post, methods=["GET"]),
        Route("/demo/produits/", products, methods=["GET"]),
        Route("/demo/produits/{line}/{slug}", product, methods=["GET"]),
        Route("/demo/files/{name}.pdf", document, methods=["GET"]),
        Route("/demo/emplois", jobs, methods=["GET"]),
        Route("/demo/tarifs", pricing, methods=["GET"]),
        Route("/demo/contact", contact, methods=["GET", "POST"]),
        Route("/demo/app", app, methods=["GET"]),
        Route("/demo/app/{tab}", app, methods=["GET"]),
    ]


def _render(request: Request, template: str, title: str, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(request, f"demo/{template}.html", {"title": title, **context})


async def _to_home(request: Request) -> Response:
    return RedirectResponse("/demo/", status_code=308)


async def home(request: Request) -> Response:
    return _render(
        request,
        "home",
        "Imprimantes 3D professionnelles",
        papers=PAPERS,
        lines=LINES,
        products=PRODUCTS,
        posts=POSTS[:3],
    )


async def blog(request: Request) -> Response:
    return _render(request, "blog", "Le blog", posts=POSTS)


async def post(request: Request) -> Response:
    quality = request.url.path.startswith("/demo/blog/qualite/")
    found = next((p for p in POSTS if p.slug == request.path_params["slug"] and p.quality == quality), None)
    if found is None:
        raise HTTPException(404, "no such article")
    return _render(request, "post", found.title, post=found, papers=PAPERS)


async def products(request: Request) -> Response:
    return _render(request, "products", "Nos imprimantes", lines=LINES, products=PRODUCTS)


async def product(request: Request) -> Response:
    line, slug = request.path_params["line"], request.path_params["slug"]
    found = next((p for p in PRODUCTS if p.slug == slug and p.line == line), None)
    if found is None:
        raise HTTPException(404, "no such product")
    return _render(
        request,
        "product",
        found.name,
        product=found,
        line_name=LINES[found.line],
        props={"line": found.line, "price": found.price, "product": found.slug},
    )


async def jobs(request: Request) -> Response:
    return _render(request, "jobs", "Nous rejoindre", jobs=JOBS)


async def pricing(request: Request) -> Response:
    return _render(request, "pricing", "Tarifs", products=PRODUCTS)


async def contact(request: Request) -> Response:
    # The beacon reports the submission; the demo only has to land somewhere polite.
    if request.method == "POST":
        return _render(request, "thanks", "Merci")
    return _render(
        request,
        "contact",
        "Demander une démonstration",
        subject=request.query_params.get("sujet", "demo"),
        csrf=secrets.token_urlsafe(16),
    )


async def app(request: Request) -> Response:
    tab = request.path_params.get("tab", "commandes")
    if tab not in APP_TABS:
        raise HTTPException(404, "no such tab")
    return _render(request, "app", APP_TABS[tab], tab=tab, tabs=APP_TABS)


async def document(request: Request) -> Response:
    name = request.path_params["name"]
    titles = {paper.file: f"Livre blanc {paper.letter.upper()} — {paper.title}" for paper in PAPERS}
    titles |= {p.datasheet: f"Fiche technique — {p.name}" for p in PRODUCTS}
    if name not in titles:
        raise HTTPException(404, "no such document")
    return Response(
        pdf_document(titles[name]),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


def pdf_document(title: str) -> bytes:
    """A one-page PDF showing ``title``: real enough for any viewer, small enough to build per request."""
    text = title.encode("cp1252", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = b"BT /F1 16 Tf 56 780 Td (" + text + b") Tj 0 -28 Td (Prisme 3D - document de demonstration) Tj ET"
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
