"""Capability probe: what this kernel and machine really allow, tried, never assumed.

Each feature is `{"usable": bool, "where": "instance"|"top_level"|None, "reason": str|None}`
(design.md `GET /v1/capabilities`). Tracers are tried in a scratch tracefs instance named
with the daemon's prefix (`set_ftrace_filter` narrowed to one function first) and removed
again; the top level is only read. BPF program types are loaded and attached with raw
bpf(2)/perf_event_open(2) (system/bpf_probe.py); BCC is checked in a subprocess, so the
daemon never imports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..kernel.tracefs import Instance, Tracefs, os_error_text, read_or_empty

log = logging.getLogger(__name__)

Feature = dict[str, Any]
BCC_CHECK_TIMEOUT_S = 30.0
HEADERS_RECORD = "tracerd-headers-fallback"
PTRACE_SEIZE = 0x4206
PROBE_FUNCTIONS = ("do_nanosleep", "vfs_read", "schedule")


def feature(
    usable: bool, reason: str | None = None, where: str | None = None, **extra: Any
) -> Feature:
    return {"usable": usable, "where": where if usable else None, "reason": reason, **extra}


def tracefs_mounted(root: Path) -> bool:
    return (root / "available_events").exists() or (root / "events").is_dir()


def _pick_filter_function(root: Path) -> str | None:
    """A harmless function the function tracer may filter on."""
    first = None
    wanted = set(PROBE_FUNCTIONS)
    try:
        for line in Tracefs(root).lines("available_filter_functions"):
            name = line.split()[0] if line.strip() else ""
            if first is None and name:
                first = name
            if name in wanted:
                return name
    except OSError:
        return None
    return first


def _try_tracer(inst: Instance, tracer: str, function: str | None) -> str | None:
    """None when `tracer` runs in the instance, else the reason."""
    try:
        if function is not None and inst.has("set_ftrace_filter"):
            inst.write("set_ftrace_filter", function)
        inst.write("current_tracer", tracer)
    except OSError as exc:
        return f"{os_error_text(exc)} writing {tracer} in a tracefs instance"
    finally:
        with contextlib.suppress(OSError):
            inst.write("current_tracer", "nop")
        with contextlib.suppress(OSError):
            if inst.has("set_ftrace_filter"):
                inst.write("set_ftrace_filter", "")
    return None


def probe_tracers(root: Path, scratch_name: str) -> dict[str, Feature]:
    available = read_or_empty(root / "available_tracers").split()
    out: dict[str, Feature] = {}
    inst = Tracefs(root).instance(scratch_name)
    try:
        inst.mkdir()
    except OSError as exc:
        why = f"cannot create a scratch instance: {os_error_text(exc)}"
        return {t: feature(False, why) for t in ("function", "function_graph")}
    try:
        function = _pick_filter_function(root)
        for tracer in ("function", "function_graph"):
            if tracer not in available:
                out[tracer] = feature(False, f"{tracer} is not in available_tracers")
                continue
            reason = _try_tracer(inst, tracer, function)
            if reason is None:
                out[tracer] = feature(True, where="instance")
            elif tracer == "function_graph" and out.get("function", {}).get("usable"):
                # 6.1: refused in an instance, listed at the top level (only read there)
                out[tracer] = feature(True, reason, where="top_level")
            else:
                out[tracer] = feature(False, reason)
    finally:
        try:
            inst.remove()
        except OSError as exc:
            log.warning("cannot remove the scratch instance %s: %s", inst.name, exc)
    return out


def probe_tracefs(root: Path, scratch_name: str) -> dict[str, Any]:
    if not tracefs_mounted(root):
        reason = f"tracefs is not mounted at {root}"
        missing = feature(False, reason)
        return {
            "mounted": missing,
            "path": str(root),
            "events": 0,
            "function": missing,
            "function_graph": missing,
            "kprobes": missing,
            "uprobes": missing,
        }
    events = sum(1 for line in read_or_empty(root / "available_events").splitlines() if line)
    out: dict[str, Any] = {
        "mounted": feature(True, where="instance"),
        "path": str(root),
        "events": events,
    }
    out.update(probe_tracers(root, scratch_name))
    out["kprobes"] = (
        feature(True, where="instance")
        if (root / "kprobe_events").exists()
        else feature(False, "no kprobe_events (kernel without CONFIG_KPROBE_EVENTS)")
    )
    out["uprobes"] = (
        feature(True, where="instance")
        if (root / "uprobe_events").exists()
        else feature(False, "no uprobe_events (kernel without CONFIG_UPROBE_EVENTS)")
    )
    out["clocks"] = read_or_empty(root / "trace_clock").replace("[", "").replace("]", "").split()
    out["subbuf_size"] = (root / "buffer_subbuf_size_kb").exists()
    return out


def headers_release(tree: Path) -> str:
    """The `uname -r` a header tree was built for: UTS_RELEASE (Debian's
    include/config/kernel.release holds the upstream version, e.g. 6.1.192 for
    6.1.0-56-amd64), else kernel.release."""
    match = re.search(
        r'UTS_RELEASE\s+"([^"]+)"', read_or_empty(tree / "include/generated/utsrelease.h")
    )
    return match[1] if match else read_or_empty(tree / "include/config/kernel.release").strip()


def kernel_headers() -> Feature:
    release = os.uname().release
    build = Path("/lib/modules") / release / "build"
    if not build.exists():
        return feature(False, f"no kernel headers at {build}", status="none")
    target = build.resolve()
    version = headers_release(target)
    if version == release or (not version and release in target.name):
        return feature(True, where=None, status="exact", path=str(target), version=release)
    recorded: str | None = read_or_empty(build.parent / HEADERS_RECORD).strip() or None
    reason = (
        f"headers of {version or target.name} for kernel {release}: tools must not "
        "read kernel structs through header layouts"
    )
    return feature(
        True, reason, status="fallback", path=str(target), version=version, package=recorded
    )


def probe_bcc() -> Feature:
    """Import bcc in a subprocess (the daemon itself never imports it)."""
    code = "import bcc, sys; sys.stdout.write(getattr(bcc, '__version__', '?'))"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=BCC_CHECK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return feature(False, f"cannot run {sys.executable}: {exc}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return feature(False, f"bcc is not importable from {sys.executable}: {last}")
    return feature(True, version=proc.stdout.strip())


def probe_bpf_programs() -> dict[str, Feature]:
    from . import bpf_probe

    return {name: dict(cap) for name, cap in bpf_probe.probe_program_types().items()}


def _try_seize() -> str | None:
    """PTRACE_SEIZE a child of ours that sleeps; None on success, else the reason."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    child = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        if libc.ptrace(PTRACE_SEIZE, child.pid, None, None) != 0:
            err = ctypes.get_errno()
            return f"PTRACE_SEIZE failed: {errno.errorcode.get(err, err)} ({os.strerror(err)})"
        return None
    finally:
        child.kill()
        child.wait()


