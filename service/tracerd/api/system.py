"""Daemon routes: health, capabilities, processes, Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import __version__
from ..auth import Role
from ..errors import Forbidden
from ..kernel.proc import list_processes
from .deps import ServicesDep, Viewer
from .schemas import ErrorOut, Health, ProcessList

ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut} for c in (401, 403, 404)}
router = APIRouter(tags=["system"], responses=ERRORS)


@router.get("/v1/health", response_model=Health, operation_id="system-get_health")
async def get_health(svc: ServicesDep) -> dict[str, Any]:
    """Liveness and version (no token needed)."""
    return {
        "status": "ok",
        "version": __version__,
        "daemon_id": svc.state.daemon_id,
        "uptime_s": round(time.monotonic() - svc.started_monotonic, 3),
    }


@router.get("/v1/capabilities", operation_id="system-get_capabilities")
async def get_capabilities(
    svc: ServicesDep,
    principal: Viewer,
    refresh: bool = Query(False, description="probe again (operator)"),
) -> dict[str, Any]:
    """What this kernel really allows, probed (not assumed); cached."""
    if refresh:
        if not principal.allows(Role.OPERATOR):
            raise Forbidden("refreshing the probe needs the operator role")
        await svc.probe_capabilities()
    else:
        await svc.caps_ready.wait()
    return svc.caps


@router.get("/v1/processes", response_model=ProcessList, operation_id="system-list_processes")
async def list_processes_route(
    _svc: ServicesDep, _p: Viewer, q: str | None = None, pid: int | None = None
) -> dict[str, Any]:
    """Processes with pid, ppid, comm, user, state letter and TracerPid."""
    procs = await asyncio.to_thread(list_processes, q, pid)
    return {"processes": [p.as_dict() for p in procs]}


JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    c: {
        "description": "the error envelope (JSON, like every other error)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for c in (401, 403, 404)
}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    operation_id="system-get_metrics",
    responses=JSON_ERRORS,
)
async def get_metrics(svc: ServicesDep, _p: Viewer) -> PlainTextResponse:
    """Prometheus text format."""
    data = generate_latest(svc.metrics.registry)
    return PlainTextResponse(data.decode(), media_type=CONTENT_TYPE_LATEST)
