"""Chrome Trace Event Format (JSON object form), as Perfetto UI and chrome://tracing open it.

Tracks: one per thread (`pid`/`tid`, named by `process_name`/`thread_name` metadata events
written at the end, once every name is known) and one per CPU (pseudo-process `CPUs`,
threads `CPU n`) holding what ran there, from `sched_switch` to `sched_switch`.
Complete events ("X", `ts`/`dur` in integer µs from the session's first event: start and
end are each floored to the µs, so slices that follow or nest in ns still do in µs and
never overlap by rounding; the exact `start_ns`/`dur_ns` are in their args): ptrace syscalls
(entry time + duration); tracefs syscalls from an enter to its exit (the exit's promoted
`dur_ns`; args `{"enter": ..., "exit": ...}`); `function_graph` calls from their exits
(rettime - calltime), named by `func`. Every other event is an instant ("i", thread scope;
global when it has no task). `lost` records are global instants. One event per line.

State is bounded by the number of threads and CPUs (enters waiting for their exit). An
enter without an exit (lost, or still running at the end) becomes an instant.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...syscalls import ENTER, EXIT, FGRAPH_EXIT, SWITCH, EventKind, classify
from ...types import LOST_EVENT_NAME
from ..sysnames import syscall_name
from .rows import Row

CPU_PID = 0x7FFF0000  # the pseudo-process holding one track per CPU
FGRAPH_ENTRY = "ftrace:funcgraph_entry"
NS_PER_US = 1000.0


class ChromeTrace:
    media_type = "application/json"
    suffix = "json"

    def __init__(self, base_ns: int, kind: str, session_id: int) -> None:
        self.base = base_ns
        self.kind = kind
        self.session_id = session_id
        self._first = True
        self._kinds: dict[str, EventKind] = {}
        self._open: dict[tuple[int | None, str, int], Row] = {}
        """(tid, family, depth) -> the enter waiting for its exit"""
        self._cpu: dict[int, tuple[int, int, str]] = {}
        self._threads: dict[tuple[int, int], str] = {}
        self._procs: dict[int, str] = {}
        self._last_ts = base_ns

    def header(self) -> bytes:
        return b'{"traceEvents":[\n'

    def _us(self, ts_ns: int) -> float:
        return (ts_ns - self.base) / NS_PER_US

    def _span(self, start_ns: int, dur_ns: int) -> tuple[int, int]:
        """(ts, dur) of a slice in integer µs: both ends floored."""
        ts = (start_ns - self.base) // 1000
        return ts, (start_ns + dur_ns - self.base) // 1000 - ts

    @staticmethod
    def _with_ns(args: bytes, start_ns: int, dur_ns: int) -> bytes:
        if not args.startswith(b"{"):
            return args
        extra = b'"start_ns":%d' % start_ns
        if b'"dur_ns"' not in args:
            extra += b',"dur_ns":%d' % dur_ns
        return args[:-1] + (b"," if args != b"{}" else b"") + extra + b"}"

    def _emit(self, out: bytearray, event: dict[str, Any], args: bytes | None = None) -> None:
        out += b"\n" if self._first else b",\n"
        self._first = False
        data = orjson.dumps(event)
        if args is None:
            out += data
        else:
            out += data[:-1] + b',"args":' + args + b"}"

    def _track(self, r: Row) -> tuple[int, int] | None:
        pid = r.pid if r.pid is not None else r.tid
        if pid is None:
            return None
        tid = r.tid if r.tid is not None else pid
        if r.comm:
            self._threads[(pid, tid)] = r.comm
            if pid == tid or pid not in self._procs:
                self._procs[pid] = r.comm
        return pid, tid

    def encode(self, rows: list[Row]) -> bytes:
        out = bytearray()
        for r in rows:
            self._last_ts = max(self._last_ts, r.ts_ns)
            kind = self._kinds.get(r.name)
            if kind is None:
                kind = self._kinds[r.name] = classify(r.name)
            cls = kind.cls
            if cls in (ENTER, EXIT) or r.name == FGRAPH_ENTRY or cls == FGRAPH_EXIT:
                self._paired(out, r, cls, kind.family)
                continue
            if cls == SWITCH and r.cpu is not None:
                self._cpu_slice(out, r)
            if r.dur_ns is not None and r.name != LOST_EVENT_NAME:
                self._complete(out, r, r.name, r.ts_ns, r.dur_ns, r.fields.encode())
            else:
                self._instant(out, r)
        return bytes(out)

    def _paired(self, out: bytearray, r: Row, cls: int, family: str) -> None:
        if r.name == FGRAPH_ENTRY or cls == FGRAPH_EXIT:
            family, depth = "g", int(orjson.loads(r.fields).get("depth", 0))
        else:
            depth = 0
        key = (r.tid, family, depth)
        if cls == ENTER or r.name == FGRAPH_ENTRY:
            stale = self._open.pop(key, None)
            if stale is not None:
                self._instant(out, stale)
            self._open[key] = r
            return
        start = self._open.pop(key, None)
        if r.dur_ns is None:
            if start is not None:
                self._instant(out, start)
            self._instant(out, r)
            return
        fields = orjson.loads(r.fields)
        name = self._call_name(r.name, family, fields)
        enter = start.fields.encode() if start is not None else b"null"
        args = b'{"enter":' + enter + b',"exit":' + r.fields.encode() + b"}"
        self._complete(out, r, name, r.ts_ns - r.dur_ns, r.dur_ns, args)

    @staticmethod
    def _call_name(event: str, family: str, fields: dict[str, Any]) -> str:
        if family == "g":
            func = fields.get("func")
            return f"{func:#x}" if isinstance(func, int) else str(func)
        if family == "r":
            return syscall_name(int(fields.get("id", -1)))
        return event.rsplit("sys_exit_", 1)[-1]

    def _complete(
        self, out: bytearray, r: Row, name: str, start: int, dur: int, args: bytes
    ) -> None:
        track = self._track(r)
        pid, tid = track if track is not None else (CPU_PID, r.cpu or 0)
        ts, dur_us = self._span(start, dur)
        event = {"name": name, "cat": self.kind, "ph": "X", "ts": ts,
                 "dur": dur_us, "pid": pid, "tid": tid}  # fmt: skip
        self._emit(out, event, self._with_ns(args, start, dur))

    def _instant(self, out: bytearray, r: Row) -> None:
        track = self._track(r) if r.name != LOST_EVENT_NAME else None
        event: dict[str, Any] = {
            "name": r.name,
            "cat": self.kind,
            "ph": "i",
            "ts": self._us(r.ts_ns),
        }
        if track is not None:
            pid, tid = track
            event.update(pid=pid, tid=tid, s="t")
        elif r.cpu is not None and r.name != LOST_EVENT_NAME:
            event.update(pid=CPU_PID, tid=r.cpu, s="t")
        else:
            event.update(pid=CPU_PID, tid=0, s="g")
        self._emit(out, event, r.fields.encode())

    def _cpu_slice(self, out: bytearray, r: Row) -> None:
        assert r.cpu is not None
        fields = orjson.loads(r.fields)
        last = self._cpu.get(r.cpu)
        if last is not None:
            self._slice(out, r.cpu, last, r.ts_ns)
        self._cpu[r.cpu] = (
            r.ts_ns,
            int(fields.get("next_pid", -1)),
            str(fields.get("next_comm", "")),
        )

    def _slice(self, out: bytearray, cpu: int, last: tuple[int, int, str], end: int) -> None:
        start, pid, comm = last
        ts, dur_us = self._span(start, end - start)
        event = {"name": comm or str(pid), "cat": "sched", "ph": "X", "ts": ts,
                 "dur": dur_us, "pid": CPU_PID, "tid": cpu}  # fmt: skip
        self._emit(out, event, self._with_ns(orjson.dumps({"tid": pid}), start, end - start))

    def footer(self) -> bytes:
        out = bytearray()
        for row in self._open.values():
            self._instant(out, row)
        for cpu, last in sorted(self._cpu.items()):
            self._slice(out, cpu, last, self._last_ts)
        meta = [("process_name", CPU_PID, 0, "CPUs")] if self._cpu else []
        meta += [("thread_name", CPU_PID, cpu, f"CPU {cpu}") for cpu in sorted(self._cpu)]
        meta += [("process_name", pid, pid, comm) for pid, comm in sorted(self._procs.items())]
        meta += [("thread_name", p, t, comm) for (p, t), comm in sorted(self._threads.items())]
        for what, pid, tid, name in meta:
            event = {"name": what, "ph": "M", "pid": pid, "tid": tid}
            self._emit(out, event, orjson.dumps({"name": name}))
        other = {"session": str(self.session_id), "kind": self.kind, "base_ts_ns": self.base}
        out += b'\n],"displayTimeUnit":"ns","otherData":' + orjson.dumps(other) + b"}\n"
        return bytes(out)
