"""strace-style text for ptrace sessions: event lines and the `-c` summary table.

Pure: events (WireEvent or the API's event dicts) in, lines out. `StraceRenderer.feed`
renders events in `seq` order (completion order) as a streaming CLI would;
`render_events` reorders the halves of interrupted calls by time, so `<unfinished ...>`
lines sit where strace prints them. Under `-f` a `[pid N]` prefix appears once more than
one tracee is alive, as in strace. `format_summary` prints strace `-c -w`'s table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CALL_COLUMN = 39
"""strace pads `name(args)` to 39 characters before ` = ret`"""
FORKS = frozenset({"clone", "clone3", "fork", "vfork"})
"""calls whose return value is a new tracee: strace counts it from then on (`[pid N]`)"""
LIFECYCLE = frozenset(
    {"signal", "exit", "exec", "breakpoint", "stdout", "stderr", "marker", "superseded"}
)


def _get(event: Any, key: str) -> Any:
    if isinstance(event, Mapping):
        return event.get(key)
    return getattr(event, key)


def is_syscall(event: Any) -> bool:
    return "raw_args" in (_get(event, "fields") or {})


def align(text: str, prefix: str = "", column: int = CALL_COLUMN) -> str:
    """`close(3) = 0` -> `close(3)                                = 0` (strace's column; a
    `[pid N] ` prefix counts, as strace counts every column of the line)."""
    cut = text.rfind(") = ")
    if cut < 0:
        return prefix + text
    call, ret = prefix + text[: cut + 1], text[cut + 4 :]
    return f"{call:<{column}} = {ret}"


def resumed_halves(fields: Mapping[str, Any], prefix: str = "") -> tuple[str, str]:
    """The `<unfinished ...>` and `<... name resumed>` lines of an interrupted call."""
    entry = f"{prefix}{fields['entry_text']} <unfinished ...>"
    return entry, align(fields["resumed_text"], prefix)


@dataclass(slots=True)
class LineOptions:
    """strace's line options: -t/-tt/-ttt/-r, -T, -a COLUMN, -qq, -e signal=."""

    stamps: str = ""
    """"t", "tt", "ttt" (time of day of the call's entry) or "r" (since the previous line)"""
    durations: bool = False
    column: int = CALL_COLUMN + 1
    quiet_exits: bool = False
    signals: frozenset[str] | None = None
    """signal names whose `--- SIG... ---` lines print; None for all"""
    wall_offset_ns: int = 0


