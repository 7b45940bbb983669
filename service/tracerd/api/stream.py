"""WS /v1/sessions/{id}/stream: live batches, optionally resumed from a stored `seq`.

Resuming: the subscription starts first (live messages queue up from `seq` S on), then
stored events from `from_seq` up to S-1 are sent once the writer has committed them (the
next page is read in a thread while this one is sent), then the queued live messages: no
gap, no duplicate.

`?format=columns` (opt-in; `events` is the default) sends events as `columns` messages
(stream/columns.py); an unknown format closes the stream with 4400.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from itertools import islice

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import Connection, Engine

from ..auth import Principal, Role
from ..columns import COLUMNS_FORMAT, EVENTS_FORMAT, FORMATS
from ..errors import NotFound, TracerdError, Unauthenticated
from ..fields import load_fields
from ..storage.queries import EventFilter
from ..storage.replay import (
    Escaped,
    events_message,
    last_stored_seq,
    loss_records,
    stored_columns,
)
from ..stream.hub import (
    Subscriber,
    TooManySubscribers,
    lost_message,
)
from .deps import bearer_token, resolve_principal, services, session_id

router = APIRouter(tags=["stream"])

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
STORED_PAGE = 10_000  # seqs read (and sent as at most one `events` message) per query
COLUMNS_PAGE = 25_000  # the same for `columns` messages (~1.5 MB; 1.2x the rows/CPU-s)
REPLAY_AHEAD = 2  # ranges read at once (SQLite formats them outside the GIL, in parallel)
END = '{"type":"end"}'


def stored_messages(
    conn: Connection,
    sid: int,
    flt: EventFilter,
    first: int,
    last: int,
    escaped: Escaped,
    format: str = EVENTS_FORMAT,
) -> list[str]:
    """Stored seqs `first..last` -> stream messages as JSON text: `events` (or `columns`)
    runs encoded by the database (see storage/replay.py) split by `lost` messages where loss
    records fall. Loss records are sent whatever the filter (as live)."""
    encode = stored_columns if format == COLUMNS_FORMAT else events_message
    out: list[str] = []
    start = first
    for seq, ts_ns, cpu, fields in loss_records(conn, sid, first, last):
        if start < seq and (text := encode(conn, sid, flt, start, seq - 1, escaped)):
            out.append(text)
        lost = load_fields(fields)
        message = lost_message(seq, lost.get("source"), lost.get("count"), cpu, ts_ns)
        out.append(orjson.dumps(message).decode())
        start = seq + 1
    if start <= last and (text := encode(conn, sid, flt, start, last, escaped)):
        out.append(text)
    return out


async def _authorise(websocket: WebSocket) -> Principal | None:
    token = bearer_token(websocket)
    subprotocol = (
        token if token and token in websocket.headers.get("sec-websocket-protocol", "") else None
    )
    await websocket.accept(subprotocol=subprotocol)
    try:
        principal = resolve_principal(websocket)
    except Unauthenticated:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    if not principal.allows(Role.VIEWER):
        await websocket.close(CLOSE_FORBIDDEN)
        return None
    return principal


async def _session(websocket: WebSocket) -> int | None:
    try:
        sid = session_id(websocket.path_params["id"])
        await services(websocket).manager.get(sid)
    except NotFound:
        await websocket.close(CLOSE_NOT_FOUND)
        return None
    return sid


@router.websocket("/v1/sessions/{id}/stream")
async def stream_session(websocket: WebSocket) -> None:
    principal = await _authorise(websocket)
    if principal is None:
        return
    sid = await _session(websocket)
    if sid is None:
        return
    svc = services(websocket)
    params = websocket.query_params
    names = params.getlist("name") or None
    pids = [int(p) for p in params.getlist("pid") if p.lstrip("-").isdigit()] or None
    from_seq = params.get("from_seq")
    format = params.get("format", EVENTS_FORMAT)
    if format not in FORMATS:
        await websocket.close(CLOSE_BAD_REQUEST, f"format must be one of {', '.join(FORMATS)}")
        return
    try:
        sub = svc.hub.subscribe(sid, names, pids, principal.id, format)
    except TooManySubscribers as exc:
        await websocket.close(CLOSE_TOO_MANY, exc.message)
        return
    watcher = asyncio.create_task(_watch_disconnect(websocket))
    try:
        position = svc.manager.live_position(sid)
        live_seq = position[0] if position is not None else None
        state = position[1] if position is not None else (await svc.manager.get(sid))["state"]
        await _send(websocket, orjson.dumps({"type": "state", "state": state}).decode())
        if from_seq is not None and from_seq.lstrip("-").isdigit():
            flt = EventFilter(names or (), pids or ())
            if not await _send_stored(websocket, sub, sid, int(from_seq), live_seq, flt):
                return
        if not svc.manager.is_streaming(sid):
            await _send(websocket, END)
            return
        await _send_live(websocket, sub, watcher)
    except (WebSocketDisconnect, RuntimeError, TracerdError):
        return
    finally:
        svc.hub.unsubscribe(sub)
        watcher.cancel()
        with contextlib.suppress(Exception):
            await websocket.close(sub.close_code or 1000, sub.close_reason or None)


async def _send_live(websocket: WebSocket, sub: Subscriber, watcher: asyncio.Task[None]) -> None:
    hub = services(websocket).hub
    while sub.close_code is None:
        messages = hub.take(sub)
        if not messages:
            sub.wake.clear()
            waiter = asyncio.create_task(sub.wake.wait())
            done, _ = await asyncio.wait({waiter, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
                return
            continue
        for data in messages:
            await _send(websocket, data)
            if data == END:
                return


async def _send_stored(
    websocket: WebSocket,
    sub: Subscriber,
    sid: int,
    from_seq: int,
    live_seq: int | None,
    flt: EventFilter,
) -> bool:
    """Replay stored events; False if the stream was closed meanwhile (a revoked token).
    The next ranges are read in threads while this one is sent."""
    svc = services(websocket)
    if live_seq is not None:
        await svc.manager.wait_committed(sid, live_seq - 1)
    until, escaped = await asyncio.to_thread(_replay_range, svc.engine, sid, live_seq)
    if until is None:
        return True

    page = COLUMNS_PAGE if sub.format == COLUMNS_FORMAT else STORED_PAGE

    def load(first: int) -> list[str]:
        last = min(first + page - 1, until)
        with svc.engine.connect() as conn:
            return stored_messages(conn, sid, flt, first, last, escaped, sub.format)

    starts = iter(range(max(from_seq, 0), until + 1, page))
    ahead = deque(
        asyncio.ensure_future(asyncio.to_thread(load, first))
        for first in islice(starts, REPLAY_AHEAD)
    )
    try:
        while ahead:
            messages = await ahead.popleft()
            for first in islice(starts, 1):
                ahead.append(asyncio.ensure_future(asyncio.to_thread(load, first)))
            for data in messages:
                if sub.close_code is not None:
                    return False
                await _send(websocket, data)
    finally:
        for task in ahead:
            task.cancel()
    return True


def _replay_range(engine: Engine, sid: int, live_seq: int | None) -> tuple[int | None, Escaped]:
    """The last seq to replay (before the live ones), and the names needing escapes."""
    with engine.connect() as conn:
        last = live_seq - 1 if live_seq is not None else last_stored_seq(conn, sid)
        return last, Escaped.read(conn, sid)


async def _send(websocket: WebSocket, data: str) -> None:
    await websocket.send_text(data)


async def _watch_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                return


@router.websocket("/{path:path}")
async def unmatched(websocket: WebSocket) -> None:
    """Any other WebSocket path: 4401 without valid credentials, else 4404 (not HTTP 403)."""
    if await _authorise(websocket) is not None:
        await websocket.close(CLOSE_NOT_FOUND)
