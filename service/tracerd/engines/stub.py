"""Exec stub for launched commands: waits until its engine is armed, then becomes the command.

Run as `python -I -S stub.py FD` (standard library only: it must start fast and import
nothing of the package). The engine writes one JSON line of settings to FD, then, when it
is ready (tracefs instance armed, or the ptrace tracer has seized this process), one byte
"g". Before the "g" the stub drops privileges, sets its parent-death signal and changes
directory, so that after it only a seccomp filter (if asked; it needs no_new_privs and a
tracer) and the execve remain for a trace to see. Errors before exec are written as
one line to the result fd (close-on-exec, so EOF there means exec succeeded) and the stub
exits with status 127. Before waiting, the stub writes one READY byte to the result fd, so
the engine knows the interpreter's own exec and start-up are over before it arms anything
(a tracer that seized the stub earlier would see the interpreter's exec as the command's).
"""

import ctypes
import json
import os
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
READY = b"\x06"


SYS_RT_SIGACTION = 13  # x86-64


class KernelSigaction(ctypes.Structure):
    """struct sigaction as the rt_sigaction system call takes it (x86-64)."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("restorer", ctypes.c_void_p),
        ("mask", ctypes.c_uint64),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install_seccomp(libc: ctypes.CDLL, program: bytes) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    prog = SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def _prepare(settings: dict[str, Any], libc: ctypes.CDLL) -> None:
    """Everything that can happen before the engine is armed (so a trace of the command
    starts with little more than its execve)."""
    parent = os.getppid()
    if settings.get("gid") is not None:
        os.setgroups(settings.get("groups") or [])
        os.setgid(settings["gid"])
    if settings.get("uid") is not None:
        os.setuid(settings["uid"])
    # after the credential change, which clears it
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        raise OSError("the engine went away before the command started")
    if settings.get("cwd"):
        os.chdir(settings["cwd"])
    _default_signals(libc)


def _default_signals(libc: ctypes.CDLL) -> None:
    """Every signal at its default and none blocked, as a command started from a shell has
    them: an ignored signal survives exec, and this interpreter ignores SIGPIPE (Python
    does at start-up) and may have inherited ignored ones (SIGINT/SIGQUIT in a shell
    script's background; even glibc's reserved 32 and 33, which sigaction(3) refuses to
    touch: hence the raw rt_sigaction)."""
    default = KernelSigaction(None, 0, None, 0)
    for sig in range(1, 65):
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            libc.syscall(
                ctypes.c_long(SYS_RT_SIGACTION),
                ctypes.c_long(sig),
                ctypes.byref(default),
                None,
                ctypes.c_long(8),
            )
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _exec(settings: dict[str, Any], libc: ctypes.CDLL) -> None:
    # seccomp only now: its RET_TRACE needs the tracer that seized us meanwhile
    if settings.get("seccomp"):
        _install_seccomp(libc, bytes.fromhex(settings["seccomp"]))
    os.execve(settings["path"], settings["argv"], settings["env"])


def main() -> None:
    control = int(sys.argv[1])
    result = int(sys.argv[2])
    os.set_inheritable(result, False)  # EOF on the result pipe = exec happened
    os.write(result, READY)  # the interpreter is up: tracing from here on sees no startup
    os.set_inheritable(control, False)  # exec closes it: no close() after the go
    data = b""
    while b"\n" not in data:
        chunk = os.read(control, 65536)
        if not chunk:
            os._exit(126)
        data += chunk
    line, _, rest = data.partition(b"\n")
    settings = json.loads(line)
    libc = ctypes.CDLL(None, use_errno=True)
    error: OSError | None = None
    try:
        _prepare(settings, libc)
    except OSError as exc:
        error = exc  # reported after the go, where exec errors are
    if (rest or os.read(control, 1))[:1] != b"g":
        os._exit(126)
    exec_error: Exception | None = error
    try:
        if exec_error is None:
            _exec(settings, libc)
    except (OSError, ValueError) as exc:  # ValueError: a string execve cannot take
        exec_error = exc
    if exec_error is not None:
        text = getattr(exec_error, "strerror", None) or exec_error
        os.write(result, f"{text}: {getattr(exec_error, 'filename', None) or ''}\n".encode())
    os._exit(127)


if __name__ == "__main__":
    main()
