"""Syscall numbers <-> names for `raw_syscalls` events (their `id` field).

The x86-64 table lives with the engines that need it too (the bpf tool catalogue, the
ptrace engine); they are pure data modules, imported lazily. Without them the C library's
`asm/unistd_64.h` is read if installed; else a number is shown as `syscall_<nr>`.
"""

from __future__ import annotations

import importlib
import platform
import re
from functools import cache
from pathlib import Path

UNISTD = Path(f"/usr/include/{platform.machine()}-linux-gnu/asm/unistd_64.h")
DEFINE = re.compile(r"^#define __NR_(\w+)\s+(\d+)\s*$", re.M)


@cache
def _table() -> dict[int, str]:
    try:
        bpf = importlib.import_module("tracerd.engines.bpf.tools.syscalls")
        return dict(bpf.syscall_table())
    except (ImportError, AttributeError):
        pass
    try:
        sysent = importlib.import_module("tracerd.engines.ptrace.sysent")
        syscalls = importlib.import_module("tracerd.engines.ptrace.syscalls")
        return {nr: name for nr, name, *_ in syscalls.parse_sysent(sysent.TABLE_X86_64)}
    except (ImportError, AttributeError):
        pass
    try:
        return {int(nr): name for name, nr in DEFINE.findall(UNISTD.read_text())}
    except OSError:
        return {}


def syscall_name(nr: int) -> str:
    return _table().get(nr) or f"syscall_{nr}"


def syscall_nr(name: str) -> int | None:
    for nr, known in _table().items():
        if known == name:
            return nr
    if name.startswith("syscall_") and name[8:].isdigit():
        return int(name[8:])
    return None
