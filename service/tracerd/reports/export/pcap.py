"""Packet sessions exported as capture files tcpdump and Wireshark read: `pcap`, `pcapng`,
and `text` lines as tcpdump prints them.

Each `packet` event carries the captured bytes (`data`, base64), the wire length (`len`)
and the session-clock timestamp; the wall time written is `ts_ns + wall_offset_ns`, the
kernel's own CLOCK_REALTIME stamp back exactly. The link type is the session's (EN10MB,
or LINUX_SLL2 for `any`), the snap length the session's.

pcap: the nanosecond-resolution variant (magic 0xa1b23c4d). pcapng: one section (SHB,
`shb_userappl`), one interface (IDB with `if_name`, `if_tsresol` = ns, `if_filter` the
libpcap expression), one Enhanced Packet Block per packet; a kernel drop recorded before a
packet becomes that packet's `epb_dropcount` (drops since the previous packet, in place),
and an Interface Statistics Block ends the file with `isb_ifrecv` / `isb_ifdrop` (the
kernel's PACKET_STATISTICS totals), `isb_starttime` and `isb_endtime`.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

import orjson

from ...specs import PacketSpec
from ...types import LOST_EVENT_NAME
from .rows import Row

PACKET_EVENT = "packet"
LINKTYPES = {"EN10MB": 1, "LINUX_SLL2": 276, "LINUX_SLL": 113, "RAW": 101}
PCAP_NS_MAGIC = 0xA1B23C4D
SHB, IDB, EPB, ISB = 0x0A0D0D0A, 0x00000001, 0x00000006, 0x00000005
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, OPT_COMMENT = 0, 1
SHB_USERAPPL = 4
IF_NAME, IF_TSRESOL, IF_FILTER = 2, 9, 11
EPB_DROPCOUNT = 4
ISB_STARTTIME, ISB_ENDTIME, ISB_IFRECV, ISB_IFDROP = 2, 3, 4, 5


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(options: list[bytes]) -> bytes:
    return b"".join(options) + struct.pack("<HH", OPT_END, 0) if options else b""


def _block(kind: int, body: bytes) -> bytes:
    size = 12 + len(body)
    return struct.pack("<II", kind, size) + body + struct.pack("<I", size)


def _ts(ns: int) -> bytes:
    return struct.pack("<II", ns >> 32, ns & 0xFFFFFFFF)


class _Capture:
    """What both formats share: the session's link type, snap length and clock."""

    media_type = "application/vnd.tcpdump.pcap"

    def __init__(self, spec: PacketSpec, info: dict[str, Any], wall_offset_ns: int) -> None:
        self.linktype = LINKTYPES.get(str(info.get("linktype") or "EN10MB"), 1)
        self.snaplen = spec.snaplen
        self.wall_offset_ns = wall_offset_ns
        self.interface = str(info.get("interface") or spec.interface)
        self.filter = spec.filter
        self.info = info
        self.first_ns: int | None = None
        self.last_ns = 0
        self.drops = 0
        self.pending_drops = 0

    def packets(self, rows: list[Row]) -> list[tuple[int, int, bytes]]:
        """(wall ns, wire length, bytes) of each packet; drops counted as they come."""
        out = []
        for row in rows:
            if row.name == LOST_EVENT_NAME:
                count = int(orjson.loads(row.fields).get("count") or 0)
                self.drops += count
                self.pending_drops += count
                continue
            if row.name != PACKET_EVENT:
                continue
            fields = orjson.loads(row.fields)
            wall = row.ts_ns + self.wall_offset_ns
            if self.first_ns is None:
                self.first_ns = wall
            self.last_ns = wall
            out.append((wall, int(fields["len"]), base64.b64decode(fields.get("data") or "")))
        return out


class Pcap(_Capture):
    suffix = "pcap"

    def header(self) -> bytes:
        return struct.pack("<IHHiIII", PCAP_NS_MAGIC, 2, 4, 0, 0, self.snaplen, self.linktype)

    def encode(self, rows: list[Row]) -> bytes:
        return b"".join(
            struct.pack("<IIII", wall // 1_000_000_000, wall % 1_000_000_000, len(data), length)
            + data
            for wall, length, data in self.packets(rows)
        )

    def footer(self) -> bytes:
        return b""


class Pcapng(_Capture):
    suffix = "pcapng"
    media_type = "application/x-pcapng"

    def header(self) -> bytes:
        shb = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
        shb += _options([_option(SHB_USERAPPL, b"tracerd")])
        idb_options = [
            _option(IF_NAME, self.interface.encode()),
            _option(IF_TSRESOL, b"\x09"),
        ]
        if self.filter:
            idb_options.append(_option(IF_FILTER, b"\0" + self.filter.encode()))
        idb = struct.pack("<HHI", self.linktype, 0, self.snaplen) + _options(idb_options)
        return _block(SHB, shb) + _block(IDB, idb)

    def encode(self, rows: list[Row]) -> bytes:
        out = []
        for row in rows:
            before = self.pending_drops
            for wall, length, data in self.packets([row]):
                body = struct.pack("<I", 0) + _ts(wall) + struct.pack("<II", len(data), length)
                body += _pad(data)
                if before:
                    body += _options([_option(EPB_DROPCOUNT, struct.pack("<Q", before))])
                    self.pending_drops = 0
                out.append(_block(EPB, body))
        return b"".join(out)

    def footer(self) -> bytes:
        now = time.time_ns()
        received = int(self.info.get("kernel_packets") or 0)
        dropped = int(self.info.get("kernel_drops") or self.drops)
        options = [
            _option(ISB_IFRECV, struct.pack("<Q", received)),
            _option(ISB_IFDROP, struct.pack("<Q", dropped)),
        ]
        if self.first_ns is not None:
            options.insert(0, _option(ISB_STARTTIME, _ts(self.first_ns)))
            options.insert(1, _option(ISB_ENDTIME, _ts(self.last_ns)))
        return _block(ISB, struct.pack("<I", 0) + _ts(self.last_ns or now) + _options(options))


class TcpdumpText:
    """`tcpdump -n` lines: local time of day with microseconds, then the summary."""

    media_type = "text/plain; charset=utf-8"
    suffix = "txt"

    def __init__(self, wall_offset_ns: int) -> None:
        self.wall_offset_ns = wall_offset_ns

    def header(self) -> bytes:
        return b""

    def encode(self, rows: list[Row]) -> bytes:
        lines = []
        for row in rows:
            if row.name != PACKET_EVENT:
                continue
            wall = row.ts_ns + self.wall_offset_ns
            clock = time.strftime("%H:%M:%S", time.localtime(wall // 1_000_000_000))
            text = orjson.loads(row.fields).get("text", "")
            lines.append(f"{clock}.{wall % 1_000_000_000 // 1000:06d} {text}\n")
        return "".join(lines).encode()

    def footer(self) -> bytes:
        return b""
