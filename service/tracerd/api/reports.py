"""Report and export routes: summaries computed in SQL (reports/), streamed exports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from ..engines.ptrace.syscalls import kernel_table
from ..reports.export import (
    Format,
    encoder_for,
    export_stream,
    first_ts,
    session_names,
    stored_formats,
)
from ..reports.latency import latency
from ..reports.models import (
    LatencyReport,
    SchedReport,
    Summary,
    SyscallsReport,
    TimelineReport,
    TopReport,
)
from ..reports.query import SessionInfo
from ..reports.sched import sched
from ..reports.summary import summary
from ..reports.syscalls import syscalls
from ..reports.timeline import DEFAULT_BUCKETS, timeline
from ..reports.top import DEFAULT_LIMIT, MAX_LIMIT, top
from ..sessions.live import recorded_spec
from ..specs import INT64_MAX
from ..storage.queries import EventFilter
from .deps import NsQuery, PidsQuery, ServicesDep, Viewer, session_id
from .schemas import ErrorOut

if TYPE_CHECKING:
    from ..services import Services

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 422)
}
router = APIRouter(prefix="/v1/sessions", tags=["reports"], responses=ERRORS)
T = TypeVar("T")
ACTIVE_STATES = frozenset({"starting", "running", "stopping"})
MAX_BUCKETS = 10_000
FIELD = Annotated[
    str, Query(max_length=200, description="a column (dur_ns, comm, ...) or a path in fields")
]


def report_filter(
    since_ns: NsQuery = None,
    until_ns: NsQuery = None,
    pid: PidsQuery = None,
    comm: Annotated[list[str] | None, Query()] = None,
    name: Annotated[
        list[str] | None, Query(description="event names (syscalls: or syscall names)")
    ] = None,
) -> EventFilter:
    return EventFilter(name or (), pid or (), comm or (), since_ns, until_ns)


Filter = Annotated[EventFilter, Depends(report_filter)]


async def session_info(svc: Services, raw_id: str) -> SessionInfo:
    view = await svc.manager.get(session_id(raw_id))
    return SessionInfo.from_view(view, recorded_spec(view["kind"], view["spec"]))


async def compute(svc: Services, fn: Callable[[Session], T]) -> T:
    def run() -> T:
        with svc.db() as db:
            return fn(db)

    return await asyncio.to_thread(run)


@router.get("/{id}/report", response_model=Summary, operation_id="reports-get_report")
async def get_report(svc: ServicesDep, _p: Viewer, id: str, flt: Filter) -> Summary:
    """Any session: span, events and losses by source, counts by name, top pids and comms,
    event rate over time."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: summary(db, info, flt))


@router.get(
    "/{id}/report/syscalls", response_model=SyscallsReport, operation_id="reports-get_syscalls"
)
async def get_syscalls(svc: ServicesDep, _p: Viewer, id: str, flt: Filter) -> SyscallsReport:
    """The `strace -c -w` table: ptrace syscalls, tracefs enter/exit pairs (syscalls:* or
    raw_syscalls), or the bpf `syscount` map."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: syscalls(db, info, flt))


@router.get(
    "/{id}/report/latency", response_model=LatencyReport, operation_id="reports-get_latency"
)
async def get_latency(
    svc: ServicesDep,
    _p: Viewer,
    id: str,
    flt: Filter,
    field: FIELD = "dur_ns",
    syscall: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    width: Annotated[float | None, Query(gt=0, description="linear bucket width")] = None,
    exact: Annotated[bool, Query(description="exact percentiles over the events")] = False,
) -> LatencyReport:
    """Histogram (log2 and linear) and p50/p90/p99/max of a numeric field; `dur_ns` is a
    syscall's duration (ptrace, tracefs pairs) or a function_graph call's."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: latency(db, info, flt, field, syscall, width, exact))


