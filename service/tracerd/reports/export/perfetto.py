"""Perfetto's native trace format: a protobuf `Trace`, streamed packet by packet.

Built with the generated protos of the PyPI `perfetto` package (protobuf only; its trace
processor, which downloads a binary, is never used). A `Trace` is `repeated TracePacket
packet = 1`, so each packet is written as its own length-delimited field 1 and the file is
valid after every chunk: memory stays bounded by one chunk.

What goes where, all on the session clock (declared as BOOTTIME, with a clock snapshot tying
it to REALTIME through the session's wall offset):
- tracefs events: `FtraceEventBundle` per CPU and chunk; typed `FtraceEvent` fields where
  Perfetto's proto has the event and every field fits, `GenericFtraceEvent` otherwise; a
  kernel loss marks its CPU's bundle `lost_events`;
- sched_switch and sched_waking go into the bundle's `compact_sched` (columns of numbers,
  comms interned per bundle, timestamps as deltas) whenever that form loses nothing: a
  switch whose prev task is the one the CPU's previous switch brought in (Perfetto takes
  prev_* from there), a waking raised by the task running on its CPU (Perfetto takes the
  waker from there); any other one stays typed (the first switch on a CPU, after a loss);
- process and thread names: `ProcessTree` packets, as tasks are first seen;
- ptrace syscalls: `TrackEvent` slices on the thread's track, each argument a named debug
  annotation (names from the kernel's syscall formats), with `ret`/`errno`; other ptrace
  events (exec, signals, exits, command output) are instants with their fields;
- bpf events: instants with their fields; map snapshots: counters, one track per map key
  (histograms: one per bucket);
- `lost` records: instants on the session's track with `source` and `count`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import orjson

from ...types import LOST_EVENT_NAME
from .rows import Row

ArgNames = Callable[[str], Sequence[str] | None]
"""syscall name -> its argument names (None: unknown)"""

CLOCK_REALTIME = 1
CLOCK_BOOTTIME = 6
SEQUENCE_ID = 1
SEQ_INCREMENTAL_STATE_CLEARED = 1
SESSION_TRACK = 1
THREAD_TRACK_BASE = 1 << 40
COUNTER_TRACK_BASE = 1 << 50
TYPE_SLICE_BEGIN, TYPE_SLICE_END, TYPE_INSTANT, TYPE_COUNTER = 1, 2, 3, 4
SKIPPED_FIELDS = frozenset({"__syscall_nr"})
SWITCH_FIELDS = frozenset(
    {"prev_comm", "prev_pid", "prev_prio", "prev_state", "next_comm", "next_pid", "next_prio"}
)
WAKING_FIELDS = frozenset({"comm", "pid", "prio", "target_cpu"})


class Task(NamedTuple):
    """The task a CPU runs, as its last sched_switch named it."""

    pid: int
    comm: str
    prio: int


MAX_SERIES = 256  # counter tracks per map: a keyed map can hold thousands of keys


def _pb() -> Any:
    """The generated module (imported on first use: it takes ~0.2 s)."""
    from perfetto.protos.perfetto.trace import perfetto_trace_pb2

    return perfetto_trace_pb2


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _frame(packet: Any) -> bytes:
    data: bytes = packet.SerializeToString()
    return b"\x0a" + _varint(len(data)) + data


def _annotate(target: Any, name: str, value: Any) -> None:
    ann = target.add(name=name)
    if isinstance(value, bool):
        ann.bool_value = value
    elif isinstance(value, int) and -(1 << 63) <= value < (1 << 63):
        ann.int_value = value
    elif isinstance(value, int):
        ann.uint_value = value & ((1 << 64) - 1)
    elif isinstance(value, float):
        ann.double_value = value
    elif isinstance(value, str):
        ann.string_value = value
    elif value is None:
        ann.string_value = "null"
    else:
        ann.string_value = orjson.dumps(value).decode()


class _FtraceFields:
    """Event name -> the `FtraceEvent` field of that name, when its message can hold the
    event's fields; else the event goes out as a `GenericFtraceEvent`."""

    def __init__(self, pb: Any) -> None:
        self._by_name = pb.FtraceEvent.DESCRIPTOR.fields_by_name
        self._pb = pb

    def fill(self, event: Any, name: str, fields: dict[str, Any]) -> None:
        short = name.partition(":")[2] or name
        field = self._by_name.get(short)
        if field is not None and field.message_type is not None and field.containing_oneof:
            message = getattr(event, short)
            if self._fill_typed(message, field.message_type, fields):
                return
            event.ClearField(short)
        generic = event.generic
        generic.event_name = short
        for key, value in fields.items():
            if key in SKIPPED_FIELDS:
                continue
            item = generic.field.add(name=key)
            if isinstance(value, bool):
                item.int_value = int(value)
            elif isinstance(value, int) and -(1 << 63) <= value < (1 << 63):
                item.int_value = value
            elif isinstance(value, int):
                item.uint_value = value & ((1 << 64) - 1)
            elif isinstance(value, str):
                item.str_value = value
            else:
                item.str_value = orjson.dumps(value).decode()

    @staticmethod
    def _fill_typed(message: Any, descriptor: Any, fields: dict[str, Any]) -> bool:
        for key, value in fields.items():
            if key in SKIPPED_FIELDS:
                continue
            sub = descriptor.fields_by_name.get(key)
            if sub is None:
                return False
            try:
                if sub.is_repeated:
                    if not isinstance(value, list):
                        return False
                    getattr(message, key).extend(value)
                elif isinstance(value, list | dict) or value is None:
                    return False
                else:
                    setattr(message, key, value)
            except (TypeError, ValueError):
                return False
        return True


