"""Exports of a stored session as a stream of bytes: `jsonl`, `csv`, `chrome`, `perfetto`,
`text`; `pcap` and `pcapng` for packet sessions (pcap.py).

`export_stream` is a generator: it fetches the events in chunks (rows.py), encodes each
chunk, optionally gzips it (zlib with a gzip header: a valid .gz stream), and yields it.
Memory stays bounded by one chunk whatever the session's size; the HTTP route hands the
generator to a StreamingResponse (chunked transfer encoding).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...engines.tracefs.kallsyms import boot_printk_strings, boot_symbols
from ...errors import BadRequest
from ...specs import BpfSpec, PacketSpec, TracefsSpec
from ...storage.blocks import ts_span
from ...storage.queries import EventFilter
from ...storage.tables import EventRow, RollupTaskRow
from ..query import SessionInfo, rollups_complete
from .chrome import ChromeTrace
from .lines import Csv, JsonLines
from .pcap import Pcap, Pcapng, TcpdumpText
from .perfetto import ArgNames, PerfettoTrace
from .rows import Row, iter_chunks
from .text import Text

Format = Literal["jsonl", "csv", "chrome", "perfetto", "text", "pcap", "pcapng"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "chrome", "perfetto", "text", "pcap", "pcapng")
CAPTURE_FORMATS = frozenset({"pcap", "pcapng"})
"""formats of packet sessions only"""
GZIP_LEVEL = 6
GZIP_WBITS = 31  # zlib with a gzip header and trailer


class Encoder(Protocol):
    media_type: str
    suffix: str

    def header(self) -> bytes: ...
    def encode(self, rows: list[Row]) -> bytes: ...
    def footer(self) -> bytes: ...


def first_ts(db: Session, session_id: int) -> int:
    first, _last = ts_span(db, session_id)
    if first is not None:
        return int(first)
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


def stored_formats(info: SessionInfo) -> dict[str, Any] | None:
    """The print formats the worker sent with a tracefs session (None: an older session)."""
    formats = info.info.get("formats")
    return formats if isinstance(formats, dict) and "print_fmts" in formats else None


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
    if fmt in CAPTURE_FORMATS:
        if not isinstance(info.spec, PacketSpec):  # the spec of a packet session
            raise BadRequest(f"format {fmt} is for packet sessions", {"format": fmt})
        return (Pcap if fmt == "pcap" else Pcapng)(info.spec, info.info, info.wall_offset_ns)
    if info.kind == "packet":
        return TcpdumpText(info.wall_offset_ns)
    spec = info.spec
    tool = spec.tool if isinstance(spec, BpfSpec) else None
    stored = stored_formats(info)
    return Text(
        info.kind,
        info.wall_offset_ns,
        base_ns,
        stored["print_fmts"] if stored is not None else print_fmts or {},
        str(tool) if tool else None,
        tracer=spec.tracer if isinstance(spec, TracefsSpec) else "nop",
        arrays=stored.get("widths") if stored is not None else None,
        symbols=boot_symbols(stored.get("boot_id")) if stored is not None else None,
        strings=boot_printk_strings(stored.get("boot_id")) if stored is not None else None,
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
    "stored_formats",
]
