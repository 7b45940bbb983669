"""BpftraceSession's pure parts: the stop grace, the text stream with map snapshots taken
out of it, the corrected `Attaching N probes...` line (no bpftrace run here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracerd.engines.bpf import bpftrace as bs
from tracerd.types import WireEvent


class Sink:
    def __init__(self) -> None:
        self.events: list[WireEvent] = []
        self.maps_sent: list[dict[str, Any]] = []

    def emit(self, events: Sequence[WireEvent]) -> None:
        self.events += events

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        self.maps_sent.append(dict(maps))

    def lost_total(self, source: str, count: int) -> None:
        pass


def session(tmp_path: Path, interval: float | None = None) -> bs.BpftraceSession:
    return bs.BpftraceSession(
        1,
        "k:f { @x = count(); }",
        None,  # type: ignore[arg-type] - no ledger needed without a child
        str(tmp_path),
        exclude=(),
        pid=None,
        comm=None,
        map_interval_s=interval,
        options=bs.Options(format="text"),
        stop_timeout_s=30.0,
    )


def test_stop_grace_follows_the_stop_timeout(tmp_path: Path) -> None:
    s = session(tmp_path)
    s.probes = 360  # ~30 s to detach here
    assert s.stop_grace() == 36.0
    s.probes = 10
    assert s.stop_grace() == 30.0
    s.probes = 100_000
    assert s.stop_grace() == 120.0


def test_snapshots_leave_the_text_and_become_maps(tmp_path: Path) -> None:
    s = session(tmp_path)
    sink = Sink()
    s._sink = sink
    snap = s._snap
    begin, end, final = (m.encode() for m in (snap.begin, snap.end, snap.final))
    s._buf = b"a" + begin + b"@x: 3\n\n" + end[:5]
    s._deliver(final=True)
    assert [e.fields["text"] for e in sink.events] == ["a"]
    assert s.read_maps() == {}
    s._buf += end[5:] + b"b\n" + begin[:4]
    s._deliver(final=True)
    assert [e.fields["text"] for e in sink.events] == ["a", "b\n"]
    assert s.read_maps() == {"@x": {"type": "value", "value": 3}}
    assert sink.maps_sent == []  # no map_interval_s: not streamed
    s._buf += begin[4:] + b"@x: 4\n" + end + b"end\n" + final + b"\n\n@x: 5\n"
    s._deliver(final=False)
    text = "".join(e.fields["text"] for e in sink.events)
    assert text == "ab\nend\n\n\n@x: 5\n"
    assert s.read_maps() == {"@x": {"type": "value", "value": 4}}
    s.stop()  # no child: the final maps come from the exit print
    assert s.read_maps() == {"@x": {"type": "value", "value": 5}}
    assert sink.maps_sent == [{"@x": {"type": "value", "value": 5}}]


def test_snapshots_are_streamed_with_map_interval(tmp_path: Path) -> None:
    s = session(tmp_path, interval=0.5)
    assert s._snap.interval_ms == 500
    sink = Sink()
    s._sink = sink
    s._buf = s._snap.begin.encode() + b"@x: 1\n" + s._snap.end.encode()
    s._deliver(final=False)
    assert sink.maps_sent == [{"@x": {"type": "value", "value": 1}}]
    assert sink.events == []


def test_announced_probes_without_the_added_ones() -> None:
    assert bs._announced(b"Attaching 3 probes...\nx\n", 2) == b"Attaching 1 probe...\nx\n"
    assert bs._announced(b"Attaching 5 probes...\n", 1) == b"Attaching 4 probes...\n"
    record = b'{"type": "attached_probes", "data": {"probes": 4}}\n'
    assert bs._announced(record, 2) == b'{"type": "attached_probes", "data": {"probes": 2}}\n'
    assert bs._announced(b"Attaching 3 probes...\n", 0) == b"Attaching 3 probes...\n"


def test_bytes_that_are_not_utf8_reach_the_cli_as_bpftrace_wrote_them(tmp_path: Path) -> None:
    """printf("%c", 200) writes byte 0xc8: the text event carries it exactly (bytes_b64) and
    the CLI writes those bytes, not U+FFFD's three."""
    import io

    from tracerd.cli.render import _bpftrace_printer

    s = session(tmp_path)
    sink = Sink()
    s._sink = sink
    s._buf = b"ok\n\xc8A|\n"
    s._deliver(final=True)
    fields = [e.fields for e in sink.events]
    assert fields[0] == {"text": "ok\n"}
    assert fields[1]["text"] == "\ufffdA|\n"
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    spec = {"spec": {"bpftrace_options": {"format": "text"}}}
    _bpftrace_printer(spec, out)(
        {"type": "events", "events": [{"name": "text", "fields": f} for f in fields]}
    )
    out.flush()
    assert out.buffer.getvalue() == b"ok\n\xc8A|\n"  # type: ignore[attr-defined]
