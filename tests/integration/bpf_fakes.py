"""In-memory Ledger and EventSink for the bpf engine's live tests (the kernel is real)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from tracerd.engines.base import EngineContext
from tracerd.specs import BpfSpec
from tracerd.types import LOST_EVENT_NAME, WireEvent

from ..waits import WAIT_TIMEOUT_S

OUR_PREFIX = "trd_"
GETPPID_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    char go[8];
    if (!fgets(go, sizeof(go), stdin)) return 1;
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
"""
"""waits for a line on stdin, then makes argv[1] getppid() calls"""


class FakeLedger:
    """Rows as a dict; `live()` is what would still need reconciling."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.crossed: list[str] = []
        self._n = 0

    def record(self, type: str, name: str, data: Mapping[str, Any] | None = None) -> str:
        self._n += 1
        key = f"r{self._n}"
        self.rows[key] = (type, name, dict(data or {}))
        return key

    def cross_off(self, key: str) -> None:
        assert key in self.rows, key
        assert key not in self.crossed, key
        self.crossed.append(key)

    def live(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [row for key, row in self.rows.items() if key not in self.crossed]

    def of_type(self, type: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [row for row in self.rows.values() if row[0] == type]


class ListSink:
    """Everything the engine sends, in lists; thread-safe appends."""

    def __init__(self) -> None:
        self.events: list[WireEvent] = []
        self.batches = 0
        self.map_snapshots: list[tuple[int, dict[str, Any]]] = []
        self.lost: dict[str, int] = {}
        self.infos: list[dict[str, Any]] = []
        self.ended_calls: list[tuple[Any, str | None, bool]] = []
        self._lock = threading.Lock()

    def emit(self, events: Sequence[WireEvent]) -> None:
        with self._lock:
            self.events.extend(events)
            self.batches += 1

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        json.dumps(maps)  # must be JSON-able
        self.map_snapshots.append((ts_ns, dict(maps)))

    def lost_total(self, source: str, count: int) -> None:
        self.lost[source] = count

    def info(self, values: Mapping[str, Any]) -> None:
        self.infos.append(dict(values))

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        self.ended_calls.append((exit_status, reason, failed))

    def named(self, name: str) -> list[WireEvent]:
        with self._lock:
            return [e for e in self.events if e.name == name]

    def lost_events(self) -> list[WireEvent]:
        return self.named(LOST_EVENT_NAME)


def make_ctx(
    tmp_path: Any, session_id: int = 1, caps: Mapping[str, Any] | None = None
) -> EngineContext:
    spool = os.path.join(str(tmp_path), "spool")
    os.makedirs(spool, exist_ok=True)
    return EngineContext(
        session_id=session_id,
        daemon_id="t0",
        daemon_pid=os.getppid(),
        exclude_pids=(os.getpid(),),
        caps=caps or {},
        state_dir=str(tmp_path),
        spool_dir=spool,
    )


def our_programs(prefix: str = OUR_PREFIX) -> list[dict[str, Any]]:
    """Programs loaded in the kernel whose name starts with our prefix."""
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    ).stdout
    return [p for p in json.loads(out or "[]") if str(p.get("name", "")).startswith(prefix)]


def prog_ids_loaded(ids: Sequence[int]) -> list[int]:
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    ).stdout
    loaded = {p["id"] for p in json.loads(out or "[]")}
    return [i for i in ids if i in loaded]


def wait_until(predicate: Any, timeout_s: float = WAIT_TIMEOUT_S, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


class EngineRun:
    """One engine session in this process: prepare, start, stop; checks nothing is left."""

    def __init__(
        self,
        tmp_path: Any,
        spec: dict[str, Any],
        *,
        start: bool = True,
        limits: Any = None,
        caps: Mapping[str, Any] | None = None,
        exclude_procs: tuple[tuple[int, int], ...] = (),
    ) -> None:
        from tracerd.engines.bpf.engine import BpfEngine

        ctx = make_ctx(tmp_path, caps=caps)
        if exclude_procs:
            ctx = dataclasses.replace(ctx, exclude_procs=exclude_procs)
        if limits is not None:
            ctx = _with_limits(ctx, limits)
        self.engine = BpfEngine(ctx)
        self.ledger = FakeLedger()
        self.sink = ListSink()
        self.spec = spec
        self.handle: Any = None
        self._start = start
        self.prog_ids: list[int] = []

    def __enter__(self) -> EngineRun:
        self.handle = self.engine.prepare(BpfSpec.model_validate(self.spec), self.ledger)
        self.prog_ids = list(self.handle.info.get("prog_ids", []))
        if self._start:
            self.engine.start(self.handle, self.sink)
        return self

    def start(self) -> None:
        self.engine.start(self.handle, self.sink)

    def stop(self) -> None:
        if self.handle is not None:
            self.engine.stop(self.handle)

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        assert self.ledger.live() == [], self.ledger.live()
        assert wait_until(lambda: not prog_ids_loaded(self.prog_ids)), (
            f"programs still loaded: {prog_ids_loaded(self.prog_ids)}"
        )


def _with_limits(ctx: EngineContext, limits: Any) -> EngineContext:
    return dataclasses.replace(ctx, limits=limits)


def build_c(tmp_path: Any, name: str, source: str, *flags: str) -> str:
    """Compile a tiny C program (frame pointers, no optimisation) into tmp_path."""
    src = os.path.join(str(tmp_path), f"{name}.c")
    out = os.path.join(str(tmp_path), name)
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(
        ["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", out, src, *flags], check=True
    )
    return out


class Gated:
    """A child process that waits for a line on stdin before doing its work (so filters and
    uprobes can name its pid first). Killed at exit if still running."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def go(self, timeout_s: float = 30.0) -> str:
        out, _ = self.proc.communicate("go\n", timeout=timeout_s)
        return out

    def __enter__(self) -> Gated:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture(autouse=True)
def no_programs_of_ours_left() -> Iterator[None]:
    """After each test: no program named like ours (`trd_*`) that the test loaded remains.
    Others load BPF on this machine at the same time, hence the name prefix."""
    before = {p["id"] for p in our_programs()}
    yield
    assert wait_until(lambda: not [p for p in our_programs() if p["id"] not in before]), [
        p["name"] for p in our_programs() if p["id"] not in before
    ]


@contextlib.contextmanager
def getppid_looper(same_process: bool) -> Iterator[tuple[int, tuple[int, int]]]:
    """A process calling getppid() every 10 ms, and the exclusion key to test with: its
    (pid, start time), or with `same_process` False the key of an earlier process that
    had its pid (another start time)."""
    from tracerd.engines.launch import process_start_time

    loop = (
        "import os, time\nos.getppid()\nprint('ready', flush=True)\n"
        "while True: os.getppid(); time.sleep(0.01)"
    )
    looper = subprocess.Popen(["python3", "-c", loop], stdout=subprocess.PIPE, text=True)
    try:
        assert looper.stdout is not None
        assert looper.stdout.readline() == "ready\n"
        start = process_start_time(looper.pid)
        assert start is not None
        yield looper.pid, (looper.pid, start if same_process else start - 1)
    finally:
        looper.kill()
        looper.wait()
        if looper.stdout is not None:
            looper.stdout.close()
