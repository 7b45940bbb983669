"""The Perfetto export, parsed back with the same generated protos: packets, typed and
generic ftrace events, named syscall arguments, counters from map snapshots, loss."""

from __future__ import annotations

import random
from typing import Any

import orjson
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from tests.perfetto_read import ftrace_events, packets
from tracerd.reports.export.perfetto import PerfettoTrace
from tracerd.reports.export.rows import Row

T0 = 1_000_000_000


def row(seq: int, name: str, fields: Any, **kw: Any) -> Row:
    values: dict[str, Any] = {
        "seq": seq,
        "ts_ns": T0 + seq * 1000,
        "cpu": None,
        "pid": None,
        "tid": None,
        "comm": None,
        "name": name,
        "fields": orjson.dumps(fields).decode(),
        "dur_ns": None,
        "ret": None,
        "errno": None,
    }
    values.update(kw)
    return Row(**values)


def encode(encoder: PerfettoTrace, *chunks: list[Row]) -> Any:
    data = encoder.header() + b"".join(encoder.encode(c) for c in chunks) + encoder.footer()
    return pb.Trace.FromString(data)


def test_tracefs_events_are_ftrace_bundles_per_cpu_typed_where_perfetto_has_them() -> None:
    switch = {
        "prev_comm": "a",
        "prev_pid": 10,
        "prev_prio": 120,
        "prev_state": 1,
        "next_comm": "b",
        "next_pid": 11,
        "next_prio": 120,
    }
    rows = [
        row(0, "sched:sched_switch", switch, cpu=1, pid=10, tid=10, comm="a"),
        row(
            1,
            "syscalls:sys_enter_openat",
            {"__syscall_nr": 257, "dfd": -100, "filename": 4096, "flags": 0, "mode": 0},
            cpu=0,
            pid=10,
            tid=12,
            comm="a-thread",
        ),
        row(2, "lost", {"source": "kernel", "count": 7}, cpu=0),
        row(3, "raw_syscalls:sys_enter", {"id": 39, "args": [1, 2, 3, 4, 5, 6]}, cpu=1, tid=10),
    ]
    trace = encode(PerfettoTrace("tracefs", 5, T0, 1_700_000_000 * 10**9), rows)
    clock = packets(trace, "clock_snapshot")[0].clock_snapshot
    assert {(c.clock_id, c.timestamp) for c in clock.clocks} == {
        (6, T0),
        (1, T0 + 1_700_000_000 * 10**9),
    }
    bundles = {p.ftrace_events.cpu: p.ftrace_events for p in packets(trace, "ftrace_events")}
    assert set(bundles) == {0, 1}
    assert bundles[0].lost_events
    assert not bundles[1].lost_events
    first, raw = bundles[1].event
    assert first.timestamp == T0
    assert first.pid == 10
    assert first.WhichOneof("event") == "sched_switch"
    assert (first.sched_switch.prev_comm, first.sched_switch.next_pid) == ("a", 11)
    assert list(raw.sys_enter.args) == [1, 2, 3, 4, 5, 6]
    assert raw.sys_enter.id == 39
    (openat,) = bundles[0].event
    assert openat.WhichOneof("event") == "generic"
    assert openat.generic.event_name == "sys_enter_openat"
    values = {f.name: f.int_value for f in openat.generic.field}
    assert values == {"dfd": -100, "filename": 4096, "flags": 0, "mode": 0}
    tree = packets(trace, "process_tree")[0].process_tree
    assert {(t.tid, t.tgid, t.name) for t in tree.threads} == {
        (10, 10, "a"),
        (12, 10, "a-thread"),
    }
    assert [(p.pid, list(p.cmdline)) for p in tree.processes] == [(10, ["a"])]
    lost = [p.track_event for p in packets(trace, "track_event")]
    assert [
        (e.name, {a.name: a.int_value or a.string_value for a in e.debug_annotations}) for e in lost
    ] == [("lost", {"source": "kernel", "count": 7})]


