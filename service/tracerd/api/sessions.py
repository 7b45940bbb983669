"""Session routes: create, list, lifecycle, marker, stored events, maps."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from ..errors import SpecError
from ..specs import INT64_MAX
from ..storage.queries import EventFilter, events_page
from .deps import (
    NsQuery,
    Operator,
    PidsQuery,
    ServicesDep,
    Viewer,
    check_spec_role,
    session_id,
)
from .schemas import (
    ErrorOut,
    EventPage,
    MapsOut,
    MarkerIn,
    SessionCreate,
    SessionList,
    SessionOut,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=ERRORS)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    response_model=SessionOut,
    operation_id="sessions-create_session",
)
async def create_session(
    svc: ServicesDep,
    principal: Operator,
    body: Annotated[SessionCreate, Body()],
    wait: Annotated[bool, Query(description="wait until running or failed")] = False,
) -> dict[str, Any]:
    """Create a session and, by default, start it. tracefs and ptrace sessions set the
    kernel up before answering (a rejection leaves nothing behind); bpf sessions answer
    `starting` while their program compiles. A ptrace session with seccomp acceleration
    ends its command when it stops (once the tracer is gone, the traced syscalls would
    fail with ENOSYS)."""
    check_spec_role(principal, body.spec)
    return await svc.manager.create(body.kind, body.name, body.spec, body.start, wait, principal.id)


@router.get("", response_model=SessionList, operation_id="sessions-list_sessions")
async def list_sessions(
    svc: ServicesDep, _p: Viewer, kind: str | None = None, state: str | None = None
) -> dict[str, Any]:
    sessions = await svc.manager.list_sessions(kind, state)
    # a tracefs session's print formats (info.formats) can be 100s of kB: GET /sessions/{id}
    return {"sessions": [{**s, "info": without_formats(s.get("info"))} for s in sessions]}


def without_formats(info: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (info or {}).items() if k != "formats"}


@router.get("/{id}", response_model=SessionOut, operation_id="sessions-get_session")
async def get_session(svc: ServicesDep, _p: Viewer, id: str) -> dict[str, Any]:
    return await svc.manager.get(session_id(id))


@router.post("/{id}/start", response_model=SessionOut, operation_id="sessions-start_session")
async def start_session(svc: ServicesDep, principal: Operator, id: str) -> dict[str, Any]:
    sid = session_id(id)
    check_spec_role(principal, await svc.manager.spec_of(sid))
    return await svc.manager.start(sid)


@router.post("/{id}/stop", response_model=SessionOut, operation_id="sessions-stop_session")
async def stop_session(
    svc: ServicesDep,
    _p: Operator,
    id: str,
    wait: Annotated[bool, Query(description="answer once the session is final")] = False,
) -> dict[str, Any]:
    """Ask the session to stop; answers `stopping` at once (the worker drains and releases
    behind), or the final session with `wait=true`."""
    return await svc.manager.stop(session_id(id), wait)


@router.delete("/{id}", status_code=HTTP_204_NO_CONTENT, operation_id="sessions-delete_session")
async def delete_session(svc: ServicesDep, _p: Operator, id: str) -> None:
    """Stop the session if needed, then delete it and its stored events."""
    await svc.manager.delete(session_id(id))


@router.post("/{id}/marker", status_code=HTTP_204_NO_CONTENT, operation_id="sessions-mark_session")
async def mark_session(svc: ServicesDep, _p: Operator, id: str, body: MarkerIn) -> None:
    """An annotation in the trace: tracefs writes the instance's trace_marker (it comes
    back as `ftrace:print`), other kinds store a `marker` event."""
    await svc.manager.marker(session_id(id), body.text)


@router.get("/{id}/events", response_model=EventPage, operation_id="sessions-list_events")
async def list_events(
    svc: ServicesDep,
    _p: Viewer,
    id: str,
    name: Annotated[list[str] | None, Query()] = None,
    pid: PidsQuery = None,
    comm: Annotated[list[str] | None, Query()] = None,
    since_ns: NsQuery = None,
    until_ns: NsQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: Annotated[str | None, Query(pattern=r"^-?[0-9]{1,19}$")] = None,
) -> dict[str, Any]:
    """Stored events in `seq` order; pass `next_cursor` back as `cursor` for the next page."""
    sid = session_id(id)
    await svc.manager.get(sid)
    flt = EventFilter(name or (), pid or (), comm or (), since_ns, until_ns)
    after = int(cursor) if cursor is not None else None
    if after is not None and not -INT64_MAX - 1 <= after <= INT64_MAX:
        raise SpecError(f"cursor {cursor} is out of range", {"cursor": cursor})

    def load() -> list[dict[str, Any]]:
        with svc.db() as db:
            return events_page(db, sid, flt, after, limit + 1)

    rows = await asyncio.to_thread(load)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"events": rows, "next_cursor": str(rows[-1]["seq"]) if more and rows else None}


@router.get("/{id}/maps", response_model=MapsOut, operation_id="sessions-get_maps")
async def get_maps(svc: ServicesDep, _p: Viewer, id: str) -> dict[str, Any]:
    """bpf: current map contents of a running session, else the final snapshot."""
    return await svc.manager.maps(session_id(id))
