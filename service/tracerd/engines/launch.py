"""Launched commands, held back until their engine is armed (tracefs, ptrace).

Mechanism: the worker starts `stub.py` (standard library only) as a new session leader
with stdin on /dev/null and stdout/stderr on pipes. The stub waits on a control pipe; the
engine arms the kernel side (tracefs instance + pid filter, or PTRACE_SEIZE of the stub's
pid) and then `release()`s it: the stub drops privileges to `user`, sets PDEATHSIG=SIGKILL
(a launched command never outlives its worker), installs an optional seccomp filter and
execs. So nothing the command does after exec is missed.

The environment is the one given, or a minimal PATH/LANG — never the daemon's. The
process group is the command's own, so `terminate()` (SIGTERM, then SIGKILL after a
grace period) reaches its descendants too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadRequest
from ..types import WireEvent
from .base import Ledger

log = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_ENV = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}
TERMINATE_GRACE_S = 2.0
OUTPUT_CHUNK_BYTES = 65536
STUB_PATH = str(Path(__file__).with_name("stub.py"))
STUB_READY = b"\x06"

OutputCallback = Callable[[str, str, int], None]
"""(stream name "stdout"/"stderr", text, CLOCK_MONOTONIC ns)"""


@dataclass(frozen=True, slots=True)
class Credentials:
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def resolve_user(user: str | None) -> Credentials | None:
    if user is None:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise BadRequest(f"unknown user {user!r}", {"user": user}) from None
    groups = tuple(os.getgrouplist(user, entry.pw_gid))
    return Credentials(entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


def executable_by(path: str, creds: Credentials | None) -> bool:
    """Whether `creds` (None: root) may execute `path`, by its mode bits as execve checks."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if creds is None or creds.uid == 0:
        return bool(st.st_mode & 0o111)
    if st.st_uid == creds.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == creds.gid or st.st_gid in creds.groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def resolve_program(
    argv0: str, env: Mapping[str, str], cwd: str | None, creds: Credentials | None = None
) -> str:
    """The path execve will run, as execvp would find it; BadRequest if there is none or
    if `creds` (the `user` the command runs as) may not execute it."""
    if "/" in argv0:
        path = argv0 if os.path.isabs(argv0) else os.path.join(cwd or os.getcwd(), argv0)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise BadRequest(f"command not found or not executable: {argv0}", {"command": argv0})
    else:
        found = shutil.which(argv0, path=env.get("PATH", DEFAULT_PATH))
        if found is None:
            raise BadRequest(f"command not found in PATH: {argv0}", {"command": argv0})
        path = found
    if not executable_by(path, creds):
        raise BadRequest(
            f"{path} is not executable by the user the command runs as",
            {"command": argv0, "path": path},
        )
    return path


def exit_status_from_wait(status: int) -> dict[str, Any]:
    """{"code": int|None, "signal": str|None} from a waitpid status."""
    if os.WIFSIGNALED(status):
        return {"code": None, "signal": signal.Signals(os.WTERMSIG(status)).name}
    return {"code": os.WEXITSTATUS(status), "signal": None}


def output_event(stream: str, text: str, ts_ns: int, pid: int | None) -> WireEvent:
    """A line the launched command wrote: a `stdout` or `stderr` event of its pid."""
    return WireEvent(ts_ns, None, pid, pid, None, stream, {"text": text})


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): with the pid, a process identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[19])


