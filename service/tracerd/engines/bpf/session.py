"""BccSession: one BCC program of a session, from load to unload (runs in the worker).

`load` compiles, loads, records and attaches (BpfLoader) and opens the output buffer: a
ring buffer is consumed through mmap (RingBufferConsumer), a perf buffer through BCC's
reader with per-record callbacks (custom programs only; prefer BPF_RINGBUF_OUTPUT).
`start` runs the poller (BpfReader). `stop` detaches first (nothing new is produced),
lets the poller drain to empty, sends the final maps and the loss total, then unloads and
crosses the ledger rows off. A failure anywhere in `load` releases what was made.
"""

from __future__ import annotations

import logging
import struct
import time
from typing import Any

from ...errors import SpecError
from ...types import WireEvent
from ..base import EventSink, Ledger, Limits, tune_gc
from .decode import Decoder, Layout, compile_decoder, decode_map, generic_contents, record_stride
from .kernel import fdinfo
from .loader import BpfLoader
from .plan import ProgramPlan
from .reader import BpfReader, PerfSource, RingSource
from .ringbuf import RingBufferConsumer, supported
from .tools.hooks import EVENT_HOOKS, MAP_HOOKS

log = logging.getLogger(__name__)
_HDR = struct.Struct("=I4x")


def _now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class BccSession:
    """A loaded BCC program and its reader."""

    def __init__(self, session_id: int, plan: ProgramPlan, ledger: Ledger, limits: Limits) -> None:
        self.plan = plan
        self.loader = BpfLoader(plan, ledger)
        self._session_id, self._limits = session_id, limits
        self._ring: RingSource | None = None
        self._perf: PerfSource | None = None
        self._perf_lost = 0
        self._layout: Layout | None = None
        self._decode: Decoder | None = None
        self._reader: BpfReader | None = None
        self._sink: EventSink | None = None
        self._final: dict[str, Any] | None = None
        self._closed = False
        self.bad_records = 0

    def load(self) -> None:
        try:
            self.loader.compile()
            self.loader.attach_all()
            self._open_output()
        except BaseException:
            self.close()
            raise

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "prog_ids": self.loader.prog_ids,
            "program": self.plan.name,
            "maps": [m.name for m in self.plan.maps],
            "notes": list(self.loader.notes),
        }
        if self.plan.attach_mode is not None:
            info["attach"] = self.plan.attach_mode
            info["attach_skipped"] = dict(self.plan.attach_skipped)
        return info

    def resources(self) -> list[dict[str, Any]]:
        return [
            {"type": "bpf_program", "name": fn, "prog_id": pid}
            for fn, pid in sorted(self.loader.programs.items())
        ]

    def _open_output(self) -> None:
        name = self.plan.output_map
        if name is None:
            return
        decode, layout = compile_decoder(
            self.plan.name, self.plan.record, self.plan.header, self.plan.promote, _now_ns
        )
        self._layout = layout
        try:
            kind = self.loader.table_kind(name)
        except KeyError as e:
            raise SpecError(f"output map {name!r} is not declared by the program") from e
        if kind == "RingBuf" and supported():
            fd = self.loader.map_fd(name)
            consumer = RingBufferConsumer(fd, int(fdinfo(fd).get("max_entries", "0")))
            self._ring = RingSource(consumer, decode, record_stride(layout.size), self._slow)
        elif kind == "PerfEventArray":
            self._perf = PerfSource(self.loader.perf_consume, [])
            self.loader.open_perf(name, self._on_perf, self._on_perf_lost)
        else:
            raise SpecError(
                f"output map {name!r} is a {kind}: give a BPF_RINGBUF_OUTPUT or BPF_PERF_OUTPUT map"
            )
        self._decode = decode

    def _slow(self, data: memoryview, out: list[WireEvent]) -> None:
        """One record whose size is not the layout's (a custom program's own sizes)."""
        layout, decode = self._layout, self._decode
        if layout is None or decode is None:
            return
        if len(data) < layout.size:
            self.bad_records += 1
            if self.bad_records <= 5:
                log.warning(
                    "%s: record of %d bytes, %d expected", self.plan.name, len(data), layout.size
                )
            return
        raw = _HDR.pack(layout.size) + bytes(data[: layout.size])
        raw += b"\0" * (record_stride(layout.size) - len(raw))
        decode(memoryview(raw), out)

    def _on_perf(self, raw: bytes) -> None:
        assert self._perf is not None
        self._slow(memoryview(raw), self._perf.pending)

    def _on_perf_lost(self, count: int) -> None:
        self._perf_lost += int(count)

    def _lost(self) -> int:
        return self.loader.lost_count() + self._perf_lost

    def start(self, sink: EventSink) -> None:
        tune_gc()
        self._sink = sink
        hook = EVENT_HOOKS.get(self.plan.tool or "")
        snapshot = self.read_maps if self.plan.maps or self.plan.generic_maps else None
        stacks = any(spec.kind == "stacks" for spec in self.plan.maps)
        self._reader = BpfReader(
            self._session_id,
            sink,
            self._limits,
            ring=self._ring,
            perf=self._perf,
            lost=self._lost,
            snapshot=snapshot,
            map_interval_s=self.plan.map_interval_s,
            hook=hook,
            tick=self.symbolize_new_stacks if stacks else None,
        )
        self._reader.start()

    def symbolize_new_stacks(self) -> None:
        """Resolve the stacks of the stack maps now, while their processes live: BCC reads a
        process's /proc/PID/maps when it first symbolizes for it (cached afterwards)."""
        for spec in self.plan.maps:
            if spec.kind != "stacks":
                continue
            layout = Layout(spec.key)
            for raw_key, _value in self.loader.table_raw(spec.name):
                key = layout.decode(raw_key)
                for field, kernel in (("user_stack_id", False), ("kernel_stack_id", True)):
                    if key[field] >= 0:
                        self.loader.resolve_stack(spec.stack_map, key[field], key["pid"], kernel)

    def read_maps(self) -> dict[str, Any]:
        """Current contents of the session's maps (the final ones once stopped)."""
        if self._final is not None:
            return self._final
        if self._closed:
            return {}
        out: dict[str, Any] = {}
        hook = MAP_HOOKS.get(self.plan.tool or "")
        for spec in self.plan.maps:
            contents = decode_map(spec, self.loader.table_raw(spec.name), self.loader.ncpus)
            out[spec.name] = (
                hook(spec.name, contents, self.loader.resolve_stack) if hook else contents
            )
        if self.plan.generic_maps:
            for name, items in self.loader.generic_tables().items():
                out[name] = generic_contents(items, name in self.plan.hist_maps)
        return out

    def stop(self) -> None:
        """Detach, drain, final maps and loss total, unload. Idempotent."""
        if self._closed:
            return
        try:
            self.loader.detach_all()
            if self._reader is not None:
                self._reader.stop()
            if self._sink is not None:
                self._finish(self._sink)
        finally:
            self.close()

    def _finish(self, sink: EventSink) -> None:
        try:
            final = self.read_maps() if (self.plan.maps or self.plan.generic_maps) else {}
        except Exception:  # teardown: the loss total and the unload must still happen
            log.exception("final map read of %s failed", self.plan.name)
            final = {}
        self._final = final
        if final:
            sink.maps(_now_ns(), final)
        lost = self._reader.lost_total if self._reader is not None else 0
        sink.lost_total("bpf", max(lost, self._lost()))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ring is not None:
            self._ring.consumer.close()
        self.loader.close()
