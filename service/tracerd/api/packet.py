"""Packet routes: `GET /v1/packet/compile` shows a filter's classic BPF program as
`tcpdump -d`, `-dd` and `-ddd` print it, without capturing (the engine's cbpf.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..engines.packet.cbpf import DEFAULT_SNAPLEN, compile_filter, linktype_name, linktype_value
from .deps import Viewer
from .schemas import ErrorOut, PacketProgram

ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut} for c in (400, 401, 403)}
router = APIRouter(tags=["packet"], responses=ERRORS)


@router.get("/v1/packet/compile", response_model=PacketProgram, operation_id="packet-compile")
async def compile_route(
    _p: Viewer,
    filter: Annotated[str, Query(max_length=4096, description="a tcpdump filter expression")] = "",
    linktype: Annotated[
        str, Query(pattern=r"^[A-Za-z0-9_]{1,32}$", description="as tcpdump -y: EN10MB, ...")
    ] = "EN10MB",
    snaplen: Annotated[int, Query(ge=1, le=DEFAULT_SNAPLEN)] = DEFAULT_SNAPLEN,
) -> dict[str, Any]:
    """The program libpcap compiles for `filter` on `linktype`; 400 with libpcap's message
    on a syntax error."""
    dlt = linktype_value(linktype)
    program = compile_filter(filter, dlt, snaplen)
    return {
        "filter": filter,
        "linktype": linktype_name(dlt),
        "snaplen": snaplen,
        "instructions": len(program.insns),
        **program.forms(),
    }
