"""Keeping the daemon out of its own traces as its thread set changes."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from ..errors import TracerdError
from ..system.procs import thread_ids
from ..types import SessionState

if TYPE_CHECKING:
    from .manager import SessionManager

EXCLUDE_INTERVAL_S = 0.5


async def exclusion_loop(manager: SessionManager) -> None:
    """Tell running tracefs workers when the daemon has new threads (an anyio worker thread,
    say): their instances' `set_event_notrace_pid` must list every thread of the daemon and
    the workers, so a system-wide session never records the daemon itself. (BPF programs
    check the tgid, which covers new threads already.)"""
    known: set[int] = set(thread_ids(os.getpid()))
    while True:
        await asyncio.sleep(EXCLUDE_INTERVAL_S)
        now = set(thread_ids(os.getpid()))
        grew = not now <= known
        known = now
        if not grew:
            continue
        pids = manager.exclude_pids()
        for live in list(manager.live.values()):
            if live.kind == "tracefs" and live.state == SessionState.RUNNING and live.worker:
                with contextlib.suppress(TracerdError, TimeoutError):
                    await live.worker.call("exclude", {"pids": pids}, 5.0)
