"""Wakes a tracer thread blocked in waitpid(): a child of that thread that exits on request.

A tracer thread waits in `waitpid(-1, __WALL | __WNOTHREAD)`, which no fd or signal
interrupts portably. So it keeps one child of its own, `cat` reading a pipe whose write end
only the worker holds; `wake()` (any thread) closes the pipe, `cat` exits, waitpid returns
its pid and the loop handles its requests, then arms a new waker. If the worker dies the
pipe closes and `cat` exits by itself. A wake() while no child is armed is remembered.
"""

from __future__ import annotations

import os
import threading

CAT = "/bin/cat"


class Waker:
    """A child of the tracer thread that exits when another thread calls `wake()`."""

    def __init__(self) -> None:
        self.pid = 0
        self._w = -1
        self._early = False
        """a wake() that came while no child was armed: the next one exits at once"""
        self._lock = threading.Lock()

    def arm(self) -> None:
        r, w = os.pipe()
        try:
            self.pid = os.posix_spawn(
                CAT,
                ["cat"],
                {},
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, r, 0),
                    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                ],
            )
        finally:
            os.close(r)
        with self._lock:
            if self._early:
                self._early = False
                os.close(w)
            else:
                self._w = w

    def wake(self) -> None:
        with self._lock:
            if self._w >= 0:
                os.close(self._w)
                self._w = -1
            else:
                self._early = True