def test_ptrace_syscalls_are_slices_with_named_arguments() -> None:
    fields = {
        "args": ['"/etc/hosts"', "O_RDONLY"],
        "raw_args": [1, 0],
        "ret": 3,
        "errno": None,
        "duration_ns": 2500,
        "text": 'open("/etc/hosts", O_RDONLY) = 3',
    }
    rows = [
        row(0, "open", fields, pid=7, tid=7, comm="cat"),
        row(1, "signal", {"signal": "SIGCHLD", "text": "--- SIGCHLD ---"}, pid=7, tid=8),
    ]
    names = {"open": ("filename", "flags", "mode")}
    trace = encode(PerfettoTrace("ptrace", 1, T0, 0, names.get), rows)
    tracks = {
        p.track_descriptor.uuid: p.track_descriptor for p in packets(trace, "track_descriptor")
    }
    threads = {d.thread.tid: d for d in tracks.values() if d.HasField("thread")}
    assert set(threads) == {7, 8}
    assert threads[7].thread.thread_name == "cat"
    events = list(packets(trace, "track_event"))
    begin, end, signal = events
    assert begin.track_event.type == pb.TrackEvent.TYPE_SLICE_BEGIN
    assert begin.timestamp == T0
    assert end.timestamp == T0 + 2500
    assert end.track_event.type == pb.TrackEvent.TYPE_SLICE_END
    assert begin.track_event.track_uuid == end.track_event.track_uuid == threads[7].uuid
    args = {a.name: a.string_value or a.int_value for a in begin.track_event.debug_annotations}
    assert args["filename"] == '"/etc/hosts"'
    assert args["flags"] == "O_RDONLY"
    assert args["ret"] == 3
    assert "mode" not in args
    assert signal.track_event.type == pb.TrackEvent.TYPE_INSTANT
    assert signal.track_event.track_uuid == threads[8].uuid
    first = trace.packet[0]
    assert first.first_packet_on_sequence
    assert first.sequence_flags == 1
    assert {p.trusted_packet_sequence_id for p in trace.packet} == {1}


def test_bpf_map_snapshots_are_counters_one_track_per_series() -> None:
    hist = {
        "type": "hist",
        "unit": "usecs",
        "buckets": [{"low": 0, "high": 1, "count": 3}, {"low": 2, "high": 3, "count": 5}],
    }
    counts = {"type": "map", "entries": [{"key": ["bash", 1], "value": 9}]}
    snap1 = {"maps": {"dist": hist, "counts": counts, "total": {"type": "value", "value": 2}}}
    snap2 = {"maps": {"counts": {"type": "map", "entries": [{"key": ["bash", 1], "value": 12}]}}}
    encoder = PerfettoTrace("bpf", 2, T0, 0)
    trace = encode(encoder, [row(0, "maps", snap1)], [row(1, "maps", snap2)])
    names = {
        p.track_descriptor.uuid: p.track_descriptor.name
        for p in packets(trace, "track_descriptor")
        if p.track_descriptor.HasField("counter")
    }
    assert sorted(names.values()) == [
        "counts[bash, 1]",
        "dist [0, 1] usecs",
        "dist [2, 3] usecs",
        "total",
    ]
    values = [
        (names[p.track_event.track_uuid], p.timestamp, p.track_event.counter_value)
        for p in packets(trace, "track_event")
    ]
    assert ("counts[bash, 1]", T0 + 1000, 12) in values
    assert ("dist [2, 3] usecs", T0, 5) in values
    assert len(values) == 5


