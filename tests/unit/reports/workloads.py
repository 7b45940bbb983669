"""Synthetic event streams shaped like each engine's (design.md), with known answers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tracerd.reports.sysnames import syscall_name
from tracerd.types import WireEvent, lost_event

from .store import T0, ev

US = 1000


@dataclass
class Expected:
    """What a syscall table must say: syscall -> [calls, errors, total_ns, max_ns]."""

    table: dict[str, list[int]] = field(default_factory=dict)

    def add(self, syscall: str, dur: int | None, failed: bool) -> None:
        row = self.table.setdefault(syscall, [0, 0, 0, 0])
        row[0] += 1
        row[1] += int(failed)
        if dur is not None:
            row[2] += dur
            row[3] = max(row[3], dur)


def tracefs_syscalls(
    n: int, seed: int = 1, raw: bool = False, unpaired: bool = False
) -> tuple[list[WireEvent], Expected]:
    """Enter/exit pairs of openat/read/close over 3 threads on 2 CPUs, interleaved in time;
    every 7th openat fails with ENOENT. `raw`: raw_syscalls events with `id`. `unpaired`:
    first come exits without an enter, which strace -c does not count (neither as calls nor as
    errors): a read a thread was blocked in when the session began, interrupted (EINTR),
    and a forked child's return from clone."""
    rng = random.Random(seed)
    nrs = {"openat": 257, "read": 0, "close": 3, "clone": 56}
    events: list[WireEvent] = []
    expected = Expected()
    t = 0
    for tid, syscall, ret in ((40, "read", -4), (41, "clone", 0), (42, "read", -4))[
        : 3 if unpaired else 0
    ]:
        t += US
        name = "raw_syscalls:sys_exit" if raw else f"syscalls:sys_exit_{syscall}"
        key = "id" if raw else "__syscall_nr"
        fields = {key: nrs[syscall], "ret": ret}
        events.append(ev(t, name, fields, cpu=0, pid=tid, tid=tid, comm=f"t{tid}"))
    open_calls: dict[int, tuple[str, int]] = {}
    for i in range(n):
        tid = 10 + i % 3
        t += rng.randint(1, 50) * US
        if tid in open_calls:
            syscall, start = open_calls.pop(tid)
            failed = syscall == "openat" and i % 7 == 0
            ret = -2 if failed else 3
            name = "raw_syscalls:sys_exit" if raw else f"syscalls:sys_exit_{syscall}"
            fields = (
                {"id": nrs[syscall], "ret": ret}
                if raw
                else {"__syscall_nr": nrs[syscall], "ret": ret}
            )
            events.append(ev(t, name, fields, cpu=tid % 2, pid=10, tid=tid, comm=f"t{tid}"))
            expected.add(syscall_name(nrs[syscall]) if raw else syscall, t - start, failed)
        else:
            syscall = rng.choice(["openat", "read", "close"])
            open_calls[tid] = (syscall, t)
            name = "raw_syscalls:sys_enter" if raw else f"syscalls:sys_enter_{syscall}"
            fields = (
                {"id": nrs[syscall], "args": [0] * 6} if raw else {"__syscall_nr": nrs[syscall]}
            )
            events.append(ev(t, name, fields, cpu=tid % 2, pid=10, tid=tid, comm=f"t{tid}"))
    return events, expected


def ptrace_syscalls(n: int, seed: int = 2) -> tuple[list[WireEvent], Expected]:
    """Completed syscalls with promoted dur/ret/errno, plus signal/exit events and an
    unfinished exit_group (ret null) that strace would not count."""
    rng = random.Random(seed)
    events: list[WireEvent] = []
    expected = Expected()
    t = 0
    for i in range(n):
        t += rng.randint(5, 40) * US
        syscall = rng.choice(["openat", "read", "write", "close", "mmap"])
        failed = syscall == "openat" and i % 5 == 0
        dur = rng.randint(1, 300) * US + rng.randint(0, 999)
        ret, err = (-2, "ENOENT") if failed else (3, None)
        fields = {
            "args": [],
            "raw_args": [],
            "ret": ret,
            "errno": err,
            "duration_ns": dur,
            "text": f"{syscall}() = {ret}",
        }
        pid = 200 + i % 2
        events.append(
            ev(t, syscall, fields, cpu=None, pid=pid, comm="app", dur=dur, ret=ret, errno=err)
        )
        expected.add(syscall, dur, failed)
    events.append(
        ev(t + 1, "signal", {"signal": "SIGCHLD", "text": "--- SIGCHLD ---"}, cpu=None, pid=200)
    )
    events.append(
        ev(
            t + 2,
            "exit_group",
            {
                "args": ["0"],
                "raw_args": [0],
                "ret": None,
                "errno": None,
                "duration_ns": 5,
                "text": "exit_group(0) = ?",
            },
            cpu=None,
            pid=200,
            dur=5,
        )
    )
    events.append(
        ev(
            t + 9,
            "exit",
            {"code": 0, "signal": None, "text": "+++ exited with 0 +++"},
            cpu=None,
            pid=200,
        )
    )
    return events, expected


def sched_stream(n: int, seed: int = 3) -> list[WireEvent]:
    """sched_switch/sched_wakeup on 2 CPUs among 4 tasks and the idle task."""
    rng = random.Random(seed)
    running = {0: 0, 1: 0}
    events: list[WireEvent] = []
    t = 0
    for _ in range(n):
        t += rng.randint(1, 200) * US
        cpu = rng.randint(0, 1)
        if rng.random() < 0.3:
            task = rng.choice([21, 22, 23, 24])
            events.append(
                ev(
                    t,
                    "sched:sched_wakeup",
                    {"comm": f"w{task}", "pid": task, "prio": 120, "target_cpu": cpu},
                    cpu=cpu,
                    pid=running[cpu],
                    tid=running[cpu],
                    comm="waker",
                )
            )
            continue
        prev = running[cpu]
        nxt = rng.choice(
            [t2 for t2 in (0, 21, 22, 23, 24) if t2 not in running.values() or t2 == 0]
        )
        state = rng.choice([0, 1, 2, 0x100])
        fields = {
            "prev_comm": f"w{prev}" if prev else "swapper/0",
            "prev_pid": prev,
            "prev_prio": 120,
            "prev_state": state,
            "next_comm": f"w{nxt}" if nxt else "swapper/0",
            "next_pid": nxt,
            "next_prio": 120,
        }
        events.append(
            ev(
                t,
                "sched:sched_switch",
                fields,
                cpu=cpu,
                pid=prev,
                tid=prev,
                comm=f"w{prev}" if prev else "swapper",
            )
        )
        running[cpu] = nxt
    return events


def with_loss(events: list[WireEvent], at: int) -> list[WireEvent]:
    ts = events[at].ts_ns
    return [*events[:at], lost_event("kernel", 17, ts, cpu=0), *events[at:]]


__all__ = ["T0", "Expected", "ptrace_syscalls", "sched_stream", "tracefs_syscalls", "with_loss"]
