"""An instance's text `trace_pipe`: its lines as they come, parsed as the kernel prints them.

Requirements: tracefs; the instance exists (its pipe is opened non-blocking and polled, so
a reader notices its stop flag within the poll timeout). A read consumes what it returns:
one reader per instance. The default output format is
`COMM-TID [CPU] FLAGS SEC.USEC: EVENT: BODY` (the flags column missing on old kernels); a
uprobe's body is `(0xIP) NAME=VALUE ...` (kernel-interfaces 1.4).
"""

from __future__ import annotations

import os
import re
import select
import threading
from collections.abc import Generator
from typing import NamedTuple

from .tracefs import Instance

_LINE = re.compile(
    r"^\s*(?P<comm>.*?)-(?P<tid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?:\S+\s+)?(?P<sec>\d+)\.(?P<usec>\d+):"
    r" (?P<event>\w+): (?P<body>.*)$"
)
_PROBE_BODY = re.compile(r"^\((?P<ip>0x[0-9a-f]+)[^)]*\)(?P<args>.*)$")
_PROBE_ARG = re.compile(r"arg\d=(0x[0-9a-f]+)")
READ_SIZE = 65536


class PipeLine(NamedTuple):
    """One record of the text pipe."""

    comm: str
    tid: int
    cpu: int
    ts_ns: int
    event: str
    body: str


class ProbeHit(NamedTuple):
    """The body of a uprobe/kprobe record: where it fired and its `argN=0x...` values."""

    ip: int
    args: list[int]


def parse_line(line: str) -> PipeLine | None:
    """A line of the default output format; None for anything else (notes, lost-event lines)."""
    m = _LINE.match(line)
    if m is None:
        return None
    ts = int(m.group("sec")) * 1_000_000_000 + int(m.group("usec").ljust(6, "0")[:9]) * 1000
    return PipeLine(
        m.group("comm"), int(m.group("tid")), int(m.group("cpu")), ts, m["event"], m["body"]
    )


def parse_probe_body(body: str) -> ProbeHit | None:
    m = _PROBE_BODY.match(body)
    if m is None:
        return None
    return ProbeHit(int(m.group("ip"), 16), [int(v, 16) for v in _PROBE_ARG.findall(m["args"])])


def follow(instance: Instance, stop: threading.Event, poll_ms: int) -> Generator[str, None, None]:
    """The pipe's lines until `stop` is set (checked at least every `poll_ms`)."""
    fd = instance.open_pipe()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    pending = ""
    try:
        while not stop.is_set():
            poller.poll(poll_ms)
            try:
                chunk = os.read(fd, READ_SIZE).decode(errors="replace")
            except BlockingIOError:
                continue
            pending += chunk
            *lines, pending = pending.split("\n")
            yield from lines
    finally:
        os.close(fd)