def probe_ptrace() -> dict[str, Any]:
    scope_text = read_or_empty(Path("/proc/sys/kernel/yama/ptrace_scope")).strip()
    scope = int(scope_text) if scope_text.isdigit() else 0  # absent Yama = 0
    reason = _try_seize()
    usable = feature(True) if reason is None else feature(False, reason)
    actions = read_or_empty(Path("/proc/sys/kernel/seccomp/actions_avail")).split()
    seccomp = (
        feature(True) if "trace" in actions else feature(False, "seccomp RET_TRACE not available")
    )
    return {"usable": usable, "ptrace_scope": scope, "seccomp": seccomp}


def probe_bpftrace() -> Feature:
    path = shutil.which("bpftrace")
    if path is None:
        return feature(False, "bpftrace is not installed")
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return feature(False, f"bpftrace --version failed: {exc}")
    return feature(True, version=proc.stdout.strip(), path=path)


def probe_all(tracefs_root: Path, scratch_name: str) -> dict[str, Any]:
    """Every probe; slow parts (BCC import, BPF loads) take about a second."""
    started = time.monotonic()
    uname = os.uname()
    bpf: dict[str, Any] = {"bcc": probe_bcc(), "kernel_headers": kernel_headers()}
    bpf.update(probe_bpf_programs())
    caps: dict[str, Any] = {
        "kernel": {"release": uname.release, "machine": uname.machine},
        "euid": os.geteuid(),
        "tracefs": probe_tracefs(tracefs_root, scratch_name),
        "bpf": bpf,
        "ptrace": probe_ptrace(),
        "bpftrace": probe_bpftrace(),
    }
    caps["probe_seconds"] = round(time.monotonic() - started, 3)
    return caps
