"""Process listing from /proc (GET /v1/processes) and tracer checks."""

from __future__ import annotations

import logging
import os
import pwd
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    ppid: int
    comm: str
    user: str
    state: str
    tracer_pid: int
    cmdline: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=256)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def read_process(pid: int) -> ProcessInfo | None:
    base = PROC / str(pid)
    try:
        status = (base / "status").read_text()
        cmdline = (base / "cmdline").read_bytes()
    except OSError:
        return None
    fields: dict[str, str] = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    uid = int(fields.get("Uid", "0").split()[0])
    return ProcessInfo(
        pid=pid,
        ppid=int(fields.get("PPid", "0")),
        comm=fields.get("Name", ""),
        user=user_name(uid),
        state=fields.get("State", "?")[:1],
        tracer_pid=int(fields.get("TracerPid", "0")),
        cmdline=cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
    )


def list_processes(query: str | None = None, pid: int | None = None) -> list[ProcessInfo]:
    if pid is not None:
        info = read_process(pid)
        return [info] if info is not None else []
    out = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        info = read_process(int(entry.name))
        if info is None:
            continue
        if query and query not in info.comm and query not in info.cmdline:
            continue
        out.append(info)
    return sorted(out, key=lambda p: p.pid)


def thread_ids(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(PROC / str(pid) / "task") if t.isdigit())
    except OSError:
        return []


def thread_group(tid: int, proc_root: str = str(PROC)) -> int | None:
    """The tgid of thread `tid` (`Tgid:` of /proc/TID/status), None if it is gone."""
    try:
        with open(f"{proc_root}/{tid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def lists(path: str, pattern: str) -> bool | None:
    """Whether a line of a kernel-exported list (/proc/kallsyms, tracefs'
    available_filter_functions, the kprobes blacklist) matches `pattern` (multiline); None
    if unreadable."""
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        log.debug("cannot read %s: %s", path, e)
        return None
    return re.search(pattern.encode(), text, re.MULTILINE) is not None
