"""Top-level tracefs settings a session changes: recorded, written, and put back.

Where the kernel allows a tracer only at the top level (`function_graph` on 6.1: an
instance refuses it with EINVAL and has no `set_graph_function`), the session writes
top-level files. Each write is a ledger row `top_level_setting` {file, previous, written},
recorded *before* the write. At stop the rows are undone newest first, and at crash
recovery the ledger does the same with `restore_setting` — in both cases only where the
file still holds what tracerd wrote (someone who changed it since keeps their value).

Files come in two kinds:
- lists (`set_ftrace_filter`, `set_graph_function`, `set_ftrace_pid`, ...): read as one
  entry per line, with the kernel's placeholders (`#### all functions enabled ####`,
  `no pid`) meaning empty; written as whitespace-separated tokens after O_TRUNC, looping on
  short writes (the ftrace filter parser takes one token per write(2) call). "Holds what
  tracerd wrote" means: not empty and every listed entry matches a written token (globs
  are listed expanded). Pid lists (`set_ftrace_pid`, `set_ftrace_notrace_pid`) are always
  put back: the kernel itself adds forked children and drops exited tasks there
  (`options/function-fork`), so another writer's change cannot be told from the kernel's;
- values (`current_tracer`, `tracing_on`, `max_graph_depth`, `options/*`, `trace_clock`
  read as its bracketed choice, `buffer_size_kb` as its expanded size).
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...kernel.tracefs import read_file, write_file, write_tokens
from ..base import Ledger

log = logging.getLogger(__name__)

PID_FILES = frozenset({"set_ftrace_pid", "set_ftrace_notrace_pid"})
LIST_FILES = frozenset(
    {
        "set_ftrace_filter",
        "set_ftrace_notrace",
        "set_graph_function",
        "set_graph_notrace",
        "set_ftrace_pid",
        "set_ftrace_notrace_pid",
    }
)
SETTING_TYPE = "top_level_setting"
_EXPANDED_RE = re.compile(r"expanded:\s*(\d+)")
_MODULE_SUFFIX_RE = re.compile(r"\s+\[[^\]]*\]$")


def list_entries(text: str) -> list[str]:
    """Entries of a list file, placeholders (`####...`, `no pid`) and module tags dropped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "no pid":
            continue
        out.append(_MODULE_SUFFIX_RE.sub("", line))
    return out


def normalize(file: str, text: str) -> str:
    """The comparable (and writable) form of a file's content."""
    if Path(file).name in LIST_FILES:
        return " ".join(list_entries(text))
    if Path(file).name == "trace_clock":
        match = re.search(r"\[([^\]]+)\]", text)
        return match[1] if match else text.strip()
    if Path(file).name == "buffer_size_kb":
        match = _EXPANDED_RE.search(text)
        return match[1] if match else text.strip()
    return text.strip()


def read_setting(root: Path, file: str) -> str:
    return normalize(file, read_file(root / file))


def holds(file: str, current: str, written: str) -> bool:
    """Does the file (normalized `current`) still hold what tracerd wrote?"""
    if Path(file).name in PID_FILES:
        return True  # the kernel edits them itself (see the module docstring)
    if Path(file).name not in LIST_FILES:
        return current == written.strip()
    patterns = written.split()
    entries = current.split()
    if not patterns:
        return not entries
    return bool(entries) and all(any(fnmatch.fnmatchcase(e, p) for p in patterns) for e in entries)


def write_setting(root: Path, file: str, value: str) -> None:
    """Write a value (lists: O_TRUNC, then every token); raises OSError as the kernel did."""
    path = root / file
    if Path(file).name not in LIST_FILES:
        write_file(path, value)
        return
    write_tokens(path, value.split())


def restore_setting(root: Path, data: Mapping[str, Any]) -> bool:
    """Put one recorded setting back if the file still holds what tracerd wrote."""
    file = str(data["file"])
    try:
        current = read_setting(root, file)
    except OSError:
        return False
    if not holds(file, current, str(data.get("written", ""))):
        log.info("top-level %s changed since tracerd wrote it (%r); leaving it", file, current)
        return False
    try:
        write_setting(root, file, str(data.get("previous", "")))
    except OSError as exc:
        log.warning("cannot restore top-level %s to %r: %s", file, data.get("previous"), exc)
        return False
    return True


@dataclass(slots=True)
class Change:
    key: str
    file: str
    previous: str
    written: str


class TopLevel:
    """The top-level settings one session changed, in order."""

    def __init__(self, root: Path, ledger: Ledger) -> None:
        self.root = root
        self.ledger = ledger
        self.changes: list[Change] = []

    def read(self, file: str) -> str:
        return read_setting(self.root, file)

    def set(self, file: str, value: str) -> None:
        """Record, then write; on a refusal put the file back and raise OSError. A file
        changed again keeps its first `previous`; its row is recorded anew with the new
        `written` and the old row crossed off (one row per file, always current)."""
        change = next((c for c in self.changes if c.file == file), None)
        previous = change.previous if change is not None else self.read(file)
        data = {"file": file, "previous": previous, "written": value}
        key = self.ledger.record(SETTING_TYPE, file, data)
        try:
            write_setting(self.root, file, value)
        except OSError:
            with contextlib.suppress(OSError):
                write_setting(self.root, file, change.written if change else previous)
            self.ledger.cross_off(key)
            raise
        if change is None:
            self.changes.append(Change(key, file, previous, value))
            return
        self.ledger.cross_off(change.key)
        change.key, change.written = key, value

    def restore(self, first: str | None = None) -> None:
        """Undo every change, newest first (`first`: that file's changes before all others)."""
        order = list(reversed(self.changes))
        if first is not None:
            order.sort(key=lambda c: c.file != first)
        for change in order:
            data = {"file": change.file, "previous": change.previous, "written": change.written}
            restore_setting(self.root, data)
            with contextlib.suppress(Exception):
                self.ledger.cross_off(change.key)
        self.changes.clear()
