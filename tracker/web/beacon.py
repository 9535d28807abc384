"""``GET /t.js``: the beacon from ``js/beacon.js``, minified once when the routes are built.

Minification runs in-process with tdewolff/minify (it renames locals, which the
3 KB gzip budget needs), so serving the beacon needs no npm step.  Both the plain
and the gzip bodies are prepared up front; a request only picks one.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import minify  # type: ignore[import-untyped]  # tdewolff-minify ships no type information
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.assets import asset_root

SOURCE = asset_root() / "js" / "beacon.js"
CONTENT_TYPE = "application/javascript; charset=utf-8"
# Sites embed the unversioned URL, so a new beacon reaches every browser within a day.
CACHE_CONTROL = "public, max-age=86400"
# Optional, placed before the beacon's tag: queues tracker.* calls made before /t.js has
# loaded; the beacon replays them in order (js/README.md).
QUEUE_STUB = (
    "<script>window.tracker=window.tracker||{q:[]};"
    '["track","identify","page","consent"].forEach(function(m){tracker[m]=tracker[m]||function(){'
    "tracker.q.push([m].concat([].slice.call(arguments)))}})</script>"
)


@dataclass(frozen=True, slots=True)
class Beacon:
    """The served script: ``body`` minified, ``gzipped`` the same bytes compressed."""

    body: bytes
    gzipped: bytes
    digest: str

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def gzip_etag(self) -> str:
        # Each encoding is its own representation, so it gets its own validator.
        return f'"{self.digest}-gz"'


def build(source: str) -> Beacon:
    body = minify.string("application/javascript", source).encode()
    # mtime=0 keeps the gzip bytes, hence the ETag, identical across restarts and instances.
    return Beacon(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        digest=hashlib.sha256(body).hexdigest()[:20],
    )


def load(path: Path = SOURCE) -> Beacon:
    return build(path.read_text(encoding="utf-8"))


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (named with q > 0, or through ``*``)."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    for coding in ("gzip", "x-gzip"):
        if coding in weights:
            return weights[coding] > 0
    return weights.get("*", 0.0) > 0


def etag_matches(if_none_match: str, beacon: Beacon) -> bool:
    """Weak comparison, as RFC 9110 prescribes for If-None-Match: ``W/`` is ignored."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or bool(tags & {beacon.etag, beacon.gzip_etag})


def beacon_route(beacon: Beacon | None = None) -> Route:
    """The ``/t.js`` route; builds the beacon from ``js/beacon.js`` unless one is given."""
    served = beacon or load()

    async def endpoint(request: Request) -> Response:
        compressed = accepts_gzip(request.headers.get("accept-encoding", ""))
        headers = {
            "ETag": served.gzip_etag if compressed else served.etag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if etag_matches(request.headers.get("if-none-match", ""), served):
            return Response(status_code=304, headers=headers)
        if compressed:
            headers["Content-Encoding"] = "gzip"
        return Response(served.gzipped if compressed else served.body, media_type=CONTENT_TYPE, headers=headers)

    return Route("/t.js", endpoint, methods=["GET", "HEAD"])
