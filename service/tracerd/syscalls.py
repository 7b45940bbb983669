"""Syscall event names and results, shared by the worker (which pairs tracefs syscall exits
with their enters, engines/tracefs/pairing.py) and the daemon (rollups, exports).

`classify(name)` tells what an event name is: a syscall enter or exit of the `syscalls`
family (one event per syscall, `s`) or of `raw_syscalls` (`r`, the number in the `id`
field), a function-graph exit, a scheduler switch or wake-up, a loss record, or plain.
`errno_of(ret)` names a failed return value as strace does (kernel-internal codes too).
"""

from __future__ import annotations

import errno as errno_mod
from typing import Any, NamedTuple

ERRNO_MAX = 4096
KERNEL_ERRNOS = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
}

# event classes
PLAIN, ENTER, EXIT, FGRAPH_EXIT, SWITCH, WAKEUP, LOST = range(7)


def errno_of(ret: Any) -> str | None:
    if not isinstance(ret, int) or not -ERRNO_MAX < ret < 0:
        return None
    return errno_mod.errorcode.get(-ret) or KERNEL_ERRNOS.get(-ret) or f"E{-ret}"


class EventKind(NamedTuple):
    """What an event name is (see `classify`)."""

    cls: int
    """PLAIN, ENTER, EXIT, FGRAPH_EXIT, SWITCH, WAKEUP or LOST"""
    family: str
    """'s' (one event per syscall), 'r' (raw_syscalls) or '' (not a syscall)"""
    syscall: str
    """the syscall's name for family 's', else ''"""


def classify(name: str) -> EventKind:
    """The class, family and syscall of an event name."""
    sub, _, event = name.partition(":")
    if sub == "syscalls" and event.startswith(("sys_enter_", "sys_exit_")):
        enter = event.startswith("sys_enter_")
        return EventKind(ENTER if enter else EXIT, "s", event[10 if enter else 9 :])
    if sub == "raw_syscalls" and event in ("sys_enter", "sys_exit"):
        return EventKind(ENTER if event == "sys_enter" else EXIT, "r", "")
    if name == "ftrace:funcgraph_exit":
        return EventKind(FGRAPH_EXIT, "", "")
    if name == "sched:sched_switch":
        return EventKind(SWITCH, "", "")
    if name in ("sched:sched_wakeup", "sched:sched_wakeup_new"):
        return EventKind(WAKEUP, "", "")
    if name == "lost":
        return EventKind(LOST, "", "")
    return EventKind(PLAIN, "", "")
