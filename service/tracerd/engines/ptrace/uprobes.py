"""Breakpoints on attached pids as uprobe events in a small tracefs instance of the session.

Mechanism (kernel-interfaces 1.4, 1.12): one uprobe definition per symbol in the group
`tracerd_<daemon>_<session>` (`p:GROUP/EVENT PATH:0xOFFSET arg1=%di:x64 .. arg6=%r9:x64`,
appended to `uprobe_events`), enabled only in the session's own instance of the same name
(64 KiB per CPU, `mono` clock, `set_event_pid` = the pid's threads, `event-fork` with
follow_forks). The kernel inserts and single-steps the breakpoint itself and drops it with
the process, so a killed worker never leaves an int3 in a traced process; the instance and
the definitions it leaves are in the ledger for the daemon's reconcile. A thread reads the
instance's `trace_pipe` (kernel/trace_pipe.py) and emits `breakpoint` events.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable

from ...errors import BadRequest, KernelRejected, ResourceBusy
from ...kernel.elf import Location, check_uprobe_target
from ...kernel.proc import thread_ids
from ...kernel.trace_pipe import follow, parse_line, parse_probe_body
from ...kernel.tracefs import Instance, Tracefs
from ...types import WireEvent
from ..base import EngineContext, Ledger
from . import tracer as pt
from .breakpoints import breakpoint_event

log = logging.getLogger(__name__)

BUFFER_SIZE_KB = 64
POLL_TIMEOUT_MS = 200
_SAFE_PATH = re.compile(r"^/[^\s:\x00-\x1f]+$")


def _last_error(fs: Tracefs) -> str:
    try:
        return fs.error_log().strip().splitlines()[-3:][0]
    except (OSError, IndexError):
        return ""


class UprobeBreakpoints:
    def __init__(
        self, ctx: EngineContext, ledger: Ledger, pid: int, locations: list[Location]
    ) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.pid = pid
        self.locations = locations
        self.group = ctx.resource_name
        self.instance = ctx.resource_name
        self.events: dict[str, str] = {}
        """event name -> symbol"""
        self._keys: list[tuple[str, str]] = []
        """(ledger key, what) in creation order"""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.fs = Tracefs(ctx.tracefs_root)

    @property
    def root(self) -> Instance:
        return self.fs.instance(self.instance)

    def create(self) -> None:
        """Instance, definitions, pid filter, enable; everything recorded first."""
        key = self.ledger.record("tracefs_instance", self.instance)
        try:
            self.root.mkdir()
        except FileExistsError:
            self.ledger.cross_off(key)  # not ours: never remove it
            raise ResourceBusy(f"tracefs instance {self.instance} already exists") from None
        self._keys.append((key, "instance"))
        try:
            self.root.write("buffer_size_kb", str(BUFFER_SIZE_KB))
            self.root.write("trace_clock", "mono")
            for i, loc in enumerate(self.locations):
                self._define(i, loc)
            self.root.write("set_event_pid", " ".join(map(str, thread_ids(self.pid))))
            with contextlib.suppress(OSError):
                self.root.write("options/event-fork", "1")
            for event in self.events:
                self.root.write(f"events/{self.group}/{event}/enable", "1")
        except OSError as exc:
            self.remove()
            raise KernelRejected(
                f"uprobe set-up failed: {exc.strerror} {_last_error(self.fs)}"
            ) from exc

    def _define(self, index: int, loc: Location) -> None:
        if not _SAFE_PATH.match(loc.path):
            raise BadRequest(f"cannot place a uprobe in {loc.path!r}", {"path": loc.path})
        check_uprobe_target(loc.path, loc.file_offset)  # a function entry, in code
        event = f"bp{index}_{re.sub(r'[^A-Za-z0-9_]', '_', loc.symbol)}"[:63]
        fetch = " ".join(
            f"arg{i + 1}=%{r}:x64" for i, r in enumerate(("di", "si", "dx", "cx", "r8", "r9"))
        )
        key = self.ledger.record(
            "dynamic_event",
            f"{self.group}/{event}",
            {"file": "uprobe_events", "group": self.group, "event": event},
        )
        self._keys.append((key, event))
        self.fs.write(
            "uprobe_events",
            f"p:{self.group}/{event} {loc.path}:{loc.file_offset:#x} {fetch}",
            append=True,
        )
        self.events[event] = loc.symbol

    def start(self, emit: Callable[[WireEvent], None]) -> None:
        self._thread = threading.Thread(
            target=self._read, args=(emit,), name=f"ptrace-uprobes-{self.ctx.session_id}"
        )
        self._thread.start()

    def _read(self, emit: Callable[[WireEvent], None]) -> None:
        with contextlib.closing(follow(self.root, self._stop, POLL_TIMEOUT_MS)) as lines:
            for line in lines:
                event = self._parse(line)
                if event is not None:
                    emit(event)

    def _parse(self, line: str) -> WireEvent | None:
        record = parse_line(line)
        if record is None or record.event not in self.events:
            return None
        hit = parse_probe_body(record.body)
        if hit is None:
            return None
        tid = record.tid
        symbol = self.events[record.event]
        return breakpoint_event(
            record.ts_ns, pt.tgid(tid) or self.pid, tid, record.comm, symbol, hit.ip, hit.args
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * POLL_TIMEOUT_MS / 1000 + 1)
        self.remove()

    def remove(self) -> None:
        """Disable, remove the instance, delete the definitions; cross each off after."""
        for event in self.events:
            with contextlib.suppress(OSError):
                self.root.write(f"events/{self.group}/{event}/enable", "0")
        for key, what in reversed(self._keys):
            try:
                if what == "instance":
                    self.root.remove()
                else:
                    self.fs.write("uprobe_events", f"-:{self.group}/{what}", append=True)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove %s: %s", what, exc)
                continue
            self.ledger.cross_off(key)
        self._keys.clear()