def sched_rows(n: int, seed: int = 7) -> list[Row]:
    """A scheduler-heavy tracefs session on 2 CPUs: switches that follow each CPU's running
    task, wakings raised by it, other events, a kernel loss, a comm change, a switch whose
    prev is not the CPU's running task (as after a loss) and one from an older kernel."""
    rng = random.Random(seed)
    tasks = [(0, "swapper/0", 120)] + [(100 + i, f"task{i % 5}", 100 + i % 40) for i in range(12)]
    running = {0: tasks[0], 1: (0, "swapper/1", 120)}
    rows: list[Row] = []
    for seq in range(n):
        cpu = rng.randrange(2)
        cur = running[cpu]
        kw: dict[str, Any] = {"cpu": cpu, "pid": cur[0], "tid": cur[0], "comm": cur[1]}
        kw["ts_ns"] = T0 + seq * 997 + rng.randrange(500)
        pick = rng.random()
        if seq == n // 2:
            rows.append(row(seq, "lost", {"source": "kernel", "count": 3}, **kw))
        elif pick < 0.45 or seq % 97 == 0:
            nxt = rng.choice(tasks)
            if seq % 211 == 0:
                nxt = (nxt[0], "renamed", nxt[2])
            prev = cur if seq % 89 else (cur[0] + 1, cur[1], cur[2])
            fields = {
                "prev_comm": prev[1],
                "prev_pid": prev[0],
                "prev_prio": prev[2],
                "prev_state": rng.choice((0, 1, 2, 0x400)),
                "next_comm": nxt[1],
                "next_pid": nxt[0],
                "next_prio": nxt[2],
            }
            rows.append(row(seq, "sched:sched_switch", fields, **kw))
            running[cpu] = nxt
        elif pick < 0.8:
            woken = rng.choice(tasks[1:])
            fields = {"comm": woken[1], "pid": woken[0], "prio": woken[2], "target_cpu": 1 - cpu}
            if seq % 101 == 0:
                fields["success"] = 1  # kernels before 4.19
            rows.append(row(seq, "sched:sched_waking", fields, **kw))
        else:
            rows.append(row(seq, "syscalls:sys_enter_getppid", {"__syscall_nr": 110}, **kw))
    return rows


def test_sched_events_go_compact_and_read_back_equal_to_the_typed_form() -> None:
    rows = sched_rows(6000)
    chunks = [rows[:2000], rows[2000:4100], rows[4100:]]
    compact = encode(PerfettoTrace("tracefs", 5, T0, 0), *chunks)
    typed = encode(PerfettoTrace("tracefs", 5, T0, 0, compact_sched=False), *chunks)
    assert not any(
        p.ftrace_events.HasField("compact_sched") for p in packets(typed, "ftrace_events")
    )
    switches = sum(
        len(p.ftrace_events.compact_sched.switch_timestamp)
        for p in packets(compact, "ftrace_events")
    )
    wakings = sum(
        len(p.ftrace_events.compact_sched.waking_timestamp)
        for p in packets(compact, "ftrace_events")
    )
    sched = [r for r in rows if r.name.startswith("sched:")]
    # most go compact; the first switch per CPU, those after the loss and misfits stay typed
    assert switches + wakings > 0.9 * len(sched)
    expanded, reference = ftrace_events(compact), ftrace_events(typed)
    assert len(expanded) == len(reference) == len(rows) - 1  # every event but the loss
    assert expanded == reference
    # the typed form is the stored events: same timestamps, tasks, fields
    stored = sorted(
        (r.cpu, r.ts_ns, r.tid, r.name.partition(":")[2], orjson.loads(r.fields))
        for r in rows
        if r.name != "lost"
    )
    assert [(c, t, p, n) for c, t, p, n, _ in reference] == [
        (c, t, p, n) for c, t, p, n, _ in stored
    ]
    for (*_, fields), (*_, want) in zip(reference, stored, strict=True):
        want.pop("__syscall_nr", None)
        assert fields == want
    size, typed_size = len(compact.SerializeToString()), len(typed.SerializeToString())
    print(f"\ncompact_sched: {size:,} B vs typed {typed_size:,} B ({size / typed_size:.0%})")
    assert size < 0.6 * typed_size