@router.get(
    "/{id}/report/timeline", response_model=TimelineReport, operation_id="reports-get_timeline"
)
async def get_timeline(
    svc: ServicesDep,
    _p: Viewer,
    id: str,
    flt: Filter,
    bucket_ns: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    buckets: Annotated[int, Query(ge=1, le=MAX_BUCKETS)] = DEFAULT_BUCKETS,
) -> TimelineReport:
    """Events per time bucket per name."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: timeline(db, info, flt, bucket_ns, buckets))


@router.get("/{id}/report/top", response_model=TopReport, operation_id="reports-get_top")
async def get_top(
    svc: ServicesDep,
    _p: Viewer,
    id: str,
    flt: Filter,
    field: FIELD,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TopReport:
    """The most frequent values of a field (comm, pid, a path in fields such as filename)."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: top(db, info, flt, field, limit))


@router.get("/{id}/report/sched", response_model=SchedReport, operation_id="reports-get_sched")
async def get_sched(svc: ServicesDep, _p: Viewer, id: str, flt: Filter) -> SchedReport:
    """Per task: on-CPU time, switches, preemptions and run-queue waits, from sched_switch
    and sched_wakeup."""
    info = await session_info(svc, id)
    return await compute(svc, lambda db: sched(db, info, flt))


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def syscall_arg_names(name: str) -> Sequence[str] | None:
    """A syscall's argument names, from the running kernel's syscall formats."""
    sc = kernel_table().by_name.get(name)
    return tuple(arg for arg, _type in sc.args) if sc is not None else None


EXPORT_CONTENT: dict[str, dict[str, Any]] = {
    "application/octet-stream": {},
    "application/x-ndjson": {},
    "text/csv": {},
    "application/json": {},
    "text/plain": {},
    "application/gzip": {},
    "application/vnd.tcpdump.pcap": {},
    "application/x-pcapng": {},
}


@router.get(
    "/{id}/export",
    response_class=StreamingResponse,
    operation_id="reports-export_session",
    responses={200: {"content": EXPORT_CONTENT, "description": "the export, streamed"}},
)
async def export_session(
    request: Request,
    svc: ServicesDep,
    _p: Viewer,
    id: str,
    flt: Filter,
    format: Format = "jsonl",
    gzip: Annotated[
        bool, Query(description="a .gz file (else gzip if Accept-Encoding asks)")
    ] = False,
) -> StreamingResponse:
    """The session's events (filtered) as JSON Lines, CSV, Chrome Trace Event JSON
    (chrome://tracing), a native Perfetto protobuf trace (ui.perfetto.dev), text (ftrace /
    strace / tool / tcpdump lines) or, for packet sessions, pcap and pcapng (tcpdump -r,
    Wireshark), streamed in chunks. A
    running session is exported up to what was committed when the request came."""
    info = await session_info(svc, id)
    base = await compute(svc, lambda db: first_ts(db, info.id))
    fmts: dict[str, str] = {}
    if format == "text" and info.kind == "tracefs" and stored_formats(info) is None:
        names = await compute(svc, lambda db: session_names(db, info.id))
        fmts = await asyncio.to_thread(svc.manager.print_formats, names)
    arg_names = None
    if format == "perfetto" and info.kind == "ptrace":
        await asyncio.to_thread(kernel_table)  # format files read once, off the loop
        arg_names = syscall_arg_names
    encoder = encoder_for(format, info, base, fmts, arg_names)
    until = svc.writer.progress(info.id).committed_seq if info.state in ACTIVE_STATES else None
    compress = gzip or accepts_gzip(request)
    name = f"session-{info.id}.{encoder.suffix}{'.gz' if gzip else ''}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Tracerd-Events": str(int(info.counters.get("stored") or 0)),
    }
    media = "application/gzip" if gzip else encoder.media_type
    if compress and not gzip:
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    stream = export_stream(svc.db, info, flt, encoder, until, compress)
    return StreamingResponse(stream, media_type=media, headers=headers)