def _int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(1 << 31) <= value < 1 << 31


class _CompactSched:
    """Which sched_switch/sched_waking events go into `FtraceEventBundle.compact_sched`, and
    writing them there. The CPU's running task is followed through every switch of the
    session (compact or typed), in seq order, and forgotten at a loss on that CPU."""

    def __init__(self) -> None:
        self._running: dict[int, Task] = {}
        self._interned: dict[int, dict[str, int]] = {}
        """per bundle (by id) of this chunk: comm -> index in its intern_table"""
        self._last_ts: dict[tuple[int, bool], int] = {}
        """(bundle id, is a switch) -> timestamp of the bundle's last compact event of that kind"""

    def new_chunk(self) -> None:
        self._interned.clear()
        self._last_ts.clear()

    def lost(self, cpu: int | None) -> None:
        if cpu is None:
            self._running.clear()
        else:
            self._running.pop(cpu, None)

    def add(self, bundle: Any, row: Row, fields: dict[str, Any]) -> bool:
        """Write the event into the bundle's compact_sched if that loses nothing."""
        if row.cpu is None or row.name not in ("sched:sched_switch", "sched:sched_waking"):
            return False
        names = fields.keys() - SKIPPED_FIELDS
        if row.name == "sched:sched_switch":
            if names != SWITCH_FIELDS or not self._switch_fits(fields):
                self._running.pop(row.cpu, None)
                return False
            prev = Task(fields["prev_pid"], fields["prev_comm"], fields["prev_prio"])
            self._running[row.cpu], running = (
                Task(fields["next_pid"], fields["next_comm"], fields["next_prio"]),
                self._running.get(row.cpu),
            )
            if running != prev or row.tid != prev.pid or not self._in_order(bundle, row, True):
                return False
            columns = {f"next_{k}": fields[f"next_{k}"] for k in ("pid", "prio")}
            columns["prev_state"] = fields["prev_state"]
            self._append(bundle, row, "switch", columns, fields["next_comm"])
            return True
        running = self._running.get(row.cpu)
        if (
            names != WAKING_FIELDS
            or not all(_int32(fields[k]) for k in ("pid", "prio", "target_cpu"))
            or not isinstance(fields["comm"], str)
            or running is None
            or row.tid != running.pid
            or not self._in_order(bundle, row, False)
        ):
            return False
        columns = {k: fields[k] for k in ("pid", "target_cpu", "prio")}
        self._append(bundle, row, "waking", columns, fields["comm"])
        return True

    def _append(self, bundle: Any, row: Row, kind: str, columns: dict[str, int], comm: str) -> None:
        """One event into the `<kind>_...` columns of the bundle's compact_sched."""
        cs = bundle.compact_sched
        getattr(cs, f"{kind}_timestamp").append(self._delta(bundle, row, kind == "switch"))
        for name, value in columns.items():
            getattr(cs, f"{kind}_{name}").append(value)
        comm_column = "switch_next_comm_index" if kind == "switch" else "waking_comm_index"
        getattr(cs, comm_column).append(self._intern(bundle, comm))

    @staticmethod
    def _switch_fits(fields: dict[str, Any]) -> bool:
        return (
            all(_int32(fields[k]) for k in ("prev_pid", "prev_prio", "next_pid", "next_prio"))
            and isinstance(fields["prev_state"], int)
            and not isinstance(fields["prev_state"], bool)
            and -(1 << 63) <= fields["prev_state"] < 1 << 63
            and isinstance(fields["prev_comm"], str)
            and isinstance(fields["next_comm"], str)
        )

    def _in_order(self, bundle: Any, row: Row, switch: bool) -> bool:
        """Deltas are unsigned: an event older than the bundle's last one stays typed."""
        return row.ts_ns >= self._last_ts.get((id(bundle), switch), 0)

    def _delta(self, bundle: Any, row: Row, switch: bool) -> int:
        key = (id(bundle), switch)
        delta = row.ts_ns - self._last_ts.get(key, 0)  # the first one is absolute
        self._last_ts[key] = row.ts_ns
        return delta

    def _intern(self, bundle: Any, comm: str) -> int:
        table = self._interned.setdefault(id(bundle), {})
        index = table.get(comm)
        if index is None:
            index = table[comm] = len(table)
            bundle.compact_sched.intern_table.append(comm)
        return index


