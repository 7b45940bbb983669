"""Token management (admin)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from ..auth import Role
from ..storage.tables import TokenRow
from .deps import Admin, ServicesDep
from .schemas import ErrorOut, TokenCreated, TokenCreateIn, TokenList
from .stream import CLOSE_UNAUTHENTICATED

ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorOut} for c in (400, 401, 403, 404, 413, 422, 503)
}
router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses=ERRORS)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def token_view(row: TokenRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "created_at": _iso(row.created_at),
        "last_used_at": _iso(row.last_used_at),
        "revoked_at": _iso(row.revoked_at),
    }


@router.get("", response_model=TokenList, operation_id="tokens-list_tokens")
async def list_tokens(svc: ServicesDep, _p: Admin) -> dict[str, Any]:
    rows = await asyncio.to_thread(svc.tokens.list)
    return {"tokens": [token_view(r) for r in rows]}


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    response_model=TokenCreated,
    operation_id="tokens-create_token",
)
async def create_token(svc: ServicesDep, _p: Admin, body: TokenCreateIn) -> dict[str, Any]:
    """Create a token; the token itself is shown only in this answer."""
    issued = await asyncio.to_thread(svc.tokens.create, body.name, Role.parse(body.role))
    return {
        "id": issued.id,
        "name": issued.name,
        "role": issued.role.label,
        "created_at": issued.created_at.isoformat(),
        "token": issued.token,
    }


@router.delete("/{id}", status_code=HTTP_204_NO_CONTENT, operation_id="tokens-revoke_token")
async def revoke_token(svc: ServicesDep, _p: Admin, id: str) -> None:
    await asyncio.to_thread(svc.tokens.revoke, id)
    svc.hub.close_principal(id, CLOSE_UNAUTHENTICATED, "the token was revoked")
