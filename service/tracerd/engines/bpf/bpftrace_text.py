"""bpftrace's text, in and out (pure): the script rewrite and the `-f json` records.

The rewrite keeps bpftrace from tracing itself (and the daemon, and the workers): a
script on `sys_enter_write` would otherwise see the writes of its own printf output and
feed back without end. bpftrace 0.17 has no global pid filter for tracepoints, so every
probe block tied to the current task gets `if (pid == <bpftrace> || pid == <worker> ...)
{ return; }` as its first statement (plus the session's pid/comm filter). The top level
of the script is scanned for blocks (strings, comments and nesting skipped); blocks of
BEGIN, END, interval and iter probes are left alone (they do not run in a traced task),
as are struct definitions and preprocessor lines. `pid` in bpftrace is the tgid.
With `map_interval_s`, an `interval` probe printing every map of the script is appended:
that is how periodic snapshots get out of a running bpftrace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

UNFILTERED = (
    "BEGIN",
    "END",
    "interval:",
    "iter:",
    "i:",
    "struct",
    "union",
    "enum",
    "typedef",
    "config",
)
TEXT_RECORDS = ("printf", "time", "join", "cat", "syscall", "value")
_MAP_NAME = re.compile(r"@[A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Block:
    header: str
    open_at: int
    """index of the block's `{`"""


def _scan(script: str) -> Iterator[tuple[int, str]]:
    """(index, char) of code characters (comments and string literals skipped)."""
    i, n = 0, len(script)
    while i < n:
        if script.startswith("//", i):
            i = script.find("\n", i)
            i = n if i < 0 else i
            continue
        if script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if script[i] == '"':
            i += 1
            while i < n and script[i] != '"':
                i += 2 if script[i] == "\\" else 1
            i += 1
            continue
        yield i, script[i]
        i += 1


def blocks(script: str) -> list[Block]:
    """Top-level blocks with the code before them (probe list and predicate; comments and
    preprocessor lines left out)."""
    out: list[Block] = []
    depth, skip_to = 0, -1
    header: list[str] = []
    for i, c in _scan(script):
        if i < skip_to:
            continue
        if c == "{":
            if depth == 0:
                out.append(Block("".join(header).strip(), i))
            depth += 1
        elif c == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                header = []
        elif depth == 0:
            if c == "#" and (i == 0 or script[i - 1] == "\n"):
                end = script.find("\n", i)
                skip_to = len(script) if end < 0 else end
            elif c == ";":
                header = []
            else:
                header.append(c)
    return out


def map_names(script: str) -> list[str]:
    code = "".join(c for _i, c in _scan(script))
    return sorted(set(_MAP_NAME.findall(code)))


def _filtered(header: str) -> bool:
    probes = [p.strip() for p in header.split("/")[0].split(",")]
    return bool(probes) and not any(p.startswith(UNFILTERED) for p in probes if p)


def guard(
    exclude: tuple[tuple[int, int | None], ...],
    pid: int | None,
    comm: str | None,
    tick_ns: int | None = None,
) -> str:
    """The condition under which a probe block returns at once. An excluded process is
    (pid, start time in clock ticks): with `tick_ns` (the kernel has BTF), the start time is
    checked too, so a process that reuses an excluded pid is still traced."""
    conds = []
    for p, start in sorted(set(exclude), key=lambda e: (e[0], e[1] or 0)):
        if tick_ns and start is not None:
            conds.append(
                f"(pid == {int(p)} && "
                f"curtask->group_leader->start_boottime / {int(tick_ns)} == {int(start)})"
            )
        else:
            conds.append(f"pid == {int(p)}")
    if pid is not None:
        conds.append(f"pid != {int(pid)}")
    if comm is not None:
        conds.append('comm != "' + comm.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " || ".join(conds)


def guard_insertions(script: str, cond: str) -> list[tuple[int, str]]:
    """(offset in `script`, text) of each guard `rewrite` inserts."""
    if not cond:
        return []
    text = f" if ({cond}) {{ return; }} "
    return [(b.open_at + 1, text) for b in blocks(script) if _filtered(b.header)]


def rewrite(script: str, cond: str, map_interval_s: float | None = None) -> str:
    """The script with `if (cond) { return; }` opening every task-bound probe block."""
    out = script
    for at, text in reversed(guard_insertions(script, cond)):
        out = out[:at] + text + out[at:]
    if map_interval_s:
        names = map_names(script)
        if names:
            ms = max(1, round(map_interval_s * 1000))
            prints = " ".join(f"print({m});" for m in names)
            out += f"\ninterval:ms:{ms} {{ {prints} }}\n"
    return out


_POSITION = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<a>\d+)-(?P<b>\d+)(?P<rest>:.*)$")
_UNDERLINE = re.compile(r"^ *~+$")


