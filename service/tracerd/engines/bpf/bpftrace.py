"""BpftraceSession: a bpftrace script run as a managed child of the worker.

Launch: the child starts as `setpriv --pdeathsig KILL sh -c 'read -r _ && exec bpftrace ...'`
and waits on its stdin, so its pid (and start time) are known and written to the ledger
(`bpftrace_child`) before bpftrace exists; the script, rewritten with that pid excluded
(bpftrace_text.rewrite), is written to the spool dir; then one line on stdin releases
it, in the caller's working directory (`options.cwd`: relative uprobe paths and cat()
resolve as they would for the caller's own bpftrace). `prepare` returns once bpftrace is
attached; if it exits first (a compile error, or an attach failure after `Attaching N
probes...`), its stderr is the CompileError. PDEATHSIG: when the worker (the thread that
spawned it) dies, the kernel SIGKILLs bpftrace and its fd-held programs go with it.
Reading: one thread reads stdout and stderr. Format `text` (what the CLI uses): stdout as
events `text` whose texts, concatenated, are bpftrace's stdout byte for byte (one event
per line; a line without its newline yet goes out once bpftrace is idle). Format `json`:
each `-f json` record is an event named by its type with its typed `data` (and `json`, the
line as bpftrace printed it; a line 0.17 printed as invalid JSON is kept as `raw`), map
records are map snapshots too. stderr lines (run-time warnings, helper errors) are events
`stderr`; bpftrace's error is the reason when it fails.
Stop: SIGINT (bpftrace detaches, prints its maps and exits); SIGKILL only after a grace
that grows with the number of probes (detaching hundreds takes seconds; at least the
daemon's stop timeout), with a warning; while it detaches the worker sends an `info`
frame every second, so the daemon sees progress and does not kill the worker first.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import CapabilityMissing, CompileError
from ...kernel.btf import VMLINUX_BTF_PATH as VMLINUX_BTF
from ...types import WireEvent, lost_event
from ..base import EventSink, Ledger
from .bpftrace_text import (
    Snapshots,
    added_probes,
    classify,
    guard,
    is_noise,
    original_message,
    parse_text_maps,
    rewrite,
    stderr_message,
)
from .kernel import process_prog_ids

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0
STOP_GRACE_S = 20.0
STOP_GRACE_PER_PROBE_S = 0.1
SIGINT_REPEAT_S = 1.0
STOP_GRACE_MAX_FACTOR = 4.0
"""the grace is at most this many times the daemon's stop timeout (the worker tells the
daemon every SIGINT_REPEAT_S that bpftrace is still detaching, so the daemon's idle
timeout does not run out first)"""
DEFAULT_MAP_INTERVAL_S = 1.0
"""map snapshots of a session without `map_interval_s` (kept for GET .../maps, not streamed)"""
READY_POLL_S = 0.01
IDLE_FLUSH_S = 0.05
READ_CHUNK_BYTES = 1 << 16
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = 1031
CHILD_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
NO_PROBES = b"No probes to attach\n"
"""what bpftrace prints (exit status 1) when the script's probes match nothing"""
_GATE = 'read -r _ && exec "$0" "$@" </dev/null'
_ATTACHED = {"json": b'"attached_probes"', "text": b"Attaching "}


def _now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, a process's id."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


