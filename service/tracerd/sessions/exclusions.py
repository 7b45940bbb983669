"""Keeping the daemon out of its own traces as its thread set changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..engines.launch import process_start_time
from ..errors import TracerdError
from ..kernel.proc import thread_ids
from ..types import SessionState

if TYPE_CHECKING:
    from .live import LiveSession
    from .manager import SessionManager

EXCLUDE_INTERVAL_S = 0.5


@functools.cache
def _daemon_start_time() -> int:
    return process_start_time(os.getpid()) or 0


def excluded_processes(sessions: Iterable[LiveSession]) -> list[tuple[int, int]]:
    """(pid, start time) of the daemon and of every worker still running. A worker that
    exited is dropped at once: its pid may be reused by a process that must be traced. The
    start time (clock ticks after boot, /proc/PID/stat) makes the pair unreusable: the bpf
    engine checks it in the program, so a worker that ends while a session runs cannot hide
    the process that takes its pid."""
    procs = [(os.getpid(), _daemon_start_time())]
    for live in sessions:
        w = live.worker
        if w is not None and w.start_time is not None and not w.exited.is_set():
            procs.append((w.pid, w.start_time))
    return procs


async def exclusion_loop(manager: SessionManager) -> None:
    """Tell running tracefs workers when the daemon's thread set changes (anyio's pool
    starts and ends threads): their instances' `set_event_notrace_pid` must list every
    thread of the daemon and the workers, so a system-wide session never records the daemon
    itself, and no thread that ended: once the pid space wraps, its tid is another
    process's pid, which the list would hide. (BPF programs check the tgid and start time;
    the tracefs decoders drop, by tgid, what the kernel lets through between updates.)"""
    known: set[int] = set(thread_ids(os.getpid()))
    while True:
        await asyncio.sleep(EXCLUDE_INTERVAL_S)
        now = set(thread_ids(os.getpid()))
        changed = now != known
        known = now
        if not changed:
            continue
        pids = manager.exclude_pids()
        for live in list(manager.live.values()):
            if live.kind == "tracefs" and live.state == SessionState.RUNNING and live.worker:
                with contextlib.suppress(TracerdError, TimeoutError):
                    await live.worker.call("exclude", {"pids": pids}, 5.0)
