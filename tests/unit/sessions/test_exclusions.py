"""The exclusion list: the daemon and running workers only, each with its start time."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace
from typing import Any

from tracerd.engines.launch import process_start_time
from tracerd.sessions.exclusions import excluded_processes


def _session(pid: int, start: int | None, exited: bool) -> Any:
    done = asyncio.Event()
    if exited:
        done.set()
    return SimpleNamespace(worker=SimpleNamespace(pid=pid, start_time=start, exited=done))


def test_exited_workers_are_dropped_and_the_list_does_not_grow() -> None:
    ended = [_session(1000 + i, 50 + i, exited=True) for i in range(460)]
    running = [_session(42, 7, exited=False), SimpleNamespace(worker=None)]
    procs = excluded_processes([*ended, *running])
    assert procs == [(os.getpid(), process_start_time(os.getpid())), (42, 7)]
