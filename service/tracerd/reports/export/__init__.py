"""Exports of a stored session as a stream of bytes: `jsonl`, `csv`, `chrome`, `perfetto`,
`text`.

`export_stream` is a generator: it fetches the events in chunks (rows.py), encodes each
chunk, optionally gzips it (zlib with a gzip header: a valid .gz stream), and yields it.
Memory stays bounded by one chunk whatever the session's size; the HTTP route hands the
generator to a StreamingResponse (chunked transfer encoding).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...storage.queries import EventFilter
from ...storage.tables import EventRow, RollupTaskRow
from ..query import SessionInfo, rollups_complete
from .chrome import ChromeTrace
from .lines import Csv, JsonLines
from .perfetto import ArgNames, PerfettoTrace
from .rows import Row, iter_chunks
from .text import Text

Format = Literal["jsonl", "csv", "chrome", "perfetto", "text"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "chrome", "perfetto", "text")
GZIP_LEVEL = 6
GZIP_WBITS = 31  # zlib with a gzip header and trailer


class Encoder(Protocol):
    media_type: str
    suffix: str

    def header(self) -> bytes: ...
    def encode(self, rows: list[Row]) -> bytes: ...
    def footer(self) -> bytes: ...


def first_ts(db: Session, session_id: int) -> int:
    query = (
        select(EventRow.ts_ns)
        .where(EventRow.session_id == session_id)
        .order_by(EventRow.ts_ns)
        .limit(1)
    )
    value = db.execute(query).scalar()
    return int(value) if value is not None else 0


def session_names(db: Session, session_id: int) -> list[str]:
    """The event names a session holds (rollups, else the name index)."""
    if rollups_complete(db, session_id):
        query = select(RollupTaskRow.name).where(RollupTaskRow.session_id == session_id)
    else:
        query = select(EventRow.name).where(EventRow.session_id == session_id)
    return sorted(set(db.scalars(query.distinct())))


def encoder_for(
    fmt: Format,
    info: SessionInfo,
    base_ns: int,
    print_fmts: Mapping[str, str] | None = None,
    arg_names: ArgNames | None = None,
) -> Encoder:
    if fmt == "jsonl":
        return JsonLines()
    if fmt == "csv":
        return Csv()
    if fmt == "chrome":
        return ChromeTrace(base_ns, info.kind, info.id)
    if fmt == "perfetto":
        title = f"tracerd session {info.id}" + (f" ({info.name})" if info.name else "")
        return PerfettoTrace(info.kind, info.id, base_ns, info.wall_offset_ns, arg_names, title)
    tool = info.spec.get("tool")
    return Text(
        info.kind,
        info.wall_offset_ns,
        base_ns,
        print_fmts or {},
        str(tool) if tool else None,
        tracer=str(info.spec.get("tracer") or "nop"),
    )


def export_stream(
    sessions: Callable[[], Session],
    info: SessionInfo,
    flt: EventFilter,
    encoder: Encoder,
    until_seq: int | None = None,
    gzip: bool = False,
) -> Iterator[bytes]:
    """The whole export, chunk by chunk."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS) if gzip else None

    def out(data: bytes) -> bytes:
        return packer.compress(data) if packer is not None else data

    head = out(encoder.header())
    if head:
        yield head
    for rows in iter_chunks(sessions, info.id, flt, until_seq):
        data = out(encoder.encode(rows))
        if data:
            yield data
    tail = out(encoder.footer())
    if packer is not None:
        tail += packer.flush()
    if tail:
        yield tail


__all__ = [
    "FORMATS",
    "Encoder",
    "Format",
    "encoder_for",
    "export_stream",
    "first_ts",
    "session_names",
]