@dataclass(frozen=True, slots=True)
class Options:
    """bpftrace's own options (the spec's `bpftrace_options`)."""

    format: str = "json"
    cwd: str | None = None
    params: tuple[str, ...] = ()
    target_pid: int | None = None
    command: str | None = None
    helper_errors: int = 0
    verbose: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def flags(self) -> list[str]:
        out = ["-f", "json"] if self.format == "json" else []
        if self.target_pid is not None:
            out += ["-p", str(int(self.target_pid))]
        if self.command is not None:
            out += ["-c", self.command]
        if self.helper_errors:
            out.append("-" + "k" * self.helper_errors)
        if self.verbose:
            out.append("-v")
        return out


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
        options: Options | None = None,
        stop_timeout_s: float = 30.0,
    ) -> None:
        self._id, self._script, self._ledger = session_id, script, ledger
        self._cond = ""
        self._spool, self._exclude, self._pid, self._comm = spool_dir, exclude, pid, comm
        self._snap = Snapshots(
            secrets.token_hex(6), max(1, round((map_interval_s or DEFAULT_MAP_INTERVAL_S) * 1000))
        )
        self._stream_snapshots = map_interval_s is not None
        self._region: str | None = None
        """None, `snap` (inside a periodic snapshot) or `final` (after the exit marker)"""
        self._region_text = b""
        self._final_text: bytes | None = None
        self._snapshot: dict[str, Any] = {}
        self._opts = options or Options()
        self._stop_timeout = stop_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._out_fd = self._err_fd = -1
        self._key: str | None = None
        self._buf = b""
        self._err = b""
        self._err_text: list[str] = []
        self._maps: dict[str, Any] = {}
        self._sink: EventSink | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self.lost_total = 0
        self.probes = 0
        self.prog_ids: list[int] = []

    @property
    def child_pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def info(self) -> dict[str, Any]:
        return {"prog_ids": self.prog_ids, "bpftrace_pid": self.child_pid}

    def resources(self) -> list[dict[str, Any]]:
        return [{"type": "bpftrace_child", "name": str(self.child_pid)}]

    def launch(self) -> None:
        """Spawn, record, release and wait until attached (CompileError if not)."""
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
        cwd = self._opts.cwd
        if cwd is not None and not os.path.isdir(cwd):
            raise CompileError(f"{cwd}: no such directory (the working directory)")
        os.makedirs(self._spool, exist_ok=True)
        script_path = os.path.join(self._spool, f"bpftrace-{self._id}.bt")
        setpriv = shutil.which("setpriv", path=CHILD_ENV["PATH"])
        prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
        argv = [*prefix, "/bin/sh", "-c", _GATE, binary, *self._opts.flags(), script_path]
        self._proc = subprocess.Popen(
            [*argv, *self._opts.params],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**CHILD_ENV, **self._opts.env},
            cwd=cwd,
            preexec_fn=None if setpriv else _pdeathsig,
        )
        stdin, stdout, stderr = self._proc.stdin, self._proc.stdout, self._proc.stderr
        if stdin is None or stdout is None or stderr is None:
            raise RuntimeError("bpftrace child without pipes")
        self._out_fd, self._err_fd = stdout.fileno(), stderr.fileno()
        pid = self._proc.pid
        started = start_time(pid)
        self._key = self._ledger.record(
            "bpftrace_child",
            str(pid),
            {"pid": pid, "start_time": started, "script": script_path},
        )
        cond = guard((*self._exclude, (pid, started)), self._pid, self._comm, _tick_ns())
        self._cond = cond
        fd = os.open(script_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(rewrite(self._script, cond, self._snap))
        with contextlib.suppress(OSError):  # else the default pipe size
            fcntl.fcntl(self._out_fd, F_SETPIPE_SZ, PIPE_BYTES)
        stdin.write(b"go\n")
        stdin.close()

    def _read_some(self, timeout: float) -> tuple[bool, bool]:
        """Read what is ready on stdout (into _buf) and stderr (into _err):
        (anything read, stdout at EOF)."""
        fds = [fd for fd in (self._out_fd, self._err_fd) if fd >= 0]
        if not fds:
            return False, True
        ready, _, _ = select.select(fds, [], [], timeout)
        out_eof = False
        for fd in ready:
            chunk = os.read(fd, READ_CHUNK_BYTES)
            if fd == self._out_fd:
                self._buf += chunk
                if not chunk:
                    out_eof = True
                    self._out_fd = -1
            else:
                self._err += chunk
                if not chunk:
                    self._err_fd = -1
        return bool(ready), out_eof or self._out_fd < 0

    def _wait_attached(self) -> None:
        proc = self._proc
        if proc is None:
            raise RuntimeError("bpftrace was not spawned")
        marker = _ATTACHED[self._opts.format]
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        no_probes = False
        while time.monotonic() < deadline:
            _read, eof = self._read_some(0.2)
            at = self._buf.find(marker)
            if at >= 0 and b"\n" in self._buf[at:]:
                self.probes = _probe_count(self._buf[at:])
                added = added_probes(self._script, self._snap)
                if added and self.probes <= added:  # the user's probes matched nothing
                    proc.kill()
                    no_probes = True
                    break
                self._buf = _announced(self._buf, added)
                self._wait_polling(proc, deadline)
                if proc.poll() in (None, 0):
                    return
                break  # attaching failed after `Attaching N probes...`
            if eof or (proc.poll() is not None and not _read):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_S)
        while self._err_fd >= 0 and self._read_some(0.5)[0]:
            pass
        text = self._err.decode("utf-8", "replace")
        out = (NO_PROBES if no_probes else self._buf).decode("utf-8", "replace")
        message = stderr_message(text) or out.strip() or "bpftrace did not attach its probes"
        message = original_message(message, self._script, self._cond, self._snap)
        # as `bpftrace -e` shows it, not our spool file's path
        message = message.replace(os.path.join(self._spool, f"bpftrace-{self._id}.bt"), "stdin")
        detail: dict[str, Any] = {"exit_status": 1 if no_probes else proc.poll()}
        if self._opts.format == "text" and out:
            detail["stdout"] = out  # `Attaching N probes...`, `No probes to attach`
        raise CompileError(message, detail)

    @staticmethod
    def _wait_polling(proc: subprocess.Popen[bytes], deadline: float) -> None:
        """bpftrace prints `Attaching N probes...` before it attaches; it is attached (and
        has run BEGIN) once its main thread waits in epoll for its perf buffers."""
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
        proc, sink = self._proc, self._sink
        if proc is None or sink is None:
            return
        try:
            self._pump()
        except Exception as e:  # reader loop: log and end the session
            log.exception("bpftrace reader failed")
            if not self._stopping:
                sink.ended(None, f"reading bpftrace's output failed: {e!r}", failed=True)
                return
        if not self._stopping:
            code = proc.wait()
            sink.ended(None, self._exit_reason(code), failed=code != 0)

    def _pump(self) -> None:
        """Hand out what was read, then read until stdout ends (stderr to its end too)."""
        eof = False
        while True:
            self._deliver(final=eof)
            if eof and self._err_fd < 0:
                return
            read, eof = self._read_some(IDLE_FLUSH_S)
            if not read and self._buf and not eof:
                self._deliver(final=True)  # idle: a line without its newline yet

    def _exit_reason(self, code: int) -> str:
        if code != 0:
            errors = [t for t in self._err_text if "ERROR" in t] or self._err_text
            if errors:
                return "\n".join(errors[-5:])
        return f"bpftrace exited with status {code}"

    def _deliver(self, final: bool) -> None:
        """Events for the complete lines read so far (all of it when `final`)."""
        events: list[WireEvent] = []
        maps: dict[str, Any] = {}
        if self._err:
            *lines, rest = self._err.split(b"\n")
            if final and self._err_fd < 0 and rest:
                lines, rest = [*lines, rest], b""
            self._err = rest
            for raw in lines:
                text = raw.decode("utf-8", "replace")
                if text and not is_noise(text):
                    self._err_text.append(text)
                    events.append(_event("stderr", {"text": text}))
        if self._buf:
            data = self._buf
            if self._opts.format == "text":
                self._buf = self._text(data, final, events)
            else:
                cut = len(data) if final else data.rfind(b"\n") + 1
                self._buf = data[cut:]
                for raw in data[:cut].splitlines():
                    if raw.strip():
                        self._json_record(raw, events, maps)
                    else:  # -f json prints blank lines too (before the maps at exit)
                        events.append(_event("text", {"text": "\n"}))
        sink = self._sink
        if sink is None:
            return
        if events:
            sink.emit(events)
        if maps:
            self._maps.update(maps)
            if not self._stopping:
                sink.maps(_now_ns(), maps)

    def _text(self, data: bytes, final: bool, events: list[WireEvent]) -> bytes:
        """Hand out `data` as text events, up to its last newline (all of it when `final`,
        but for the start of a marker), taking the marked map snapshots out; the rest."""
        begin, end, exit_ = (
            m.encode() for m in (self._snap.begin, self._snap.end, self._snap.final)
        )
        while data:
            if self._region == "snap":
                at = data.find(end)
                if at < 0:
                    return data
                self._take_snapshot(parse_text_maps((self._region_text + data[:at]).decode()))
                self._region, self._region_text = None, b""
                data = data[at + len(end) :]
                continue
            hits = [
                (at, m)
                for m in (begin, exit_)
                if self._region is None and (at := data.find(m)) >= 0
            ]
            if hits:
                at, marker = min(hits)
                self._text_events(data[:at], events)
                data = data[at + len(marker) :]
                self._region = "snap" if marker == begin else "final"
                if marker == exit_:
                    self._final_text = b""
                continue
            cut = len(data) if final else data.rfind(b"\n") + 1
            if final and self._region is None:
                cut -= _marker_prefix(data, (begin, exit_))
            self._text_events(data[:cut], events)
            return data[cut:]
        return b""

    def _text_events(self, data: bytes, events: list[WireEvent]) -> None:
        if self._final_text is not None:
            self._final_text += data
        for line in data.splitlines(keepends=True):
            events.append(text_event(line))

    def _take_snapshot(self, maps: dict[str, Any]) -> None:
        """A periodic snapshot: the current maps (streamed when `map_interval_s` was set)."""
        self._maps = maps
        if self._stream_snapshots and self._sink is not None and not self._stopping:
            self._sink.maps(_now_ns(), maps)

    def _json_record(self, raw: bytes, events: list[WireEvent], maps: dict[str, Any]) -> None:
        line = raw.decode("utf-8", "replace")
        try:
            obj = json.loads(line)
        except ValueError:  # bpftrace 0.17: strftime, macaddr, cgroup_path values unquoted
            events.append(_event("raw", {"json": line}))
            return
        rec = classify(obj)
        if rec.name == "printf" and self._marker(rec.data):
            return
        if self._region == "snap" and rec.kind == "maps":
            self._snapshot.update(rec.data)
            return
        if rec.kind == "lost" and rec.data:
            self.lost_total += rec.data
            events.append(lost_event("bpf", rec.data, _now_ns()))
            return
        if rec.kind == "maps":
            maps.update(rec.data)
        data = obj.get("data") if isinstance(obj, dict) else obj
        fields: dict[str, Any] = {"data": data, "json": line}
        if rec.kind == "text":
            fields["text"] = rec.data
        events.append(_event(rec.name or "record", fields))

    def _marker(self, text: str) -> bool:
        """A snapshot marker printf of `-f json` (handled here, not an event)."""
        if text == self._snap.begin:
            self._region, self._snapshot = "snap", {}
        elif text == self._snap.end:
            self._region = None
            self._take_snapshot(self._snapshot)
        elif text == self._snap.final:
            self._region = "final"
            self._maps = {}  # what bpftrace prints at exit is all there is
        else:
            return False
        return True

    def read_maps(self) -> dict[str, Any]:
        return dict(self._maps)

    def stop(self) -> None:
        """SIGINT, SIGKILL after the grace period, read to EOF, final maps, cross off."""
        if self._closed:
            return
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            grace = self.stop_grace()
            if not _interrupt(proc, grace, self._detaching):
                log.warning("bpftrace %d still detaching after %.0f s; killing it", proc.pid, grace)
                if self._sink is not None:
                    note = f"tracerd: bpftrace did not end {grace:.0f} s after SIGINT; killed"
                    self._sink.emit([_event("stderr", {"text": note})])
        self._terminate()
        if self._thread is not None:
            self._thread.join(STOP_GRACE_S)
        if self._final_text is not None:  # text: the maps bpftrace printed at exit
            self._maps = parse_text_maps(self._final_text.decode("utf-8", "replace"))
        if self._sink is not None:
            if self._maps:
                self._sink.maps(_now_ns(), dict(self._maps))
            self._sink.lost_total("bpf", self.lost_total)
        self._release()

    def stop_grace(self) -> float:
        """How long bpftrace gets after SIGINT to detach and print its maps: 0.1 s per probe
        (360 probes take ~30 s here), at least STOP_GRACE_S and the daemon's stop timeout,
        at most STOP_GRACE_MAX_FACTOR times that timeout."""
        wanted = max(STOP_GRACE_S, self._stop_timeout, self.probes * STOP_GRACE_PER_PROBE_S)
        return min(wanted, STOP_GRACE_MAX_FACTOR * self._stop_timeout)

    def _detaching(self, waited_s: float) -> None:
        """A sign of progress for the daemon while bpftrace detaches (an `info` frame)."""
        if self._sink is not None:
            self._sink.info({"bpftrace_stopping_s": round(waited_s)})

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
        """Close the pipes and cross the child off (idempotent)."""
        if self._proc is not None:
            for pipe in (self._proc.stdout, self._proc.stderr):
                if pipe is not None:
                    pipe.close()
        if self._key is not None:
            self._ledger.cross_off(self._key)
            self._key = None
        self._closed = True


