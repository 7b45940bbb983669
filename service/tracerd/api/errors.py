"""One error shape for every failure: {"error": {"code", "message", "detail"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import StorageUnavailable, TracerdError

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "bad_request": 400,
    "unknown_event": 400,
    "kernel_rejected": 400,
    "compile_error": 400,
    "bad_probe": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "invalid_transition": 409,
    "capability_missing": 409,
    "already_traced": 409,
    "permission_denied": 409,
    "resource_busy": 409,
    "quota_exceeded": 409,
    "budget_exceeded": 413,
    "invalid_spec": 422,
    "tracefs_unavailable": 503,
    "storage_unavailable": 503,
    "worker_failed": 500,
    "internal": 500,
}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    409: "invalid_transition",
    413: "budget_exceeded",
    422: "invalid_spec",
    503: "tracefs_unavailable",
}


def envelope(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


def error_response(exc: TracerdError) -> JSONResponse:
    status = STATUS_BY_CODE.get(exc.code, 500)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(envelope(exc.code, exc.message, exc.detail), status, headers=headers)


def storage_unavailable(exc: OperationalError) -> StorageUnavailable:
    """What the client is told about a database error: the disk or the lock, not SQL."""
    text = str(exc.orig or exc)
    if "full" in text.lower() or "no space" in text.lower():
        message = "the state database's file system is full: free space, then retry"
    elif "locked" in text.lower() or "lock timeout" in text.lower():  # SQLite, PostgreSQL
        message = "the state database is locked by another writer: retry"
    else:
        message = "the state database refused the request: retry"
    return StorageUnavailable(message, {"database": text[:200]})


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(TracerdError)
    async def tracerd_error(_request: Request, exc: TracerdError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = _validation_detail(exc)
        first = detail[0] if detail else {"loc": [], "msg": "invalid"}
        message = f"invalid spec at {'.'.join(first['loc'])}: {first['msg']}"
        return JSONResponse(envelope("invalid_spec", message, detail), 422)

    @app.exception_handler(OperationalError)
    async def storage_error(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("state database: %s", exc.orig or exc)
        return error_response(storage_unavailable(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "internal")
        return JSONResponse(
            envelope(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return JSONResponse(envelope("internal", f"{type(exc).__name__}: {exc}"), 500)
