"""Control writes: session rows and ledger entries, on threads of their own, retried.

A session's lifecycle must not wait behind event work (exports, reports, the default
thread pool) nor end on a transient database error (`database is locked` past the busy
timeout, a full disk freed a moment later): these writes run on a small pool of their
own and an OperationalError is retried with backoff until the call's time budget is
spent; only then is it raised. Each attempt waits only briefly for a lock another
connection holds (SQLite: 200 ms, not the 10 s busy timeout), so the budget holds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from ..storage.db import short_busy_timeout

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_DELAY_S = 0.05
MAX_DELAY_S = 1.0
THREADS = 2


class ControlWrites:
    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self._pool = ThreadPoolExecutor(
            THREADS, thread_name_prefix="control-db", initializer=short_busy_timeout
        )
        self.retries = 0

    async def run(self, fn: Callable[..., T], *args: Any, budget_s: float | None = None) -> T:
        """`fn(*args)` on the control pool; an OperationalError is retried until
        `budget_s` (default: the daemon's stop timeout) has passed."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args)
        return await self.retrying(
            lambda: loop.run_in_executor(self._pool, call),
            getattr(fn, "__name__", "control write"),
            budget_s,
        )

    async def retrying(
        self, attempt: Callable[[], Awaitable[T]], what: str, budget_s: float | None = None
    ) -> T:
        """`attempt()` again with backoff while it raises OperationalError, until `budget_s`
        (default: the daemon's stop timeout) has passed; then the error is raised."""
        deadline = time.monotonic() + (self.budget_s if budget_s is None else budget_s)
        delay = FIRST_DELAY_S
        while True:
            try:
                return await attempt()
            except OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                self.retries += 1
                log.warning("%s: %s; retrying", what, exc.orig or exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY_S)

    def close(self) -> None:
        """Blocking: let the queued writes finish."""
        self._pool.shutdown(wait=True)
