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


def rewrite(script: str, cond: str, map_interval_s: float | None = None) -> str:
    """The script with `if (cond) { return; }` opening every task-bound probe block."""
    out = script
    if cond:
        for block in reversed(blocks(script)):
            if _filtered(block.header):
                at = block.open_at + 1
                out = out[:at] + f" if ({cond}) {{ return; }} " + out[at:]
    if map_interval_s:
        names = map_names(script)
        if names:
            ms = max(1, round(map_interval_s * 1000))
            prints = " ".join(f"print({m});" for m in names)
            out += f"\ninterval:ms:{ms} {{ {prints} }}\n"
    return out


def original_lines(message: str, script: str, rewritten: str) -> str:
    """bpftrace quotes the source line of an error: show the user's line, not the one
    with the injected guard (guards go on the same line, so line numbers still match)."""
    for mine, theirs in zip(script.splitlines(), rewritten.splitlines(), strict=False):
        if mine != theirs and theirs in message:
            message = message.replace(theirs, mine)
    return message


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
        text = data if isinstance(data, str) else str(data)
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


def stderr_message(text: str) -> str:
    """bpftrace's stderr without the RLIMIT_MEMLOCK noise (memcg accounting makes it moot)."""
    lines = [ln for ln in text.splitlines() if "RLIMIT_MEMLOCK" not in ln]
    return "\n".join(lines).strip()