class PerfettoTrace:
    media_type = "application/octet-stream"
    suffix = "perfetto-trace"

    def __init__(
        self,
        kind: str,
        session_id: int,
        base_ns: int,
        wall_offset_ns: int,
        arg_names: ArgNames | None = None,
        title: str | None = None,
        compact_sched: bool = True,
    ) -> None:
        self.kind = kind
        self.session_id = session_id
        self.base = base_ns
        self.wall_offset = wall_offset_ns
        self.arg_names = arg_names or (lambda _name: None)
        self.title = title or f"tracerd session {session_id}"
        self.pb = _pb()
        self._ftrace = _FtraceFields(self.pb)
        self._threads: dict[int, tuple[int, str | None]] = {}
        """tid -> (tgid, name) already described"""
        self._counters: dict[str, int] = {}
        self._compact = _CompactSched() if compact_sched else None

    # -- packets -------------------------------------------------------------------------

    def _packet(self, ts_ns: int | None = None) -> Any:
        packet = self.pb.TracePacket()
        if ts_ns is not None:
            packet.timestamp = ts_ns
        packet.trusted_packet_sequence_id = SEQUENCE_ID
        return packet

    def header(self) -> bytes:
        clock = self._packet(self.base)
        clock.first_packet_on_sequence = True
        clock.sequence_flags = SEQ_INCREMENTAL_STATE_CLEARED
        snapshot = clock.clock_snapshot
        snapshot.clocks.add(clock_id=CLOCK_BOOTTIME, timestamp=self.base)
        snapshot.clocks.add(clock_id=CLOCK_REALTIME, timestamp=self.base + self.wall_offset)
        snapshot.primary_trace_clock = CLOCK_BOOTTIME
        track = self._packet()
        track.track_descriptor.uuid = SESSION_TRACK
        track.track_descriptor.name = self.title
        return _frame(clock) + _frame(track)

    def footer(self) -> bytes:
        return b""

    def encode(self, rows: list[Row]) -> bytes:
        out: list[Any] = []
        bundles: dict[int, Any] = {}
        tree = self.pb.ProcessTree()
        first_ts = rows[0].ts_ns if rows else self.base
        if self._compact is not None:
            self._compact.new_chunk()
        for row in rows:
            fields = orjson.loads(row.fields)
            if not isinstance(fields, dict):
                fields = {"value": fields}
            if row.tid is not None:
                self._describe_thread(row, tree, out)
            if row.name == LOST_EVENT_NAME:
                self._lost(row, fields, bundles, out)
            elif self.kind == "tracefs":
                self._ftrace_event(row, fields, bundles)
            elif self.kind == "bpf" and row.name == "maps":
                self._map_counters(row, fields, out)
            elif "duration_ns" in fields and "args" in fields:
                self._syscall(row, fields, out)
            else:
                self._instant(row, row.name, fields, out)
        frames = bytearray()
        if tree.threads or tree.processes:
            packet = self._packet(first_ts)
            packet.process_tree.CopyFrom(tree)
            frames += _frame(packet)
        for cpu in sorted(bundles):
            packet = self._packet()
            packet.ftrace_events.CopyFrom(bundles[cpu])
            frames += _frame(packet)
        for packet in out:
            frames += _frame(packet)
        return bytes(frames)

    # -- tasks ---------------------------------------------------------------------------

    def _describe_thread(self, row: Row, tree: Any, out: list[Any]) -> None:
        assert row.tid is not None
        tgid = row.pid if row.pid is not None else row.tid
        known = self._threads.get(row.tid)
        if known == (tgid, row.comm) or (known is not None and row.comm is None):
            return
        self._threads[row.tid] = (tgid, row.comm)
        thread = tree.threads.add(tid=row.tid, tgid=tgid)
        if row.comm:
            thread.name = row.comm
        if tgid == row.tid:
            process = tree.processes.add(pid=tgid)
            if row.comm:
                process.cmdline.append(row.comm)
                process.cmdline_is_comm = True
        if self.kind != "tracefs":
            packet = self._packet()
            desc = packet.track_descriptor
            desc.uuid = THREAD_TRACK_BASE + row.tid
            desc.thread.pid = tgid
            desc.thread.tid = row.tid
            if row.comm:
                desc.thread.thread_name = row.comm
            out.append(packet)

    def _track_of(self, row: Row) -> int:
        return THREAD_TRACK_BASE + row.tid if row.tid is not None else SESSION_TRACK

    # -- events --------------------------------------------------------------------------

    def _bundle(self, bundles: dict[int, Any], cpu: int) -> Any:
        bundle = bundles.get(cpu)
        if bundle is None:
            bundle = bundles[cpu] = self.pb.FtraceEventBundle(cpu=cpu)
        return bundle

    def _ftrace_event(self, row: Row, fields: dict[str, Any], bundles: dict[int, Any]) -> None:
        bundle = self._bundle(bundles, row.cpu if row.cpu is not None else 0)
        if self._compact is not None and self._compact.add(bundle, row, fields):
            return
        event = bundle.event.add(timestamp=row.ts_ns)
        if row.tid is not None:
            event.pid = row.tid
        self._ftrace.fill(event, row.name, fields)

    def _lost(
        self, row: Row, fields: dict[str, Any], bundles: dict[int, Any], out: list[Any]
    ) -> None:
        if self.kind == "tracefs" and row.cpu is not None:
            self._bundle(bundles, row.cpu).lost_events = True
        if self._compact is not None:
            self._compact.lost(row.cpu)
        self._instant(row, "lost", fields, out, track=SESSION_TRACK)

    def _instant(
        self,
        row: Row,
        name: str,
        fields: dict[str, Any],
        out: list[Any],
        track: int | None = None,
    ) -> None:
        packet = self._packet(row.ts_ns)
        event = packet.track_event
        event.type = TYPE_INSTANT
        event.name = name
        event.track_uuid = self._track_of(row) if track is None else track
        event.categories.append(self.kind)
        for key, value in fields.items():
            _annotate(event.debug_annotations, key, value)
        out.append(packet)

    def _syscall(self, row: Row, fields: dict[str, Any], out: list[Any]) -> None:
        track = self._track_of(row)
        begin = self._packet(row.ts_ns)
        event = begin.track_event
        event.type = TYPE_SLICE_BEGIN
        event.name = row.name
        event.track_uuid = track
        event.categories.append("syscall")
        args = fields.get("args") or []
        names = self.arg_names(row.name) or ()
        for i, value in enumerate(args):
            _annotate(event.debug_annotations, names[i] if i < len(names) else f"arg{i}", value)
        if "ret" in fields:
            _annotate(event.debug_annotations, "ret", fields["ret"])
        if fields.get("errno"):
            _annotate(event.debug_annotations, "errno", fields["errno"])
        if fields.get("text"):
            _annotate(event.debug_annotations, "text", fields["text"])
        end = self._packet(row.ts_ns + max(int(fields.get("duration_ns") or 0), 0))
        end.track_event.type = TYPE_SLICE_END
        end.track_event.track_uuid = track
        out += (begin, end)

    def _counter_track(self, name: str, out: list[Any]) -> int:
        uuid = self._counters.get(name)
        if uuid is None:
            uuid = COUNTER_TRACK_BASE + (zlib.crc32(name.encode()) << 8) + len(self._counters)
            self._counters[name] = uuid
            packet = self._packet()
            desc = packet.track_descriptor
            desc.uuid = uuid
            desc.parent_uuid = SESSION_TRACK
            desc.name = name
            desc.counter.SetInParent()
            out.append(packet)
        return uuid

    def _counter(self, ts_ns: int, name: str, value: float, out: list[Any]) -> None:
        uuid = self._counter_track(name, out)
        packet = self._packet(ts_ns)
        event = packet.track_event
        event.type = TYPE_COUNTER
        event.track_uuid = uuid
        if isinstance(value, int):
            event.counter_value = value
        else:
            event.double_counter_value = float(value)
        out.append(packet)

    def _map_counters(self, row: Row, fields: dict[str, Any], out: list[Any]) -> None:
        maps = fields.get("maps")
        if not isinstance(maps, dict):
            self._instant(row, row.name, fields, out)
            return
        for map_name, value in sorted(maps.items()):
            for label, number in _map_series(str(map_name), value):
                self._counter(row.ts_ns, label, number, out)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    return None