def _stamp(options: LineOptions, ts_ns: int, last: list[int]) -> str:
    if not options.stamps or not ts_ns:
        return ""
    wall = ts_ns + options.wall_offset_ns
    if options.stamps == "r":
        delta = wall - last[0] if last[0] else 0
        last[0] = wall
        return f"{delta // 1_000_000_000:6d}.{delta // 1000 % 1_000_000:06d} "
    import time as _time

    sec, usec = divmod(wall // 1000, 1_000_000)
    if options.stamps == "ttt":
        return f"{sec}.{usec:06d} "
    clock = _time.strftime("%H:%M:%S", _time.localtime(sec))
    return f"{clock}.{usec:06d} " if options.stamps == "tt" else f"{clock} "


def _with_options(line: str, fields: Mapping[str, Any], options: LineOptions) -> str:
    if options.durations and "raw_args" in fields and fields.get("ret") is not None:
        dur = fields.get("duration_ns") or 0
        line += f" <{dur // 1_000_000_000}.{dur // 1000 % 1_000_000:06d}>"
    return line


@dataclass(slots=True)
class StraceRenderer:
    """Renders events one by one, tracking live tracees for the `[pid N]` prefix."""

    follow: bool = False
    show_output: bool = True
    pid_column: bool = False
    """`strace -f -o FILE`: every line starts with the pid, `1234  read(...)`"""
    options: LineOptions | None = None
    _live: set[int] | None = None
    _last: list[int] | None = None
    _gone: set[int] = field(default_factory=set)

    def feed(self, event: Any) -> list[str]:
        live = self._live if self._live is not None else set()
        self._live = live
        tid = _get(event, "tid")
        name = _get(event, "name")
        fields = _get(event, "fields") or {}
        former = fields.get("former") if name == "superseded" else None
        if isinstance(former, int):  # the exec'ing thread's tid ended: it is the leader now
            live.discard(former)
            self._gone.add(former)
        if tid is not None:
            live.add(tid)
        if self.follow and self.pid_column and tid is not None:
            prefix = f"{tid:<5} "
        elif self.follow and len(live) > 1 and tid is not None:
            prefix = f"[pid {tid:5d}] "
        else:
            prefix = ""
        options = self.options
        if options is not None:
            if self._hidden(name, fields, options):
                if name == "exit" and tid is not None:
                    live.discard(tid)
                    self._gone.add(tid)
                return []
            self._last = self._last or [0]
            prefix += _stamp(options, _get(event, "ts_ns") or 0, self._last)
        lines = self._lines(name, fields, prefix)
        if options is not None and lines:
            lines[-1] = _with_options(lines[-1], fields, options)
        if name == "exit" and not is_syscall(event) and tid is not None:
            live.discard(tid)
            self._gone.add(tid)
        ret = fields.get("ret")
        child = ret if name in FORKS and isinstance(ret, int) and is_syscall(event) else 0
        if child > 0 and child not in self._gone:  # a vfork child may be gone already
            live.add(child)
        return lines

    @staticmethod
    def _hidden(name: str, fields: Mapping[str, Any], options: LineOptions) -> bool:
        if "raw_args" in fields or fields.get("unfinished"):
            return False
        if name == "exit":
            return options.quiet_exits
        if name == "signal" and options.signals is not None:
            return str(fields.get("signal")) not in options.signals
        return False

    def _lines(self, name: str, fields: Mapping[str, Any], prefix: str = "") -> list[str]:
        if name in ("stdout", "stderr"):
            # the command's own output, marked so it never passes for a trace line
            return [f"[{name}] {fields.get('text', '')}"] if self.show_output else []
        if name == "exec" and "raw_args" not in fields:
            return []
        text = fields.get("text")
        if text is None:
            return []
        if fields.get("unfinished"):  # the entry half, printed when another line came first
            return [f"{prefix}{text} {fields.get('tail') or '<unfinished ...>'}"]
        if "raw_args" in fields and fields.get("resumed"):
            entry, rest = resumed_halves(fields, prefix)
            if self.options is not None:
                rest = align(fields["resumed_text"], prefix, self.options.column - 1)
            return [rest] if fields.get("announced") else [entry, rest]
        column = self.options.column - 1 if self.options is not None else CALL_COLUMN
        if "raw_args" in fields:
            return [align(text, prefix, column)]
        return [prefix + text]


def render_events(events: Iterable[Any], follow: bool = False) -> list[str]:
    """All lines of a finished trace, with interrupted calls split where strace splits them;
    `[pid N]` wherever more than one tracee was alive (first to last event of each tid)."""
    events = list(events)
    halves: list[tuple[int, int, Any, str | None]] = []
    spans: dict[int, list[int]] = {}
    for order, event in enumerate(events):
        fields = _get(event, "fields") or {}
        ts = _get(event, "ts_ns") or 0
        end = ts + (fields.get("duration_ns") or 0) if is_syscall(event) else ts
        tid = _get(event, "tid")
        if tid is not None:
            span = spans.setdefault(tid, [ts, end])
            span[0], span[1] = min(span[0], ts), max(span[1], end)
        child = fields.get("ret") if is_syscall(event) else None
        if _get(event, "name") in FORKS and isinstance(child, int) and child > 0:
            span = spans.setdefault(child, [end + 1, end + 1])  # after the clone's own line
            span[0] = min(span[0], end + 1)
        if fields.get("unfinished"):
            continue  # the final event of the call carries both halves
        if is_syscall(event) and fields.get("resumed"):
            entry = f"{fields['entry_text']} <unfinished ...>"
            halves.append((ts, order, event, entry))
            halves.append((end, order, event, fields["resumed_text"]))
        else:
            halves.append((end, order, event, None))
    bare = StraceRenderer(follow=False)
    out: list[str] = []
    for ts, _order, event, line in sorted(halves, key=lambda h: (h[0], h[1])):
        tid = _get(event, "tid")
        alive = sum(1 for lo, hi in spans.values() if lo <= ts <= hi)
        prefix = f"[pid {tid:5d}] " if follow and alive > 1 and tid is not None else ""
        name = _get(event, "name")
        if line is not None:
            out.append(align(line, prefix) if line.startswith("<... ") else prefix + line)
        elif name in ("stdout", "stderr"):
            out += bare.feed(event)
        else:
            out += bare._lines(name, _get(event, "fields") or {}, prefix)
    return out


@dataclass(frozen=True, slots=True)
class SummaryRow:
    name: str
    calls: int
    errors: int
    seconds: float


def format_summary(rows: Sequence[SummaryRow]) -> str:
    """strace `-c -w`'s table, sorted by time (then calls, name) like strace's default."""
    rows = [r for r in rows if r.calls]
    rows = sorted(rows, key=lambda r: (-r.seconds, -r.calls, r.name))
    total_s = sum(r.seconds for r in rows)
    total_calls = sum(r.calls for r in rows)
    total_errors = sum(r.errors for r in rows)

    def usecs(r_seconds: float, calls: int) -> int:
        return int(r_seconds / calls * 1e6) if calls else 0

    w_sec = max(11, len(f"{total_s:.6f}"))
    w_avg = max(11, *(len(str(usecs(r.seconds, r.calls))) for r in rows), 1)
    w_calls = max(9, len(str(total_calls)))
    w_err = max(9, len(str(total_errors)))
    w_name = max(16, *(len(r.name) + 1 for r in rows), 1)
    header = (
        f"{'% time':>6} {'seconds':>{w_sec}} {'usecs/call':>{w_avg}} {'calls':>{w_calls}} "
        f"{'errors':>{w_err}} syscall"
    )
    dashes = " ".join("-" * w for w in (6, w_sec, w_avg, w_calls, w_err, w_name))

    def line(name: str, seconds: float, calls: int, errors: int) -> str:
        pct = 100.0 * seconds / total_s if total_s and seconds else 0.0
        err = str(errors) if errors else ""
        return (
            f"{pct:6.2f} {seconds:{w_sec}.6f} {usecs(seconds, calls):>{w_avg}} "
            f"{calls:>{w_calls}} {err:>{w_err}} {name}"
        )

    body = [line(r.name, r.seconds, r.calls, r.errors) for r in rows]
    total = line("total", total_s, total_calls, total_errors)
    total = f"{100.0:6.2f}" + total[6:]
    return "\n".join([header, dashes, *body, dashes, total])


def summary_rows(events: Iterable[Any]) -> list[SummaryRow]:
    """What the daemon's SQL computes: completed syscalls (ret not null) grouped by name."""
    acc: dict[str, list[float]] = {}
    for event in events:
        if not is_syscall(event) or _get(event, "ret") is None:
            continue
        row = acc.setdefault(_get(event, "name"), [0, 0, 0.0])
        row[0] += 1
        row[1] += _get(event, "errno") is not None
        row[2] += (_get(event, "dur_ns") or 0) / 1e9
    return [SummaryRow(name, int(c), int(e), s) for name, (c, e, s) in acc.items()]
