"""The page decoder on hand-built sub-buffers: every record type and field kind."""

from __future__ import annotations

import os
import struct

from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.registry import UNKNOWN_LOST, EventRegistry
from tracerd.types import WireEvent

COMMON = """\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
"""
KINDS = (
    COMMON
    + """
\tfield:long neg;\toffset:8;\tsize:8;\tsigned:1;
\tfield:long arr[2];\toffset:16;\tsize:16;\tsigned:1;
\tfield:__rel_loc char[] rs;\toffset:32;\tsize:4;\tsigned:0;
\tfield:__data_loc u32[] nums;\toffset:36;\tsize:4;\tsigned:0;
\tfield:char name[8];\toffset:40;\tsize:8;\tsigned:0;
\tfield:u8 odd[3];\toffset:48;\tsize:3;\tsigned:0;
\tfield:unsigned long args[];\toffset:56;\tsize:0;\tsigned:0;
"""
)
SMALL = COMMON + "\n\tfield:int v;\toffset:8;\tsize:4;\tsigned:1;\n"


def registry() -> EventRegistry:
    reg = EventRegistry()
    reg.add_text(f'name: kinds\nID: 10\nformat:\n{KINDS}\nprint fmt: ""\n', "test")
    reg.add_text(f'name: small\nID: 11\nformat:\n{SMALL}\nprint fmt: ""\n', "test")
    reg.add_text(f'name: print\nID: 5\nformat:\n{SMALL}\nprint fmt: ""\n', "ftrace")
    return reg


def rec(type_len: int, delta: int, body: bytes = b"", arg: int | None = None) -> bytes:
    head = struct.pack("<I", type_len | (delta << 5))
    return head + (struct.pack("<I", arg) if arg is not None else b"") + body


def small(v: int, delta: int = 1, pid: int = 42) -> bytes:
    return rec(3, delta, struct.pack("<HBBii", 11, 0, 0, pid, v))


def page(records: bytes, ts: int = 1000, flags: int = 0, lost: int | None = None) -> bytes:
    commit = len(records) | flags
    body = records + (struct.pack("<Q", lost) if lost is not None else b"")
    return (struct.pack("<QQ", ts, commit) + body).ljust(4096, b"\0")


def decode(pg: bytes) -> tuple[PageDecoder, list[WireEvent]]:
    dec = PageDecoder(registry())
    out: list[WireEvent] = []
    dec.decode(pg, 0, out)
    return dec, out


def test_all_field_kinds() -> None:
    payload = bytearray(struct.pack("<HBBi", 10, 0, 0, 7))
    payload += struct.pack("<qqq", -5, -1, 2)
    # rs: rel_loc, offset counted from the end of the field (36); nums: data_loc from start
    payload += struct.pack("<I", (3 << 16) | (72 - 36))
    payload += struct.pack("<I", (8 << 16) | 76)
    payload += b"abc\0\0\0\0\0" + b"\x01\x02\x03" + b"\0" * 5
    payload += struct.pack("<QQ", 9, 10)  # args[] 56..72
    payload += b"xy\0\0" + struct.pack("<II", 4000000000, 5)
    _, out = decode(page(rec(0, 7, bytes(payload), arg=len(payload) + 4)))
    assert len(out) == 1
    ev = out[0]
    assert (ev.ts_ns, ev.tid, ev.name) == (1007, 7, "test:kinds")
    assert ev.fields == {
        "neg": -5,
        "arr": [-1, 2],
        "rs": "xy",
        "nums": [4000000000, 5],
        "name": "abc",
        "odd": [1, 2, 3],
        # args[] runs to the payload's end: whole 8-byte elements only
        "args": [9, 10, 0x7978 | (4000000000 << 32)],
    }


def test_time_extend_padding_and_end() -> None:
    recs = (
        small(1, delta=5)
        + rec(30, 3, arg=2)  # TIME_EXTEND: (2 << 27) + 3
        + small(2, delta=0)
        + rec(29, 11, b"\0" * 4, arg=8)  # discarded: delta kept
        + small(3, delta=1)
        + rec(29, 0)
        + small(4)
    )  # padding delta 0 ends the page
    dec, out = decode(page(recs))
    assert [e.fields["v"] for e in out] == [1, 2, 3]
    assert [e.ts_ns for e in out] == [1005, 1005 + (2 << 27) + 3, 1005 + (2 << 27) + 3 + 12]
    assert dec.errors == 0