class LaunchedCommand:
    """One launched command: spawn (held back), release, watch its output, end it."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        seccomp_program: bytes | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else dict(DEFAULT_ENV)
        self.cwd = cwd
        if cwd is not None and not os.path.isdir(cwd):
            raise BadRequest(f"cwd does not exist: {cwd}", {"cwd": cwd})
        self.creds = resolve_user(user)
        if self.creds is not None and env is None:
            self.env.update(HOME=self.creds.home, USER=str(user), LOGNAME=str(user))
        self.path = resolve_program(self.argv[0], self.env, cwd, self.creds)
        relative = "/" in self.argv[0] and not os.path.isabs(self.argv[0]) and cwd is not None
        self.exec_path = self.argv[0] if relative else self.path
        """what execve gets: `./prog` stays relative to `cwd` (as a shell or strace runs it)"""
        self.seccomp_program = seccomp_program
        self._popen: subprocess.Popen[bytes] | None = None
        self._control_w = -1
        self._result_r = -1
        self._threads: list[threading.Thread] = []
        self.pid = 0
        self.start_time: int | None = None
        self.exit_status: dict[str, Any] | None = None

    def spawn(self) -> int:
        """Start the stub; it waits for `release()`. Returns its pid (the command's pid)."""
        control_r, self._control_w = os.pipe()
        self._result_r, result_w = os.pipe()
        os.set_inheritable(result_w, True)
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-I", "-S", STUB_PATH, str(control_r), str(result_w)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(control_r, result_w),
                start_new_session=True,
                env={},
            )
        finally:
            os.close(control_r)
            os.close(result_w)
        self.pid = self._popen.pid
        # the stub's READY byte: its interpreter exec'd and started (stub.py)
        if os.read(self._result_r, 1) != STUB_READY:
            self._popen.wait()
            raise BadRequest("the launcher stub failed to start", {"command": self.argv[0]})
        self.start_time = process_start_time(self.pid)
        settings = {
            "path": self.exec_path,
            "argv": self.argv,
            "env": self.env,
            "cwd": self.cwd,
            "uid": self.creds.uid if self.creds else None,
            "gid": self.creds.gid if self.creds else None,
            "groups": list(self.creds.groups) if self.creds else [],
            "seccomp": self.seccomp_program.hex() if self.seccomp_program else None,
        }
        os.write(self._control_w, json.dumps(settings).encode() + b"\n")
        return self.pid

    def release(self) -> None:
        """Let the stub exec the command. Raises BadRequest if exec failed before it ran.

        Under ptrace the caller must keep servicing the tracee while this waits, so
        `check_exec=False` there and `exec_error()` is read later."""
        os.write(self._control_w, b"g")
        os.close(self._control_w)
        self._control_w = -1

    def exec_error(self) -> str | None:
        """After release: the stub's error text if exec failed, None once exec happened."""
        if self._result_r < 0:
            return None
        data = b""
        while chunk := os.read(self._result_r, 4096):
            data += chunk
        os.close(self._result_r)
        self._result_r = -1
        return data.decode(errors="replace").strip() or None

    def spawn_recorded(self, ledger: Ledger) -> str:
        """`spawn`, recorded in the ledger before the process exists and again with its
        identity (pid + start time) after; returns the key of that second record."""
        key = ledger.record("launched_command", self.argv[0])
        try:
            pid = self.spawn()
        finally:
            ledger.cross_off(key)
        return ledger.record(
            "launched_command", self.argv[0], {"pid": pid, "start_time": self.start_time}
        )

    def watch_output(self, callback: OutputCallback) -> None:
        """Start threads that pass stdout/stderr chunks (split at newlines) to callback."""
        assert self._popen is not None
        for name, stream in (("stdout", self._popen.stdout), ("stderr", self._popen.stderr)):
            if stream is None:
                continue
            thread = threading.Thread(
                target=self._pump,
                args=(name, stream.fileno(), callback),
                name=f"{name}-{self.pid}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _pump(name: str, fd: int, callback: OutputCallback) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(fd, OUTPUT_CHUNK_BYTES)
            except OSError:
                chunk = b""
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            if not chunk:
                if pending:
                    callback(name, pending.decode(errors="replace"), now)
                return
            pending += chunk
            if b"\n" in pending:
                head, _, pending = pending.rpartition(b"\n")
                for line in head.split(b"\n"):
                    callback(name, line.decode(errors="replace"), now)

    def join_output(self, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        """Reap the command (when no ptrace tracer reaps it); its exit status, or None."""
        assert self._popen is not None
        try:
            code = self._popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None
        self.exit_status = (
            {"code": None, "signal": signal.Signals(-code).name}
            if code < 0
            else {"code": code, "signal": None}
        )
        return self.exit_status

    def reaped(self, status: int) -> dict[str, Any]:
        """Tell this object that someone else (the ptrace tracer) reaped the command."""
        self.exit_status = exit_status_from_wait(status)
        if self._popen is not None:
            self._popen.returncode = status  # keep Popen from reaping (or warning) later
        return self.exit_status

    def alive(self) -> bool:
        return (
            self.exit_status is None
            and self.pid > 0
            and (process_start_time(self.pid) == self.start_time)
        )

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def terminate(self, grace_s: float = TERMINATE_GRACE_S, reap: bool = True) -> None:
        """SIGTERM the command's process group, SIGKILL after the grace period."""
        if self.pid <= 0 or self.exit_status is not None:
            self.close()
            return
        self.signal_group(signal.SIGTERM)
        if reap and self.wait(grace_s) is None:
            self.signal_group(signal.SIGKILL)
            self.wait(grace_s)
        self.close()

    def close(self) -> None:
        for fd in (self._control_w, self._result_r):
            if fd >= 0:
                os.close(fd)
        self._control_w = self._result_r = -1
        self.join_output(0.5)
        if self._popen is not None:
            for stream in (self._popen.stdout, self._popen.stderr):
                if stream is not None and not any(t.is_alive() for t in self._threads):
                    stream.close()
