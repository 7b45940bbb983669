"""Reading Perfetto traces back in tests, with the same generated protos as the export."""

from __future__ import annotations

from typing import Any

FtraceRecord = tuple[int, int, int, str, dict[str, Any]]
"""(cpu, timestamp, pid, event name without its group, fields)"""


def packets(trace: Any, kind: str) -> list[Any]:
    return [p for p in trace.packet if p.WhichOneof("data") == kind]


def ftrace_events(trace: Any) -> list[FtraceRecord]:
    """Every ftrace event of a trace as (cpu, ts, pid, event, fields), compact_sched expanded
    the way Perfetto reads it: a compact switch's prev task is the one the CPU's previous
    switch brought in, a compact waking's waker is the task its CPU runs."""
    per_cpu: dict[int, list[tuple[int, int, Any]]] = {}
    order = 0
    for packet in packets(trace, "ftrace_events"):
        bundle = packet.ftrace_events
        items = per_cpu.setdefault(bundle.cpu, [])
        for event in bundle.event:
            items.append((event.timestamp, order, event))
            order += 1
        cs = bundle.compact_sched
        names = list(cs.intern_table)
        ts = 0
        for i, delta in enumerate(cs.switch_timestamp):
            ts += delta
            items.append((ts, order, ("switch", cs, names, i)))
            order += 1
        ts = 0
        for i, delta in enumerate(cs.waking_timestamp):
            ts += delta
            items.append((ts, order, ("waking", cs, names, i)))
            order += 1
    out: list[FtraceRecord] = []
    for cpu, items in per_cpu.items():
        running: tuple[int, str, int] | None = None
        for ts, _, item in sorted(items, key=lambda x: (x[0], x[1])):
            if isinstance(item, tuple) and item[0] == "switch":
                _, cs, names, i = item
                assert running is not None, "a compact switch with no known prev task"
                fields = {
                    "prev_comm": running[1],
                    "prev_pid": running[0],
                    "prev_prio": running[2],
                    "prev_state": cs.switch_prev_state[i],
                    "next_comm": names[cs.switch_next_comm_index[i]],
                    "next_pid": cs.switch_next_pid[i],
                    "next_prio": cs.switch_next_prio[i],
                }
                out.append((cpu, ts, running[0], "sched_switch", fields))
                running = (fields["next_pid"], fields["next_comm"], fields["next_prio"])
            elif isinstance(item, tuple):
                _, cs, names, i = item
                assert running is not None, "a compact waking with no known waker"
                fields = {
                    "comm": names[cs.waking_comm_index[i]],
                    "pid": cs.waking_pid[i],
                    "prio": cs.waking_prio[i],
                    "target_cpu": cs.waking_target_cpu[i],
                }
                out.append((cpu, ts, running[0], "sched_waking", fields))
            else:
                kind = item.WhichOneof("event")
                body = getattr(item, kind)
                if kind == "generic":
                    fields = {f.name: getattr(f, f.WhichOneof("value")) for f in body.field}
                    kind = body.event_name
                else:
                    fields = {d.name: v for d, v in body.ListFields()}
                if kind == "sched_switch" and item.WhichOneof("event") == "generic":
                    running = None  # a switch Perfetto cannot follow
                elif kind == "sched_switch":
                    running = (fields["next_pid"], fields["next_comm"], fields["next_prio"])
                out.append((cpu, ts, item.pid, kind, fields))
    return sorted(out, key=lambda e: (e[0], e[1]))
