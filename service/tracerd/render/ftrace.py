"""ftrace / `trace-cmd report`-like one-line rendering of stored events (CLI, `text` export).

    `            bash-1234   [001] 12345.678901: sched_process_exec: filename=/usr/bin/ls ...`

Columns as trace-cmd prints them: comm right-aligned in 16, `-tid`, `[cpu]`, seconds with
microseconds, the event name without its subsystem, then the body. The body follows the
event's `print fmt` when it is simple enough (printf conversions over `REC->field`, casts,
`__get_str()`); any helper call (`__print_flags`, `__print_symbolic`, ternaries, ...) makes
the whole body fall back to `name=value` pairs in field order. Pointers and `%p`/`%x` are shown
in hex; `%ps` (symbols) shows the address. Loss records render as trace-cmd's
`CPU:N [LOST n EVENTS]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Event = Mapping[str, Any]
_CONV_RE = re.compile(
    r"%([-+ #0]*)(\d*|\*)(?:\.(\d+))?(hh|h|ll|l|z|j|t|L|q)?([diouxXcsp%])"
    r"([a-zA-Z]\d?)?"
)
_FIELD_ARG_RE = re.compile(r"^[\s()]*(?:\([a-z_ ]+\**\s*\)[\s()]*)*REC->(\w+)[\s)]*$")
_STR_ARG_RE = re.compile(r"^\s*__get_(?:str|rel_str)\((\w+)\)\s*$")

Piece = Callable[[Mapping[str, Any]], str]


def timestamp(ts_ns: int) -> str:
    """Seconds with 6 decimals, as trace-cmd prints them."""
    return f"{ts_ns // 1_000_000_000}.{ts_ns % 1_000_000_000 // 1000:06d}"


def value_text(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ",".join(str(v) for v in value) + "}"
    return str(value)


def pairs(fields: Mapping[str, Any]) -> str:
    """The fallback body: `name=value` pairs in field order."""
    return " ".join(f"{k}={value_text(v)}" for k, v in fields.items())


def _split_args(text: str) -> list[str]:
    """Split the argument list after the format string on top-level commas."""
    args: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def _conversion(
    flags: str, width: str, prec: str | None, length: str, conv: str, suffix: str, field: str
) -> Piece:
    spec = f"%{flags}{width}{'.' + prec if prec else ''}"
    mask = (1 << 64) - 1 if length in ("l", "ll", "z", "j", "t", "q") else (1 << 32) - 1
    if conv == "p":
        return lambda f: "0x%x" % (f.get(field, 0) & ((1 << 64) - 1))
    if conv == "s":
        return lambda f: (spec + "s") % value_text(f.get(field, ""))
    if conv == "c":
        return lambda f: chr(f.get(field, 0) & 0xFF)
    if conv in "uxXo":
        return lambda f: (spec + conv) % (f.get(field, 0) & mask)
    return lambda f: (spec + "d") % f.get(field, 0)


def compile_print_fmt(print_fmt: str) -> Piece | None:
    """A body renderer for a `print fmt:` line, or None when it is too complex."""
    m = re.match(r'^\s*"((?:[^"\\]|\\.)*)"\s*(?:,(.*))?$', print_fmt, re.S)
    if m is None:
        return None
    fmt = m[1].encode().decode("unicode_escape")
    args = _split_args(m[2] or "")
    pieces: list[Piece | str] = []
    pos = 0
    for cm in _CONV_RE.finditer(fmt):
        pieces.append(fmt[pos : cm.start()])
        pos = cm.end()
        if cm[5] == "%":
            pieces.append("%")
            continue
        if not args or cm[2] == "*" or (cm[6] and cm[5] == "p" and cm[6][0] not in "sSB"):
            return None
        arg = args.pop(0)
        fm = _FIELD_ARG_RE.match(arg) or _STR_ARG_RE.match(arg)
        if fm is None:
            return None
        suffix = cm[6] if cm[5] == "p" else ""
        if cm[6] and cm[5] != "p":
            pos -= len(cm[6])  # a letter after a conversion is plain text
        pieces.append(_conversion(cm[1], cm[2], cm[3], cm[4] or "", cm[5], suffix, fm[1]))
    pieces.append(fmt[pos:])
    if args:
        return None
    return lambda f: "".join(p if isinstance(p, str) else p(f) for p in pieces)


TASK_STATES = "SDTtZXxW"
"""prev_state bits as trace-cmd's sched plugin names them (none set: R)"""


def _task_state(value: int) -> str:
    return "|".join(c for bit, c in enumerate(TASK_STATES) if value >> bit & 1) or "R"


def _sched_switch(f: Mapping[str, Any]) -> str:
    prev = f"{f['prev_comm']}:{f['prev_pid']} [{f['prev_prio']}] {_task_state(f['prev_state'])}"
    return f"{prev} ==> {f['next_comm']}:{f['next_pid']} [{f['next_prio']}]"


def _sched_wakeup(f: Mapping[str, Any]) -> str:
    text = f"{f['comm']}:{f['pid']} [{f['prio']}]"
    if "success" in f:
        text += f" success={f['success']}"
    if "target_cpu" in f:
        text += f" CPU:{f['target_cpu']:03d}"
    return text


PLUGINS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "sched:sched_switch": _sched_switch,
    "sched:sched_wakeup": _sched_wakeup,
    "sched:sched_wakeup_new": _sched_wakeup,
    "sched:sched_waking": _sched_wakeup,
}
"""events trace-cmd report prints through its plugins rather than their print fmt"""


class FtraceRenderer:
    """Renders events one line each; `print_fmts` maps event names to `print fmt:` text."""

    def __init__(self, print_fmts: Mapping[str, str] | None = None) -> None:
        self._fmts = dict(print_fmts or {})
        self._compiled: dict[str, Piece | None] = {}

    def body(self, name: str, fields: Mapping[str, Any]) -> str:
        if name == "ftrace:print" and "buf" in fields:
            return str(fields["buf"]).rstrip("\n")
        plugin = PLUGINS.get(name)
        if plugin is not None:
            try:
                return plugin(fields)
            except (KeyError, TypeError, ValueError):
                pass  # fields of another shape: the print fmt or pairs below
        if name not in self._compiled:
            fmt = self._fmts.get(name)
            self._compiled[name] = compile_print_fmt(fmt) if fmt else None
        piece = self._compiled[name]
        if piece is not None:
            try:
                return piece(fields)
            except (TypeError, ValueError, OverflowError):
                pass
        return pairs(fields)

    def line(self, event: Event) -> str:
        fields = event.get("fields") or {}
        cpu = event.get("cpu")
        cpu_text = f"{cpu:03d}" if isinstance(cpu, int) else "???"
        if event.get("name") == "lost":
            return f"CPU:{cpu if cpu is not None else '?'} [LOST {fields.get('count')} EVENTS]"
        comm = event.get("comm") or "<...>"
        tid = event.get("tid")
        name = str(event.get("name", ""))
        short = "print" if name == "ftrace:print" else name.split(":", 1)[-1]
        head = f"{comm:>16}-{tid if tid is not None else '?':<5} [{cpu_text}]"
        # trace-cmd report pads `name:` to 21 columns: the fields line up
        label = f"{short}:"
        return f"{head} {timestamp(int(event.get('ts_ns', 0))):>12}: {label:<21} " + self.body(
            name, fields
        )


def render_line(event: Event, print_fmts: Mapping[str, str] | None = None) -> str:
    """One event as one line (build an `FtraceRenderer` to render many)."""
    return FtraceRenderer(print_fmts).line(event)