def original_message(message: str, script: str, cond: str) -> str:
    """bpftrace's error about the rewritten script as it would be about the user's: the
    quoted source line without the guards, `file:L:A-B` columns and the `~~~` underline
    moved back by the guards inserted before them on that line (guards add no lines)."""
    mine = script.split("\n")
    theirs = rewrite(script, cond).split("\n")
    starts = [0]
    for ln in mine:
        starts.append(starts[-1] + len(ln) + 1)
    shifts: dict[int, list[tuple[int, int]]] = {}
    for at, text in guard_insertions(script, cond):
        idx = max(i for i in range(len(mine)) if starts[i] <= at)
        shifts.setdefault(idx, []).append((at - starts[idx], len(text)))
    out: list[str] = []
    at_line: tuple[int, int, int] | None = None
    for line in message.split("\n"):
        m = _POSITION.match(line)
        if m and 0 < int(m["line"]) <= len(mine):
            idx = int(m["line"]) - 1
            a = _column(shifts.get(idx, []), int(m["a"]))
            b = _column(shifts.get(idx, []), int(m["b"]))
            at_line = (idx, a, b)
            out.append(f"{m['file']}:{m['line']}:{a}-{b}{m['rest']}")
        elif at_line is not None and line == theirs[at_line[0]]:
            out.append(mine[at_line[0]])
        elif at_line is not None and _UNDERLINE.match(line):
            out.append(" " * (at_line[1] - 1) + "~" * max(1, at_line[2] - at_line[1]))
            at_line = None
        else:
            out.append(line)
    return "\n".join(out)


def _column(shifts: list[tuple[int, int]], col: int) -> int:
    """A 1-based column of a rewritten line, on the original line."""
    moved = col
    for offset, length in shifts:
        if col - 1 >= offset + length:
            moved -= length
        elif col - 1 >= offset:
            return offset + 1
    return moved


def _bucket(b: dict[str, Any]) -> dict[str, Any]:
    return {"low": b.get("min"), "high": b.get("max"), "count": b.get("count", 0)}


def map_contents(kind: str, value: Any) -> dict[str, Any]:
    """One map of a `map`, `hist` or `stats` record in the engine's map shape."""
    if kind == "hist":
        if isinstance(value, list):
            return {"type": "hist", "unit": "", "buckets": [_bucket(b) for b in value]}
        return {
            "type": "hist",
            "unit": "",
            "entries": [{"key": k, "buckets": [_bucket(b) for b in v]} for k, v in value.items()],
        }
    if kind == "stats" and isinstance(value, dict) and {"count", "average", "total"} <= set(value):
        return {"type": "value", "value": value}
    if isinstance(value, dict):
        return {"type": "map", "entries": [{"key": k, "value": v} for k, v in value.items()]}
    return {"type": "value", "value": value}


@dataclass(frozen=True, slots=True)
class Record:
    """One `-f json` line, classified."""

    kind: str
    """`text` (an event), `maps`, `lost`, `attached`, `error` or `other`"""
    name: str = ""
    data: Any = None


def classify(obj: Any) -> Record:
    if not isinstance(obj, dict):
        return Record("other", data=obj)
    rtype, data = obj.get("type", ""), obj.get("data")
    if rtype in TEXT_RECORDS:
        text = data if isinstance(data, str) else json.dumps(data)  # typed: never a repr
        return Record("text", rtype, text)
    if rtype in ("map", "hist", "stats") and isinstance(data, dict):
        return Record("maps", rtype, {k: map_contents(rtype, v) for k, v in data.items()})
    if rtype == "lost_events":
        return Record("lost", rtype, int((data or {}).get("events", 0)))
    if rtype == "attached_probes":
        return Record("attached", rtype, int((data or {}).get("probes", 0)))
    if rtype == "helper_error":
        return Record("error", rtype, data)
    return Record("other", rtype, data)


def is_noise(line: str) -> bool:
    """bpftrace's RLIMIT_MEMLOCK notice (memcg accounting makes it moot)."""
    return "RLIMIT_MEMLOCK" in line


def stderr_message(text: str) -> str:
    """bpftrace's stderr without the RLIMIT_MEMLOCK noise."""
    lines = [ln for ln in text.splitlines() if not is_noise(ln)]
    return "\n".join(lines).strip()
