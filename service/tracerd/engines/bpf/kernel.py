"""Kernel-facing helpers of the BPF engine that need no bcc: program ids from fdinfo,
listing programs like `bpftool prog show`, BCC's tracefs probe leftovers, perf event
names, and clang's diagnostics trimmed to the errors.

`/proc/<pid>/fdinfo/<fd>` of a BPF program fd carries `prog_id:` (the id bpftool shows),
of a map fd `map_id:`/`max_entries:`; scanning a process's fdinfo finds every program it
holds (how we list a bpftrace child's programs).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from ...kernel.tracefs import DEFAULT_ROOT, PROBE_FILES, Tracefs

log = logging.getLogger(__name__)
TRACEFS_PROBE_FILES = PROBE_FILES
# perf_event_open(2) types and configs (include/uapi/linux/perf_event.h).
PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE = 0, 1
PERF_EVENTS: dict[str, tuple[int, int]] = {
    "cpu-clock": (PERF_TYPE_SOFTWARE, 0),
    "task-clock": (PERF_TYPE_SOFTWARE, 1),
    "page-faults": (PERF_TYPE_SOFTWARE, 2),
    "context-switches": (PERF_TYPE_SOFTWARE, 3),
    "cpu-migrations": (PERF_TYPE_SOFTWARE, 4),
    "minor-faults": (PERF_TYPE_SOFTWARE, 5),
    "major-faults": (PERF_TYPE_SOFTWARE, 6),
    "cpu-cycles": (PERF_TYPE_HARDWARE, 0),
    "instructions": (PERF_TYPE_HARDWARE, 1),
    "cache-references": (PERF_TYPE_HARDWARE, 2),
    "cache-misses": (PERF_TYPE_HARDWARE, 3),
    "branch-instructions": (PERF_TYPE_HARDWARE, 4),
    "branch-misses": (PERF_TYPE_HARDWARE, 5),
}
DEFAULT_SAMPLE_FREQ_HZ = 49
_DIAG = re.compile(r"^\S.*?:\d+:\d+: (fatal error|error|warning|note): ")
_TOTAL = re.compile(r"^(?:\d+ warnings? and )?(\d+ errors? generated\.)")


def fdinfo(fd: int, pid: int | str = "self") -> dict[str, str]:
    """The `key: value` lines of /proc/<pid>/fdinfo/<fd> ({} if it is gone)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def process_prog_ids(pid: int) -> list[int]:
    """Ids of the BPF programs process `pid` holds an fd of."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                continue
        except OSError:
            continue
        prog_id = fdinfo(int(fd), pid).get("prog_id")
        if prog_id:
            ids.add(int(prog_id))
    return sorted(ids)


def perf_event_spec(target: str) -> tuple[int, int, dict[str, int]]:
    """`cpu-clock`, `cpu-clock:freq=99` or `cpu-clock:period=100000` -> (type, config, rate)."""
    name, _, rate = target.partition(":")
    if name not in PERF_EVENTS:
        raise ValueError(f"unknown perf event {name!r} (known: {', '.join(PERF_EVENTS)})")
    ev_type, ev_config = PERF_EVENTS[name]
    if not rate:
        return ev_type, ev_config, {"sample_freq": DEFAULT_SAMPLE_FREQ_HZ}
    key, _, value = rate.partition("=")
    if key not in ("freq", "period") or not value.isdigit() or int(value) < 1:
        raise ValueError(f"bad perf event rate {rate!r}: give freq=N or period=N")
    return ev_type, ev_config, {f"sample_{key}": int(value)}


def remove_tracefs_probes(suffix: str, tracefs: str = str(DEFAULT_ROOT)) -> list[str]:
    """Delete uprobe/kprobe definitions whose name ends with `suffix` (BCC's fallback
    probes, `..._bcc_<pid>`); returns the names removed."""
    return Tracefs(Path(tracefs)).remove_probes_ending(suffix)


def clang_errors(stderr: str) -> str:
    """Clang's diagnostics without the warnings (and their notes) from kernel headers."""
    kept: list[str] = []
    keep = False
    pending: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("In file included from"):
            pending.append(line)
            continue
        m = _DIAG.match(line)
        if m:
            if m.group(1) != "note":
                keep = m.group(1) in ("error", "fatal error")
            if keep:
                kept.extend(pending)
            pending = []
        else:
            total = _TOTAL.match(line)
            if total:
                kept.append(total.group(1))
                continue
        if keep:
            kept.append(line)
    return "\n".join(kept).strip()
