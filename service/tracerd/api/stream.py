"""WS /v1/sessions/{id}/stream: live batches, optionally resumed from a stored `seq`.

Resuming: the subscription starts first (live messages queue up from `seq` S on), then
stored events from `from_seq` up to S-1 are sent once the writer has committed them,
then the queued live messages: no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..auth import Role
from ..errors import NotFound, TracerdError, Unauthenticated
from ..storage.queries import EventFilter, events_page
from ..stream.hub import Message
from ..types import LOST_EVENT_NAME
from .deps import bearer_token, resolve_principal, services, session_id

router = APIRouter(tags=["stream"])

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
STORED_CHUNK = 2000


def stored_messages(events: list[dict[str, Any]]) -> list[Message]:
    out: list[Message] = []
    run: list[dict[str, Any]] = []
    for ev in events:
        if ev["name"] == LOST_EVENT_NAME:
            if run:
                out.append({"type": "events", "events": run})
                run = []
            out.append(
                {
                    "type": "lost",
                    "seq": ev["seq"],
                    "source": ev["fields"].get("source"),
                    "count": ev["fields"].get("count"),
                    "cpu": ev["cpu"],
                    "ts_ns": ev["ts_ns"],
                }
            )
        else:
            run.append(ev)
    if run:
        out.append({"type": "events", "events": run})
    return out


async def _authorise(websocket: WebSocket) -> int | None:
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
    try:
        sid = session_id(websocket.path_params["id"])
        await services(websocket).manager.get(sid)
    except NotFound:
        await websocket.close(CLOSE_NOT_FOUND)
        return None
    return sid


@router.websocket("/v1/sessions/{id}/stream")
async def stream_session(websocket: WebSocket) -> None:
    sid = await _authorise(websocket)
    if sid is None:
        return
    svc = services(websocket)
    params = websocket.query_params
    names = params.getlist("name") or None
    pids = [int(p) for p in params.getlist("pid") if p.lstrip("-").isdigit()] or None
    from_seq = params.get("from_seq")
    sub = svc.hub.subscribe(sid, names, pids)
    watcher = asyncio.create_task(_watch_disconnect(websocket))
    try:
        live = svc.manager.live.get(sid)
        live_seq = live.next_seq if live is not None else None
        state = live.state.value if live is not None else (await svc.manager.get(sid))["state"]
        await _send(websocket, {"type": "state", "state": state})
        if from_seq is not None and from_seq.lstrip("-").isdigit():
            await _send_stored(
                websocket, sid, int(from_seq), live_seq, EventFilter(names or (), pids or ())
            )
        if live is None or live.is_final:
            await _send(websocket, {"type": "end"})
            return
        while not watcher.done():
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                return
            message = getter.result()
            await _send(websocket, message)
            if message["type"] == "end":
                return
    except (WebSocketDisconnect, RuntimeError, TracerdError):
        return
    finally:
        svc.hub.unsubscribe(sub)
        watcher.cancel()
        with contextlib.suppress(Exception):
            await websocket.close()


async def _send_stored(
    websocket: WebSocket, sid: int, from_seq: int, live_seq: int | None, flt: EventFilter
) -> None:
    svc = services(websocket)
    until = live_seq - 1 if live_seq is not None else None
    if until is not None:
        await svc.writer.wait_committed(sid, until)
    cursor = from_seq - 1
    while True:

        def load(after: int = cursor) -> list[dict[str, Any]]:
            with svc.db() as db:
                return events_page(db, sid, flt, after, STORED_CHUNK, until)

        page = await asyncio.to_thread(load)
        for message in stored_messages(page):
            await _send(websocket, message)
        if len(page) < STORED_CHUNK:
            return
        cursor = page[-1]["seq"]


async def _send(websocket: WebSocket, message: Message) -> None:
    await websocket.send_text(orjson.dumps(message).decode())


async def _watch_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                return