def _interrupt(
    proc: subprocess.Popen[bytes], grace: float, waiting: Callable[[float], None]
) -> bool:
    """SIGINT, again every SIGINT_REPEAT_S until bpftrace exits or `grace` ends (whether it
    exited): it inherits the worker's ignored SIGINT until it installs its own handler,
    so a SIGINT sent just before that would be lost (a hang, then SIGKILL, no maps).
    `waiting(seconds so far)` is called after each repeat."""
    began = time.monotonic()
    deadline = began + grace
    while True:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=min(SIGINT_REPEAT_S, max(0.0, deadline - time.monotonic())))
            return True
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                return False
            waiting(time.monotonic() - began)


def _event(name: str, fields: dict[str, Any]) -> WireEvent:
    return WireEvent(_now_ns(), None, None, None, None, name, fields)


def text_event(line: bytes) -> WireEvent:
    """A `text` event; a line that is not UTF-8 (printf("%c", 200), a binary str()) also
    carries its exact bytes as `bytes_b64`, which the CLI writes in place of the text."""
    try:
        return _event("text", {"text": line.decode()})
    except UnicodeDecodeError:
        raw = base64.b64encode(line).decode()
        return _event("text", {"text": line.decode("utf-8", "replace"), "bytes_b64": raw})


def _probe_count(text: bytes) -> int:
    """N of `Attaching N probes...` or of `{"type": "attached_probes", ...: N}`."""
    digits = "".join(c if c.isdigit() else " " for c in text.split(b"\n")[0].decode())
    parts = digits.split()
    return int(parts[0]) if parts else 0


_ANNOUNCED = re.compile(
    rb'^Attaching (\d+) probes?\.\.\.$|"attached_probes", "data": \{"probes": (\d+)\}', re.M
)


def _announced(out: bytes, added: int) -> bytes:
    """`Attaching N probes...` (-f json: the attached_probes record) without the probes
    the map snapshots added."""

    def fix(m: re.Match[bytes]) -> bytes:
        n = int(m[1] or m[2]) - added
        if m[1] is not None:
            return b"Attaching %d probe%s..." % (n, b"" if n == 1 else b"s")
        return b'"attached_probes", "data": {"probes": %d}' % n

    return _ANNOUNCED.sub(fix, out, count=1) if added else out


def _marker_prefix(data: bytes, markers: tuple[bytes, ...]) -> int:
    """Length of the longest end of `data` that could be a marker's start."""
    for size in range(min(len(data), max(len(m) for m in markers)), 0, -1):
        if any(m.startswith(data[-size:]) for m in markers):
            return size
    return 0


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
