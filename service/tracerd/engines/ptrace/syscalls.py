"""The syscall table of the running kernel and the `syscalls` selection (names, %classes).

Numbers, names and strace classes come from `sysent.TABLE_X86_64`; argument names and C
types from the kernel's own `events/syscalls/sys_enter_<name>/format` files (parsed with
kernel/formats.py), so syscalls newer than python-ptrace's Linux 5.8 tables (clone3,
openat2, close_range, ...) decode with their real prototypes. Without tracefs the table still
works with anonymous arguments (`arg0`..). A few kernel event names differ from the syscall
names (`newstat` is `stat`, `sendfile64` is `sendfile`).
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ...errors import BadRequest
from ...kernel.formats import FormatError, parse_format
from ...kernel.tracefs import DEFAULT_ROOT, Tracefs
from .sysent import TABLE_X86_64

log = logging.getLogger(__name__)

# kernel trace-event name -> syscall name, where they differ
_EVENT_ALIASES = {
    "newstat": "stat",
    "newfstat": "fstat",
    "newlstat": "lstat",
    "sendfile64": "sendfile",
    "newuname": "uname",
    "umount": "umount2",
}
CLASSES = {
    "%file": "f",
    "%process": "p",
    "%network": "n",
    "%net": "n",
    "%memory": "m",
    "%signal": "s",
    "%desc": "d",
    "%ipc": "i",
    "%creds": "c",
    "%clock": "k",
    "%stat": "S",
    "%lstat": "L",
    "%fstat": "F",
    "%%stat": "A",
    "%statfs": "Y",
    "%fstatfs": "Z",
    "%%statfs": "B",
    "%pure": "u",
}


@dataclass(frozen=True, slots=True)
class Syscall:
    nr: int
    name: str
    nargs: int
    classes: str
    """sysent letters"""
    args: tuple[tuple[str, str], ...]
    """(name, C type) per argument, from the kernel's format file"""


@dataclass(frozen=True, slots=True)
class SyscallTable:
    by_nr: Mapping[int, Syscall]
    by_name: Mapping[str, Syscall]

    def name(self, nr: int) -> str:
        sc = self.by_nr.get(nr)
        return sc.name if sc is not None else f"syscall_{nr:#x}"

    def select(self, items: Iterable[str]) -> frozenset[int] | None:
        """The syscall numbers `items` selects; None for all. BadRequest on unknown names."""
        wanted: set[int] = set()
        unwanted: set[int] = set()
        positive = False
        for item in items:
            negate = item.startswith("!")
            name = item[1:] if negate else item
            optional = name.startswith("?")  # strace: no error if it names nothing
            name = name.removeprefix("?")
            if name == "none":
                positive = positive or not negate
                continue
            try:
                nrs = self._resolve(name)
            except BadRequest:
                if optional:
                    continue
                raise
            if negate:
                unwanted |= nrs
            else:
                positive = True
                wanted |= nrs
        if not positive and not unwanted:
            return None
        base = wanted if positive else set(self.by_nr)
        return frozenset(base - unwanted)

    def _resolve(self, name: str) -> set[int]:
        if name in ("all", "%all"):
            return set(self.by_nr)
        if name.startswith("/"):
            try:
                pattern = re.compile(name[1:])
            except re.error as exc:
                raise BadRequest(f"bad syscall regex {name!r}: {exc}", {"name": name}) from exc
            found = {sc.nr for sc in self.by_nr.values() if pattern.search(sc.name)}
            if not found:
                raise BadRequest(f"no syscall matches {name!r}", {"name": name, "close": []})
            return found
        if name.startswith("%"):
            letter = CLASSES.get(name)
            if letter is None:
                raise _unknown(name, list(CLASSES))
            return {sc.nr for sc in self.by_nr.values() if letter in sc.classes}
        sc = self.by_name.get(name)
        if sc is None:
            raise _unknown(name, list(self.by_name))
        return {sc.nr}


def _unknown(name: str, known: list[str]) -> BadRequest:
    close = difflib.get_close_matches(name, known, n=5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return BadRequest(f"unknown syscall or class {name!r}{hint}", {"name": name, "close": close})


def parse_sysent(text: str) -> list[tuple[int, str, int, str]]:
    out = []
    for entry in text.replace("\n", "|").split("|"):
        parts = entry.split()
        if len(parts) == 4:
            out.append((int(parts[0]), parts[1], int(parts[2]), parts[3].strip("-")))
    return out


def read_prototypes(root: Path = DEFAULT_ROOT) -> dict[str, tuple[tuple[str, str], ...]]:
    """{syscall name: ((arg name, C type), ...)} from the kernel's sys_enter formats."""
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, text in Tracefs(root).system_formats("syscalls", "sys_enter_"):
        try:
            fmt = parse_format(text, "syscalls")
        except FormatError as exc:
            log.debug("cannot parse the format of %s: %s", name, exc)
            continue
        event = fmt.name.removeprefix("sys_enter_")
        args = tuple(
            (f.name, f.c_type.strip()) for f in fmt.event_fields if f.name != "__syscall_nr"
        )
        out[_EVENT_ALIASES.get(event, event)] = args
    return out


def build_table(prototypes: Mapping[str, tuple[tuple[str, str], ...]]) -> SyscallTable:
    by_nr: dict[int, Syscall] = {}
    for nr, name, nargs, classes in parse_sysent(TABLE_X86_64):
        args = prototypes.get(name) or tuple((f"arg{i}", "long") for i in range(nargs))
        by_nr[nr] = Syscall(nr, name, len(args), classes, tuple(args))
    return SyscallTable(by_nr, {sc.name: sc for sc in by_nr.values()})


@functools.cache
def kernel_table() -> SyscallTable:
    """The table of the running kernel (format files read once per process)."""
    return build_table(read_prototypes())
