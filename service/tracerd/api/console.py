"""The web console: a static page at `/` (HTML, JS and CSS shipped in the package, no build
step, no CDN) and `GET /v1/whoami`, which tells the page who its token is and what the
daemon's retention will delete.

The page is public (it holds no data); everything it shows comes from the API with the
token the user pasted, kept in the tab's sessionStorage. Its URLs are relative, so it works
behind a reverse proxy that serves the daemon under a prefix.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from ..errors import NotFound
from .deps import ServicesDep, Viewer
from .schemas import ErrorOut

router = APIRouter(tags=["console"])

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
HEADERS = {
    # the page talks to its own origin only; "Open in Perfetto" opens another window
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> Response:
    media = ASSETS.get(name)
    if media is None:
        raise NotFound(f"no console file {name!r}")
    data = resources.files("tracerd.console").joinpath(name).read_bytes()
    return Response(data, media_type=media, headers=HEADERS)


@router.get("/", include_in_schema=False)
async def console_page() -> Response:
    return _asset("index.html")


@router.get("/console/{name}", include_in_schema=False)
async def console_asset(name: str) -> Response:
    return _asset(name)


class Retention(BaseModel):
    max_age_s: float
    max_events_per_session: int
    max_events_total: int


class WhoAmI(BaseModel):
    principal: str
    name: str
    role: str
    retention: Retention


@router.get(
    "/v1/whoami",
    response_model=WhoAmI,
    operation_id="system-whoami",
    responses={401: {"model": ErrorOut}},
)
async def whoami(svc: ServicesDep, principal: Viewer) -> dict[str, Any]:
    """The caller's token id, name and role, and the retention limits (0: none) by which the
    daemon deletes stored sessions."""
    s = svc.settings
    return {
        "principal": principal.id,
        "name": principal.name,
        "role": principal.role.label,
        "retention": {
            "max_age_s": s.retention_max_age_s,
            "max_events_per_session": s.retention_max_events_per_session,
            "max_events_total": s.retention_max_events_total,
        },
    }
