"""Syscall pairing in the worker (engines/tracefs/pairing.py): exits get ret, errno and the
duration from the enter of the same thread and syscall, in merged order."""

from __future__ import annotations

from typing import Any

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.types import WireEvent, lost_event


def ev(ts: int, tid: int, name: str, **fields: Any) -> WireEvent:
    return WireEvent(ts, 0, tid, tid, "c", name, fields)


def results(events: list[WireEvent]) -> list[tuple[Any, Any, Any]]:
    return [(e.dur_ns, e.ret, e.errno) for e in events]


def test_exits_take_their_threads_enter_across_batches() -> None:
    pairer = SyscallPairer()
    first = [
        ev(10, 1, "syscalls:sys_enter_openat", dfd=-100),
        ev(12, 2, "syscalls:sys_enter_read", fd=3),
        ev(15, 1, "syscalls:sys_exit_openat", ret=-2),
        ev(16, 3, "sched:sched_switch", prev_pid=3),
    ]
    pairer.apply(first)
    assert results(first) == [(None, None, None), (None, None, None), (5, -2, "ENOENT"),
                              (None, None, None)]  # fmt: skip
    second = [ev(40, 2, "syscalls:sys_exit_read", ret=8)]
    pairer.apply(second)
    assert results(second) == [(28, 8, None)]
    assert second[0].fields == {"ret": 8}  # the fields stay as decoded


def test_raw_syscalls_pair_by_number_and_unmatched_exits_keep_their_result() -> None:
    pairer = SyscallPairer()
    events = [
        ev(10, 1, "raw_syscalls:sys_enter", id=0, args=[0] * 6),
        ev(11, 1, "raw_syscalls:sys_exit", id=1, ret=4),  # another syscall: no duration
        ev(20, 1, "raw_syscalls:sys_enter", id=0, args=[0] * 6),
        ev(23, 1, "raw_syscalls:sys_exit", id=0, ret=-512),
        ev(30, 2, "syscalls:sys_exit_getppid", ret=7),  # its enter was never seen
    ]
    pairer.apply(events)
    assert results(events)[1:] == [(None, 4, None), (None, None, None), (3, -512, "ERESTARTSYS"),
                                   (None, 7, None)]  # fmt: skip


def test_a_loss_record_forgets_pending_enters() -> None:
    pairer = SyscallPairer()
    events = [
        ev(10, 1, "syscalls:sys_enter_read", fd=3),
        lost_event("kernel", 5, 11),
        ev(20, 1, "syscalls:sys_exit_read", ret=1),
    ]
    pairer.apply(events)
    assert results(events)[2] == (None, 1, None)


def test_a_batch_without_syscalls_is_left_alone() -> None:
    events = [ev(1, 1, "sched:sched_wakeup", pid=2), ev(2, 1, "irq:irq_handler_entry", irq=1)]
    before = list(events)
    SyscallPairer().apply(events)
    assert all(a is b for a, b in zip(events, before, strict=True))
