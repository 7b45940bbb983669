"""The wire between the daemon and a worker: length-prefixed msgpack frames on a socketpair.

Frames are dicts with a type `t`. Events travel as batches (one frame per batch, never one
per event), a batch as the columns of its events in `types.WireEvent` order.

daemon -> worker: {"t": "cmd", "id", "op": prepare|start|stop|marker|maps, "args"}
                  {"t": "ledger_ack", "id", "key"}
worker -> daemon: {"t": "reply", "id", "ok", "result" | "error"}
                  {"t": "events", "n", "lost", "cols": msgpack of the batch's 10 columns
                   [[ts_ns...], [cpu...], [pid...], [tid...], [comm...], [name...],
                    [fields_json...], [dur_ns...], [ret...], [errno...]]}
                  (an `EventBatch`: columns, not one list per event, and packed once in the
                  worker: the daemon reads `n` and `lost` (in-band loss records in it) on
                  its event loop, unpacks the columns on its writer thread and spools the
                  bytes as they came; rows are built only for stream subscribers and
                  limits. Fields travel as JSON text, made in the worker: the daemon stores
                  it as is and parses it only for stream subscribers. The daemon also takes
                  the older form {"t": "events", "events": [[ts_ns, cpu, ..., errno], ...]})
                  {"t": "maps", "ts_ns", "maps"} {"t": "info", "values"}
                  {"t": "lost_total", "source", "count"}
                  {"t": "ended", "exit_status", "reason", "failed"}
                  {"t": "ledger", "id", "op": record|cross_off, "type", "name", "data", "key"}
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Sequence
from typing import Any, cast

import msgpack
import orjson

from ..fields import dump_fields as dump_fields
from ..fields import json_default
from ..fields import load_fields as load_fields
from ..storage.batch import EventBatch as EventBatch

HEADER = struct.Struct("!I")
MAX_FRAME_BYTES = 256 << 20

Frame = dict[str, Any]


class WireError(Exception):
    pass


def event_row(ev: Any) -> list[Any]:
    """A WireEvent as the wire carries it."""
    ts_ns, cpu, pid, tid, comm, name, fields, dur_ns, ret, errno = ev
    return [ts_ns, cpu, pid, tid, comm, name, dump_fields(fields), dur_ns, ret, errno]


def event_rows(events: Sequence[Any]) -> list[list[Any]]:
    """event_row of each, inlined (this runs for every event a worker sends)."""
    dumps, default = orjson.dumps, json_default
    return [
        [ts_ns, cpu, pid, tid, comm, name, dumps(fields, default=default).decode(), dur, ret, err]
        for ts_ns, cpu, pid, tid, comm, name, fields, dur, ret, err in events
    ]


def events_frame(events: Sequence[Any]) -> Frame:
    """The `events` frame of a batch of WireEvents: its columns packed once."""
    batch = EventBatch.of_events(events)
    return {"t": "events", "n": len(batch), "lost": batch.lost, "cols": batch.body()}


def frame_batch(frame: Frame) -> EventBatch:
    """The batch of an `events` frame (either form), its columns still packed."""
    body = frame.get("cols")
    if body is None:
        return EventBatch.of_rows(frame["events"])
    return EventBatch(int(frame["n"]), int(frame["lost"]), body=bytes(body))


def pack(frame: Frame) -> bytes:
    body = msgpack.packb(frame, use_bin_type=True)
    return HEADER.pack(len(body)) + body


def unpack(body: bytes) -> Frame:
    frame = msgpack.unpackb(body, raw=False, strict_map_key=False)
    if not isinstance(frame, dict) or "t" not in frame:
        raise WireError("malformed frame")
    return cast(Frame, frame)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            return None
        got += k
    return bytes(buf)


def recv_frame(sock: socket.socket) -> Frame | None:
    """Blocking read of one frame; None at EOF."""
    head = _recv_exact(sock, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME_BYTES:
        raise WireError(f"frame of {size} bytes")
    body = _recv_exact(sock, size)
    if body is None:
        return None
    return unpack(body)


async def read_frame(reader: asyncio.StreamReader) -> Frame | None:
    """Async read of one frame; None at EOF."""
    try:
        head = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(head)
        if size > MAX_FRAME_BYTES:
            raise WireError(f"frame of {size} bytes")
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        return None
    return unpack(body)
