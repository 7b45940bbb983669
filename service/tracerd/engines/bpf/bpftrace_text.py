"""bpftrace's text, in and out (pure): the script rewrite and the `-f json` records.

The rewrite keeps bpftrace from tracing itself (and the daemon, and the workers): a
script on `sys_enter_write` would otherwise see the writes of its own printf output and
feed back without end. bpftrace 0.17 has no global pid filter for tracepoints, so every
probe block tied to the current task gets `if (pid == <bpftrace> || pid == <worker> ...)
{ return; }` as its first statement (plus the session's pid/comm filter). The top level
of the script is scanned for blocks (strings, comments and nesting skipped); blocks of
BEGIN, END, interval and iter probes are left alone (they do not run in a traced task),
as are struct definitions and preprocessor lines. `pid` in bpftrace is the tgid.
Map snapshots (`Snapshots`): an `interval` probe printing every map of the script between
two marker lines is appended, and the END block (added if the script has none) prints a
third marker as its last statement, after which comes bpftrace's own print of all maps at
exit. The session takes the marked snapshots out of the output (text: parse_text_maps) and
reads the final maps after the third marker; the probe count bpftrace announces is
corrected (`added_probes`), error positions stay the user's (the additions come after the
user's code on their line, or after the script).
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
    close_at: int = -1
    """index of its `}` (-1: not closed)"""


@dataclass(frozen=True, slots=True)
class Snapshots:
    """Marker lines around periodic map prints and before the maps printed at exit."""

    nonce: str
    interval_ms: int

    @property
    def begin(self) -> str:
        return f"@@tracerd:{self.nonce}:maps@@\n"

    @property
    def end(self) -> str:
        return f"@@tracerd:{self.nonce}:done@@\n"

    @property
    def final(self) -> str:
        return f"@@tracerd:{self.nonce}:exit@@\n"


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
                out[-1] = Block(out[-1].header, out[-1].open_at, i)
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


def _printf(line: str) -> str:
    return 'printf("' + line.replace("\n", "\\n") + '");'


def _snapshot_plan(
    script: str, found: list[Block], snap: Snapshots | None
) -> tuple[list[tuple[int, str]], str, int]:
    """(insertions, appended text, probes added) for map snapshots: none for a script
    without maps or with an unclosed block (bpftrace refuses it; its error stays as is)."""
    names = map_names(script)
    if snap is None or not names or any(b.close_at < 0 for b in found):
        return [], "", 0
    prints = " ".join(f"print({m});" for m in names)
    body = f"{_printf(snap.begin)} {prints} {_printf(snap.end)}"
    appended = f"\ninterval:ms:{snap.interval_ms} {{ {body} }}\n"
    ends = [b for b in found if b.header == "END"]
    if not ends:
        return [], appended + f"END {{ {_printf(snap.final)} }}\n", 2
    close = ends[0].close_at
    # after the block's last code character (a comment before the `}` stays a comment)
    at = 1 + max(i for i, c in _scan(script[:close]) if not c.isspace())
    sep = " " if script[at - 1] in ("{", ";", "}") else "; "
    return [(at, f"{sep}{_printf(snap.final)}")], appended, 1


def insertions(
    script: str, cond: str, snap: Snapshots | None = None
) -> tuple[list[tuple[int, str]], str, int]:
    """(offset in `script`, text) of each insertion `rewrite` makes, in order, the text it
    appends and the number of probes that adds."""
    found = blocks(script)
    inserted: list[tuple[int, str]] = []
    if cond:
        text = f" if ({cond}) {{ return; }} "
        inserted = [(b.open_at + 1, text) for b in found if _filtered(b.header)]
    more, appended, added = _snapshot_plan(script, found, snap)
    return sorted(inserted + more, key=lambda x: x[0]), appended, added


def rewrite(script: str, cond: str, snap: Snapshots | None = None) -> str:
    """The script with `if (cond) { return; }` opening every task-bound probe block (and
    the map snapshot probes of `snap`)."""
    inserted, appended, _added = insertions(script, cond, snap)
    out = script
    for at, text in reversed(inserted):
        out = out[:at] + text + out[at:]
    return out + appended


def added_probes(script: str, snap: Snapshots | None) -> int:
    return insertions(script, "", snap)[2]


_POSITION = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<a>\d+)-(?P<b>\d+)(?P<rest>:.*)$")
_UNDERLINE = re.compile(r"^ *~+$")


def original_message(message: str, script: str, cond: str, snap: Snapshots | None = None) -> str:
    """bpftrace's error about the rewritten script as it would be about the user's: the
    quoted source line without the guards, `file:L:A-B` columns and the `~~~` underline
    moved back by the guards inserted before them on that line (guards add no lines);
    an error about the appended snapshot probes (a consequence of the user's) left out."""
    mine = script.split("\n")
    theirs = rewrite(script, cond, snap).split("\n")
    starts = [0]
    for ln in mine:
        starts.append(starts[-1] + len(ln) + 1)
    shifts: dict[int, list[tuple[int, int]]] = {}
    for at, text in insertions(script, cond, snap)[0]:
        idx = max(i for i in range(len(mine)) if starts[i] <= at)
        shifts.setdefault(idx, []).append((at - starts[idx], len(text)))
    out: list[str] = []
    at_line: tuple[int, int, int] | None = None
    skipping = False
    for line in message.split("\n"):
        m = _POSITION.match(line)
        if skipping and (m or not line or not (line in theirs or _UNDERLINE.match(line))):
            skipping = False
        if skipping:
            continue
        if m and int(m["line"]) > len(mine):
            skipping = True  # its quoted line and underline follow
            continue
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


_ENTRY = re.compile(r"^(?P<name>@[A-Za-z0-9_]*)(?:\[(?P<key>.*)\])?: ?(?P<value>.*)$")
_STACK_KEY = re.compile(r"^(?P<name>@[A-Za-z0-9_]*)\[$")
_STACK_END = re.compile(r"^\]: (?P<value>.*)$")
_BUCKET = re.compile(r"^(?P<label>[\[(][^\])]*[\])]) +(?P<count>\d+) \|")
_STATS = re.compile(r"^count (-?\d+), average (-?\d+), total (-?\d+)$")
_SUFFIX = {
    "": 1,
    "K": 1 << 10,
    "M": 1 << 20,
    "G": 1 << 30,
    "T": 1 << 40,
    "P": 1 << 50,
    "E": 1 << 60,
}


def _scalar(text: str) -> Any:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    stats = _STATS.match(text)
    if stats:
        count, average, total = (int(g) for g in stats.groups())
        return {"count": count, "average": average, "total": total}
    return text


def _bound(text: str) -> int | None:
    m = re.fullmatch(r"(-?\d+)([KMGTPE]?)", text.strip())
    return int(m[1]) * _SUFFIX[m[2]] if m else None


def _text_bucket(label: str, count: int) -> dict[str, Any]:
    """`[4, 8)`, `[1K, 2K)`, `[5]`, `(..., 0)`, `[100, ...)` as {low, high, count}."""
    inner = label[1:-1]
    if "," not in inner:
        low = high = _bound(inner)
    else:
        a, b = (p.strip() for p in inner.split(",", 1))
        low = None if a == "..." else _bound(a)
        top = None if b == "..." else _bound(b)
        high = top - 1 if top is not None and label.endswith(")") else top
    return {"low": low, "high": high, "count": count}


def _key(text: str | None) -> Any:
    return None if text is None else _scalar(text)


def parse_text_maps(text: str) -> dict[str, Any]:
    """bpftrace's text print of maps (`print(@m)`, the maps at exit) in the engine's map
    shape (map_contents): scalars, keyed values, stats, hist/lhist buckets, stack keys.
    Tuples and other values stay as bpftrace printed them; lines that are not map output
    are skipped."""
    entries: dict[str, list[tuple[Any, Any]]] = {}
    hists: dict[str, list[tuple[Any, list[dict[str, Any]]]]] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stack = _STACK_KEY.match(line)
        if stack:
            key_lines: list[str] = []
            while i < len(lines) and not _STACK_END.match(lines[i]):
                key_lines.append(lines[i])
                i += 1
            if i < len(lines):
                closing = _STACK_END.match(lines[i])
                i += 1
                if closing is not None:
                    key = "\n".join(key_lines)
                    row = (key, _scalar(closing["value"]))
                    entries.setdefault(stack["name"], []).append(row)
            continue
        entry = _ENTRY.match(line)
        if entry is None:
            continue
        name, value = entry["name"], entry["value"]
        if value.strip() == "" and i < len(lines) and _BUCKET.match(lines[i]):
            buckets = []
            while i < len(lines) and (b := _BUCKET.match(lines[i])):
                buckets.append(_text_bucket(b["label"], int(b["count"])))
                i += 1
            hists.setdefault(name, []).append((_key(entry["key"]), buckets))
            continue
        entries.setdefault(name, []).append((_key(entry["key"]), _scalar(value)))
    out: dict[str, Any] = {}
    for name, rows in entries.items():
        if len(rows) == 1 and rows[0][0] is None:
            out[name] = {"type": "value", "value": rows[0][1]}
        else:
            out[name] = {"type": "map", "entries": [{"key": k, "value": v} for k, v in rows]}
    for name, hrows in hists.items():
        if len(hrows) == 1 and hrows[0][0] is None:
            out[name] = {"type": "hist", "unit": "", "buckets": hrows[0][1]}
        else:
            out[name] = {
                "type": "hist",
                "unit": "",
                "entries": [{"key": k, "buckets": b} for k, b in hrows],
            }
    return dict(sorted(out.items()))
