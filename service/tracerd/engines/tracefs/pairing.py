"""Syscall pairing in the worker's tracefs stage, after the per-CPU merge: each syscall
exit (`syscalls:sys_exit_*`, `raw_syscalls:sys_exit`) gets `ret` (its `ret` field),
`errno` (strace's name of a failed return) and `dur_ns` (from the enter of the same thread
and syscall, which merged time order makes the previous one of that thread). The daemon
then stores and counts what it receives without per-event state (storage/rollups.py).

Caveats: a loss record clears the pending enters (a pair across a gap would be wrong); an
exit without its enter (the enter before the session, or lost) keeps `ret` and `errno` but
no duration. At most MAX_PENDING enters are remembered (all forgotten past that).
"""

from __future__ import annotations

from operator import itemgetter

from ...syscalls import ENTER, EXIT, LOST, PLAIN, classify, errno_of
from ...types import EV_FIELDS, EV_NAME, EV_TID, EV_TS_NS, WireEvent

MAX_PENDING = 65_536
_NAME = itemgetter(5)
_new = tuple.__new__


class SyscallPairer:
    """The pairing state of one merged stream of events."""

    def __init__(self) -> None:
        self._kinds: dict[str, tuple[int, str, str]] = {}
        self._enters: dict[tuple[int, str], tuple[object, int]] = {}

    def _kind(self, name: str) -> tuple[int, str, str]:
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = classify(name)
        return kind

    def apply(self, events: list[WireEvent]) -> None:
        """Promote the exits of `events` (in time order) in place."""
        names = set(map(_NAME, events))  # in C: a batch without syscalls costs one pass
        if {self._kind(name)[0] for name in names} == {PLAIN}:
            return
        kinds, enters = self._kinds, self._enters
        for i, ev in enumerate(events):
            cls, family, syscall = kinds[ev[EV_NAME]]
            if cls == PLAIN:
                continue
            tid = ev[EV_TID]
            if cls == ENTER:
                if tid is not None:
                    if len(enters) >= MAX_PENDING:
                        enters.clear()
                    key = ev[EV_FIELDS].get("id") if family == "r" else syscall
                    enters[(tid, family)] = (key, ev[EV_TS_NS])
            elif cls == EXIT:
                fields = ev[EV_FIELDS]
                ret = fields.get("ret")
                dur = None
                if tid is not None:
                    start = enters.pop((tid, family), None)
                    key = fields.get("id") if family == "r" else syscall
                    if start is not None and start[0] == key:
                        dur = ev[EV_TS_NS] - start[1]
                events[i] = _new(WireEvent, (*ev[:7], dur, ret, errno_of(ret)))
            elif cls == LOST:
                enters.clear()