def test_absolute_timestamp_keeps_the_top_bits() -> None:
    top = 0x3 << 59
    start = top | ((1 << 59) - 100)
    recs = rec(31, 50 & ((1 << 27) - 1), arg=0) + small(1, delta=0)
    _, out = decode(page(recs, ts=start))
    assert out[0].ts_ns == top + (1 << 59) + 50  # went backwards in 59 bits: wrapped
    plain = rec(31, 7, arg=1) + small(1, delta=0)
    _, out = decode(page(plain, ts=5))
    assert out[0].ts_ns == (1 << 27) + 7


def test_missed_events_flags() -> None:
    _, out = decode(page(small(1), flags=(1 << 31) | (1 << 30) | (0xFFFFFFFF << 32), lost=9))
    assert [(e.name, e.fields.get("count")) for e in out] == [("lost", 9), ("test:small", None)]
    _, out = decode(page(small(1), flags=1 << 31))
    assert out[0].fields["count"] == UNKNOWN_LOST


def test_unknown_and_short_records_are_counted() -> None:
    unknown = rec(3, 1, struct.pack("<HBBii", 99, 0, 0, 1, 0))
    short = rec(2, 1, struct.pack("<HBBi", 10, 0, 0, 1))  # kinds needs 56 bytes
    dec, out = decode(page(unknown + short + small(5)))
    assert [e.fields["v"] for e in out] == [5]
    assert (dec.unknown, dec.errors) == (1, 1)


def test_negative_common_pid_and_no_tasks() -> None:
    _, out = decode(page(small(-3, pid=-1)))
    assert (out[0].tid, out[0].pid, out[0].comm, out[0].fields) == (-1, None, None, {"v": -3})


GONE = 5_000_000  # above any pid_max: no /proc entry, the decoder trusts the task cache


class _Tasks:
    """A TaskLookup where threads GONE+7 and GONE+8 belong to process 7, any other tid to
    itself, and the live tid `stale` (a reused pid) still maps to process 7 (as a stale
    `saved_tgids` entry would)."""

    def __init__(self, stale: int) -> None:
        self.cache: dict[int, tuple[int | None, str | None]] = {}
        self.stale = stale

    def tick(self) -> None:
        pass

    def lookup(self, tid: int) -> tuple[int | None, str | None]:
        self.cache[tid] = (7 if tid in (GONE + 7, GONE + 8, self.stale) else tid, "t")
        return self.cache[tid]

    def hooks(self) -> dict[str, object]:
        return {}

    def in_time_order(self, events: list[WireEvent], horizon: int) -> list[WireEvent]:
        return events


def test_skipped_processes_are_dropped_by_tgid() -> None:
    """A system-wide session drops every thread of an excluded process (the daemon's new
    threads the kernel's notrace list does not know yet), and nothing else: a live thread
    that the cache wrongly places in it (a pid reused after the pid space wrapped) is kept,
    as /proc tells its real tgid."""
    me = os.getpid()
    dec = PageDecoder(registry(), _Tasks(stale=me))  # type: ignore[arg-type]
    pg = page(
        small(1, pid=GONE + 7)
        + small(2, pid=GONE + 8)
        + small(3, pid=42)
        + small(4, pid=GONE + 8)
        + small(5, pid=me)
    )
    out: list[WireEvent] = []
    dec.decode(pg, 0, out)
    assert [e.fields["v"] for e in out] == [1, 2, 3, 4, 5]
    dec.skip_processes([7])
    out = []
    dec.decode(pg, 0, out)
    assert [(e.tid, e.fields["v"]) for e in out] == [(42, 3), (me, 5)]
    assert dec.skipped == 3


def test_markers_of_skipped_processes_are_kept() -> None:
    """trace_marker writes (ftrace:print) of an excluded process stay: the kernel's pid lists
    never filter them, and the worker writes the API's markers (POST .../marker)."""
    marker = rec(3, 1, struct.pack("<HBBii", 5, 0, 0, GONE + 7, 9))
    dec = PageDecoder(registry(), _Tasks(stale=-1))  # type: ignore[arg-type]
    dec.skip_processes([7])
    out: list[WireEvent] = []
    dec.decode(page(small(1, pid=GONE + 7) + marker + small(3, pid=42)), 0, out)
    assert [(e.name, e.pid, e.fields["v"]) for e in out] == [
        ("ftrace:print", 7, 9),
        ("test:small", 42, 3),
    ]
    assert dec.skipped == 1
