"""Catalogues: tracepoints (like `bpftrace -l` / `-lv`) and the BPF tool catalogue."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from fastapi import APIRouter

from ..engines.bpf.tools.meta import list_tools
from ..kernel.formats import parse_format
from ..kernel.tracefs import EventRef
from .deps import ServicesDep, Viewer
from .schemas import BpfToolList, ErrorOut, TracepointDetail, TracepointList

ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut} for c in (401, 403, 404, 503)}
router = APIRouter(tags=["catalog"], responses=ERRORS)


@router.get(
    "/v1/tracepoints", response_model=TracepointList, operation_id="catalog-list_tracepoints"
)
async def list_tracepoints(svc: ServicesDep, _p: Viewer, q: str | None = None) -> dict[str, Any]:
    """Every trace event; `q` is a substring or a glob (`sched:*`, `*openat*`)."""
    svc.tracefs.require()
    refs = await asyncio.to_thread(svc.tracefs.all_events)
    names = [r.full for r in refs]
    if q:
        if any(c in q for c in "*?["):
            keep = set(fnmatch.filter(names, q))
        else:
            keep = {n for n in names if q in n}
        refs = [r for r in refs if r.full in keep]
    return {"tracepoints": [{"name": r.full, "system": r.system, "event": r.event} for r in refs]}


@router.get(
    "/v1/tracepoints/{subsystem}/{event}",
    response_model=TracepointDetail,
    operation_id="catalog-get_tracepoint",
)
async def get_tracepoint(
    svc: ServicesDep, _p: Viewer, subsystem: str, event: str
) -> dict[str, Any]:
    """One event's fields as its `format` file gives them, and its print fmt."""
    svc.tracefs.require()
    ref = EventRef(subsystem, event)
    fmt = parse_format(await asyncio.to_thread(svc.tracefs.format_text, ref), subsystem)
    return {
        "name": ref.full,
        "system": subsystem,
        "event": event,
        "id": fmt.id,
        "print_fmt": fmt.print_fmt,
        "fields": [
            {
                "name": f.name,
                "type": f.c_type
                + (f"[{f.array_len or ''}]" if f.array_len is not None else "[]" if f.loc else ""),
                "offset": f.offset,
                "size": f.size,
                "signed": f.signed,
                "array_len": f.array_len,
                "data_loc": f.loc == "data",
                "rel_loc": f.loc == "rel",
                "common": f.is_common,
            }
            for f in fmt.fields
        ],
    }


@router.get("/v1/bpf/tools", response_model=BpfToolList, operation_id="catalog-list_bpf_tools")
async def list_bpf_tools(_p: Viewer) -> dict[str, Any]:
    """The BPF tool catalogue: each tool's parameters and output fields (no BCC needed)."""
    return {"tools": list_tools()}
