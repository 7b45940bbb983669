"""Progress of the guest tier for the host's watchdog (`scripts/guest/run.sh`); loaded by
`scripts/guest/tier.sh` with `-p tests.guest.progress`, active where `TRACERD_GUEST_CTL`
names the guest's control share (run.sh sets it).

- `$CTL/progress` (rewritten): a beat counter, the running test's id and phase, and where
  its main thread is (innermost frames in the checkout). A thread looks at the main
  thread every few seconds and counts a beat only when it moved: a test blocked in one
  system call (a tracefs write that never returns), asleep for good, or a stuck guest
  makes no beat, and the host's watchdog fires (its dump names the test); a test waiting
  in a polling loop keeps beating and meets pytest's own `--timeout` instead.
- `$CTL/results` (appended): `collected ID`, `passed ID`, `failed ID` lines, from which
  the tier reruns only what did not pass after an emulator stall.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

CTL = os.environ.get("TRACERD_GUEST_CTL")
ROOT = str(Path(__file__).resolve().parents[2])
LOOK_EVERY_S = 3.0


def where(frame: FrameType | None, depth: int = 3) -> str:
    """The innermost frames in the checkout (tests, service), as file:line."""
    spots: list[str] = []
    while frame is not None and len(spots) < depth:
        path = frame.f_code.co_filename
        if path.startswith(ROOT) and "/.venv/" not in path:
            spots.append(f"{os.path.relpath(path, ROOT)}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(spots) or "?"


class Progress:
    def __init__(self, ctl: Path) -> None:
        self.ctl = ctl
        self.lock = threading.Lock()
        self.beat = 0
        self.test = "(collecting)"
        self.phase = ""
        self.main = threading.main_thread().ident
        self.seen: tuple[object, ...] = ()
        self.last = time.monotonic()
        self.longest = (0.0, "")
        threading.Thread(target=self._watch, name="guest-progress", daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(LOOK_EVERY_S)
            frame = sys._current_frames().get(self.main or 0)
            stack = []
            while frame is not None:
                stack.append((frame.f_code, frame.f_lineno))
                frame = frame.f_back
            if tuple(stack) != self.seen:
                self.seen = tuple(stack)
                self.write()

    def write(self) -> None:
        with self.lock:
            self.beat += 1
            now = time.monotonic()
            if now - self.last > self.longest[0]:
                self.longest = (now - self.last, f"{self.test} {self.phase}")
            self.last = now
            frame = sys._current_frames().get(self.main or 0)
            text = f"{self.beat} {self.test} {self.phase} at {where(frame)}\n"
            tmp = self.ctl / "progress.tmp"
            tmp.write_text(text)
            tmp.rename(self.ctl / "progress")

    def result(self, line: str) -> None:
        with self.lock, open(self.ctl / "results", "a") as fh:
            fh.write(line + "\n")


_progress: Progress | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _progress
    if CTL and Path(CTL).is_dir():
        _progress = Progress(Path(CTL))


def pytest_collection_finish(session: pytest.Session) -> None:
    if _progress is not None:
        for item in session.items:
            _progress.result(f"collected {item.nodeid}")


def pytest_runtest_logstart(nodeid: str) -> None:
    if _progress is not None:
        _progress.test, _progress.phase = nodeid, "setup"
        _progress.write()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _progress is None:
        return
    _progress.phase = {"setup": "call", "call": "teardown"}.get(report.when, "done")
    if report.failed or report.skipped:  # in the guest a skip is a failure too
        _progress.result(f"failed {report.nodeid}")
    elif report.when == "teardown":
        _progress.result(f"passed {report.nodeid}")
    _progress.write()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _progress is not None:
        gap, test = _progress.longest
        terminalreporter.line(f"guest tier: longest time without progress {gap:.0f} s ({test})")