def _map_series(name: str, value: Any) -> list[tuple[str, float | int]]:
    """A map snapshot's values as (counter name, number) pairs, at most MAX_SERIES a map
    (engines/bpf/engine.py describes the shapes)."""
    if not isinstance(value, dict):
        num = _number(value)
        return [(name, num)] if num is not None else []
    out: list[tuple[str, float | int]] = []
    unit = f" {value['unit']}" if value.get("unit") else ""
    if isinstance(value.get("buckets"), list):
        out += _buckets(name, value["buckets"], unit)
    for entry in value.get("entries") or []:
        if not isinstance(entry, dict):
            continue
        label = f"{name}[{_key(entry.get('key'))}]"
        if isinstance(entry.get("buckets"), list):
            out += _buckets(label, entry["buckets"], unit)
        elif (num := _number(entry.get("value", entry.get("count")))) is not None:
            out.append((label, num))
    if "value" in value and (num := _number(value["value"])) is not None:
        out.append((name, num))
    return out[:MAX_SERIES]


def _buckets(name: str, buckets: list[Any], unit: str) -> list[tuple[str, float | int]]:
    return [
        (f"{name} [{b.get('low')}, {b.get('high')}]{unit}", num)
        for b in buckets
        if isinstance(b, dict) and (num := _number(b.get("count"))) is not None
    ]


def _key(key: Any) -> str:
    if isinstance(key, list):
        return ", ".join(str(k) for k in key)
    return str(key)
