"""BpftraceSession: a bpftrace script run as a managed child of the worker, `-f json`.

Launch: the child starts as `setpriv --pdeathsig KILL sh -c 'read -r _ && exec bpftrace ...'`
and waits on its stdin, so its pid (and start time) are known and written to the ledger
(`bpftrace_child`) before bpftrace exists; the script, rewritten with that pid excluded
(bpftrace_text.rewrite), is written to the spool dir; then one line on stdin releases
it. `prepare` returns once bpftrace reports `attached_probes`; if it exits first, its
stderr is the CompileError. PDEATHSIG: when the worker (the thread that spawned it) dies,
the kernel SIGKILLs bpftrace and its fd-held programs go with it.
Reading: one thread reads stdout in chunks: printf & co become events (name = record
type, fields {"text"}), map/hist/stats records map snapshots, lost_events `lost` events.
Stop: SIGINT (bpftrace prints its maps and exits), SIGKILL after STOP_GRACE_S.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from typing import Any

from ...errors import CapabilityMissing, CompileError
from ...types import WireEvent, lost_event
from ..base import EventSink, Ledger
from .bpftrace_text import Record, classify, guard, original_lines, rewrite, stderr_message
from .btf import VMLINUX_BTF
from .kernel import process_prog_ids

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0
STOP_GRACE_S = 5.0
READY_POLL_S = 0.01
READ_CHUNK_BYTES = 1 << 16
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = 1031
CHILD_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
_GATE = 'read -r _ && exec "$0" "$@" </dev/null'


def _now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, a process's id."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


class BpftraceSession:
    """One bpftrace child, its reader thread and its last map contents."""

    def __init__(
        self,
        session_id: int,
        script: str,
        ledger: Ledger,
        spool_dir: str,
        *,
        exclude: tuple[tuple[int, int | None], ...],
        pid: int | None,
        comm: str | None,
        map_interval_s: float | None,
    ) -> None:
        self._id, self._script, self._ledger = session_id, script, ledger
        self._rewritten = script
        self._spool, self._exclude, self._pid, self._comm = spool_dir, exclude, pid, comm
        self._interval = map_interval_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._out_fd = -1
        self._stderr_path = ""
        self._key: str | None = None
        self._buf = b""
        self._maps: dict[str, Any] = {}
        self._sink: EventSink | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self.lost_total = 0
        self.prog_ids: list[int] = []

    @property
    def child_pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def launch(self) -> None:
        """Spawn, record, release and wait for `attached_probes` (CompileError if not)."""
        try:
            self._spawn()
            self._wait_attached()
            self.prog_ids = process_prog_ids(self._proc.pid) if self._proc else []
        except BaseException:
            self._kill()
            raise

    def _spawn(self) -> None:
        binary = shutil.which("bpftrace", path=CHILD_ENV["PATH"])
        if binary is None:
            raise CapabilityMissing("bpftrace", "bpftrace is not installed")
        os.makedirs(self._spool, exist_ok=True)
        script_path = os.path.join(self._spool, f"bpftrace-{self._id}.bt")
        self._stderr_path = os.path.join(self._spool, f"bpftrace-{self._id}.err")
        setpriv = shutil.which("setpriv", path=CHILD_ENV["PATH"])
        prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
        with open(self._stderr_path, "wb") as err:
            self._proc = subprocess.Popen(
                [*prefix, "/bin/sh", "-c", _GATE, binary, "-f", "json", script_path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=CHILD_ENV,
                preexec_fn=None if setpriv else _pdeathsig,
            )
        stdin, stdout = self._proc.stdin, self._proc.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("bpftrace child without pipes")
        self._out_fd = stdout.fileno()
        pid = self._proc.pid
        started = start_time(pid)
        self._key = self._ledger.record(
            "bpftrace_child",
            str(pid),
            {"pid": pid, "start_time": started, "script": script_path},
        )
        cond = guard((*self._exclude, (pid, started)), self._pid, self._comm, _tick_ns())
        fd = os.open(script_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            self._rewritten = rewrite(self._script, cond, self._interval)
            f.write(self._rewritten)
        with contextlib.suppress(OSError):  # else the default pipe size
            fcntl.fcntl(self._out_fd, F_SETPIPE_SZ, PIPE_BYTES)
        stdin.write(b"go\n")
        stdin.close()

    def _wait_attached(self) -> None:
        proc, fd = self._proc, self._out_fd
        if proc is None:
            raise RuntimeError("bpftrace was not spawned")
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, READ_CHUNK_BYTES)
                if not chunk:
                    break
                self._buf += chunk
                if b'"attached_probes"' in self._buf:
                    self._wait_polling(proc, deadline)
                    return
            elif proc.poll() is not None:
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_S)
        with open(self._stderr_path, errors="replace") as f:
            message = stderr_message(f.read()) or "bpftrace did not attach its probes"
        message = original_lines(message, self._script, self._rewritten)
        # as `bpftrace -e` shows it, not our spool file's path
        message = message.replace(os.path.join(self._spool, f"bpftrace-{self._id}.bt"), "stdin")
        raise CompileError(message, {"exit_status": proc.poll()})

    @staticmethod
    def _wait_polling(proc: subprocess.Popen[bytes], deadline: float) -> None:
        """bpftrace prints `attached_probes` before it attaches; it is attached (and has
        run BEGIN) once its main thread waits in epoll for its perf buffers."""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/wchan") as f:
                    if "epoll" in f.read():
                        return
            except OSError:
                return
            time.sleep(READY_POLL_S)

    def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._thread = threading.Thread(target=self._read_loop, name=f"bpf-{self._id}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        proc, sink, fd = self._proc, self._sink, self._out_fd
        if proc is None or sink is None:
            return
        try:
            data = self._buf
            self._buf = b""
            while True:
                *lines, rest = data.split(b"\n")
                self._handle(lines)
                chunk = os.read(fd, READ_CHUNK_BYTES)
                if not chunk:
                    self._handle([rest])
                    break
                data = rest + chunk
        except Exception as e:  # reader loop: log and end the session
            log.exception("bpftrace reader failed")
            if not self._stopping:
                sink.ended(None, f"reading bpftrace's output failed: {e!r}", failed=True)
                return
        if not self._stopping:
            code = proc.wait()
            sink.ended(None, f"bpftrace exited with status {code}", failed=code != 0)

    def _handle(self, lines: list[bytes]) -> None:
        events: list[WireEvent] = []
        maps: dict[str, Any] = {}
        for line in lines:
            if not line.strip():
                continue
            try:
                rec = classify(json.loads(line))
            except ValueError:
                rec = Record("text", "stdout", line.decode("utf-8", "replace"))
            self._record(rec, events, maps)
        sink = self._sink
        if sink is None:
            return
        if events:
            sink.emit(events)
        if maps:
            self._maps.update(maps)
            if not self._stopping:
                sink.maps(_now_ns(), maps)

    def _record(self, rec: Record, events: list[WireEvent], maps: dict[str, Any]) -> None:
        if rec.kind == "text":
            events.append(
                WireEvent(_now_ns(), None, None, None, None, rec.name, {"text": rec.data})
            )
        elif rec.kind == "error":
            events.append(
                WireEvent(
                    _now_ns(), None, None, None, None, rec.name, {"text": json.dumps(rec.data)}
                )
            )
        elif rec.kind == "maps":
            maps.update(rec.data)
        elif rec.kind == "lost" and rec.data:
            self.lost_total += rec.data
            events.append(lost_event("bpf", rec.data, _now_ns()))

    def read_maps(self) -> dict[str, Any]:
        return dict(self._maps)

    def stop(self) -> None:
        """SIGINT, SIGKILL after the grace period, read to EOF, final maps, cross off."""
        if self._closed:
            return
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.warning("bpftrace %d ignored SIGINT; killing it", proc.pid)
        self._terminate()
        if self._thread is not None:
            self._thread.join(STOP_GRACE_S)
        if self._sink is not None:
            if self._maps:
                self._sink.maps(_now_ns(), dict(self._maps))
            self._sink.lost_total("bpf", self.lost_total)
        self._release()

    def _kill(self) -> None:
        self._terminate()
        self._release()

    def _terminate(self) -> None:
        """Make sure the child is gone and reaped."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def _release(self) -> None:
        """Close the pipe and cross the child off (idempotent)."""
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._key is not None:
            self._ledger.cross_off(self._key)
            self._key = None
        self._closed = True


def _tick_ns() -> int | None:
    """Nanoseconds per /proc clock tick when the program can read a task's start time
    (`curtask` needs the kernel's BTF); None: exclude by pid alone."""
    if not os.path.exists(VMLINUX_BTF):
        return None
    return 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _pdeathsig() -> None:
    """preexec_fn when setpriv is missing: SIGKILL this child when its parent dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
