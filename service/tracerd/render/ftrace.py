"""ftrace / `trace-cmd report`-like one-line rendering of stored events (CLI, `text` export).

    `            bash-1234   [001] 12345.678901: sched_process_exec: filename=/usr/bin/ls ...`

Columns as trace-cmd prints them: comm right-aligned in 16, `-tid`, `[cpu]`, seconds with
microseconds, the event name without its subsystem, then the body. The body is the
event's `print fmt` evaluated as libtraceevent does (printfmt.py: helpers, casts, ternaries,
`%pS`, `%pI4`, ...), or trace-cmd's plugin layout where it has one (sched_switch,
sched_wakeup, hrtimer_start/expire_entry, the kmem call-site prefix); markers print as
`tracing_mark_write: text`. A print fmt the evaluator cannot read falls back to `name=value`
pairs in field order. Kernel addresses become `function+0xoff` when a `symbols` lookup is
given (the daemon's kallsyms), else stay hex. Times are rounded to the microsecond as
trace-cmd rounds them. Loss records render as trace-cmd's `CPU:N [LOST n EVENTS]`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from . import printfmt
from .printfmt import StringLookup, SymbolLookup

Event = Mapping[str, Any]
Piece = Callable[[Mapping[str, Any]], str]


def timestamp(ts_ns: int) -> str:
    """Seconds with 6 decimals, rounded to the microsecond as trace-cmd prints them."""
    us = (ts_ns + 500) // 1000
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def value_text(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ",".join(str(v) for v in value) + "}"
    return str(value)


def pairs(fields: Mapping[str, Any]) -> str:
    """The fallback body: `name=value` pairs in field order."""
    return " ".join(f"{k}={value_text(v)}" for k, v in fields.items())


def compile_print_fmt(
    print_fmt: str,
    arrays: Mapping[str, int] | None = None,
    symbols: SymbolLookup | None = None,
    strings: StringLookup | None = None,
) -> Piece | None:
    """A body renderer for a `print fmt:` line, or None when it uses what the evaluator
    (printfmt.py) does not know."""
    try:
        return printfmt.compile_print_fmt(print_fmt, arrays, symbols, strings)
    except printfmt.PrintFmtError:
        return None


def libtraceevent_fails(print_fmt: str) -> bool:
    """libtraceevent cannot parse a print fmt whose format string holds a raw tab
    (maple_tree's `"%s\tNode: %p ..."`): trace-cmd prints `[FAILED TO PARSE]` and the raw
    fields (the same fmt with a space for the tab parses)."""
    end = print_fmt.find('"', 1)
    return print_fmt.startswith('"') and "\t" in print_fmt[1:end]


def unparsed(fields: Mapping[str, Any], signed: Mapping[str, int]) -> str:
    """trace-cmd's line body for an event whose print fmt libtraceevent failed to parse:
    each field as `name=value`, signed scalars (`signed`: the renderer's value widths) in
    decimal, other numbers as `0x` hex (libtraceevent prints longs and pointers so, which
    are all the fields of the events that hit this; an unsigned int would be decimal)."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, int) and key not in signed:
            parts.append(f"{key}=0x{value & printfmt.MASK64:x}")
        else:
            parts.append(f"{key}={value_text(value)}")
    return "[FAILED TO PARSE] " + " ".join(parts)


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


Plugin = Callable[[Mapping[str, Any], "SymbolLookup | None"], str]


def _sched_plugin(fn: Callable[[Mapping[str, Any]], str]) -> Plugin:
    return lambda f, symbols: fn(f)


def _func_field(value: int, symbols: SymbolLookup | None) -> str:
    """libtraceevent's tep_print_func_field: `name/0x<distance>` or the address."""
    sym = symbols(value) if symbols is not None else None
    if sym is None:
        return f"0x{value:08x}"
    return f"{sym[0]}/0x{-sym[1] & printfmt.MASK64:x}"  # its `addr - val`, unsigned


def _hrtimer_expire(f: Mapping[str, Any], symbols: SymbolLookup | None) -> str:
    timer = f["hrtimer"] if "hrtimer" in f else f["timer"]
    return f"hrtimer=0x{timer:x} now={f['now']} function={_func_field(f['function'], symbols)}"


def _hrtimer_start(f: Mapping[str, Any], symbols: SymbolLookup | None) -> str:
    timer = f["hrtimer"] if "hrtimer" in f else f["timer"]
    return (
        f"hrtimer=0x{timer:x} function={_func_field(f['function'], symbols)}"
        f" expires={f['expires']} softexpires={f['softexpires']}"
    )


TLB_REASONS = ("flush on task switch", "remote shootdown", "local shootdown", "local mm shootdown")
"""the names libtraceevent's tlb plugin knows (its own spelling; later reasons print none)"""


def _tlb_flush(f: Mapping[str, Any], symbols: SymbolLookup | None) -> str:
    """libtraceevent's tlb plugin: `pages=N reason=<name> (R)`, not the print fmt's
    `pages:N reason:...`."""
    reason = int(f["reason"])
    name = TLB_REASONS[reason] if 0 <= reason < len(TLB_REASONS) else ""
    pages = int(f["pages"]) & printfmt.MASK64  # %ld of an unsigned long: -1 for all pages
    pages -= (pages >> 63) << 64
    return f"pages={pages} reason={name} ({reason})"


PLUGINS: dict[str, Plugin] = {
    "tlb:tlb_flush": _tlb_flush,
    "sched:sched_switch": _sched_plugin(_sched_switch),
    "sched:sched_wakeup": _sched_plugin(_sched_wakeup),
    "sched:sched_wakeup_new": _sched_plugin(_sched_wakeup),
    "timer:hrtimer_expire_entry": _hrtimer_expire,
    "timer:hrtimer_start": _hrtimer_start,
}
"""events trace-cmd report prints through its plugins rather than their print fmt
(sched_waking has no plugin: its own print fmt)"""

CALL_SITE_EVENTS = frozenset(
    f"kmem:{e}"
    for e in (
        "kfree",
        "kmalloc",
        "kmalloc_node",
        "kmem_cache_alloc",
        "kmem_cache_alloc_node",
        "kmem_cache_free",
    )
)
"""trace-cmd's kmem plugin puts `(function+0xoff) ` before these bodies"""


class FtraceRenderer:
    """Renders events one line each; `print_fmts` maps event names to `print fmt:` text,
    `arrays` event names to {array field: element size}, `symbols` resolves kernel
    addresses (`%pS`, call sites, timer functions; None: addresses stay hex), `strings`
    the kernel strings that `%s` of a pointer field names (printk_formats)."""

    def __init__(
        self,
        print_fmts: Mapping[str, str] | None = None,
        arrays: Mapping[str, Mapping[str, int]] | None = None,
        symbols: SymbolLookup | None = None,
        strings: StringLookup | None = None,
    ) -> None:
        self._fmts = dict(print_fmts or {})
        self._arrays = dict(arrays or {})
        self._symbols = symbols
        self._strings = strings
        self._compiled: dict[str, Piece | None] = {}
        self._labels: dict[str, str] = {}

    def body(self, name: str, fields: Mapping[str, Any]) -> str:
        if name == "ftrace:print" and "buf" in fields:
            ip = fields.get("ip")
            sym = self._symbols(ip) if self._symbols is not None and ip else None
            return f"{sym[0] if sym else 'tracing_mark_write'}: " + str(fields["buf"]).rstrip("\n")
        plugin = PLUGINS.get(name)
        if plugin is not None:
            try:
                return plugin(fields, self._symbols)
            except (KeyError, TypeError, ValueError):
                pass  # fields of another shape: the print fmt or pairs below
        if name not in self._compiled:
            fmt = self._fmts.get(name)
            arrays = self._arrays.get(name)
            if fmt and libtraceevent_fails(fmt):
                self._compiled[name] = functools.partial(unparsed, signed=arrays or {})
            else:
                piece = (
                    compile_print_fmt(fmt, arrays, self._symbols, self._strings) if fmt else None
                )
                self._compiled[name] = piece
        piece = self._compiled[name]
        if piece is None:
            return pairs(fields)
        try:  # (a plain try: contextlib.suppress costs ~5% of a line)
            text = piece(fields)
        except (TypeError, ValueError, OverflowError, KeyError, IndexError):
            return pairs(fields)
        if name in CALL_SITE_EVENTS and self._symbols is not None:
            sym = self._symbols(int(fields.get("call_site") or 0))
            if sym is not None:
                text = f"({sym[0]}+0x{sym[1]:x}) {text}"
        return text

    def line(self, event: Event) -> str:
        fields = event.get("fields") or {}
        cpu = event.get("cpu")
        name = str(event.get("name", ""))
        if name == "lost":
            return f"CPU:{cpu if cpu is not None else '?'} [LOST {fields.get('count')} EVENTS]"
        label = self._labels.get(name)
        if label is None:
            # trace-cmd report pads `name:` to 21 columns: the fields line up
            short = "print" if name == "ftrace:print" else name.split(":", 1)[-1]
            label = self._labels[name] = f"{short + ':':<21}"
        tid = event.get("tid")
        head = f"{event.get('comm') or '<...>':>16}-{tid if tid is not None else '?':<5}"
        cpu_text = f"{cpu:03d}" if type(cpu) is int else "???"
        stamp = timestamp(int(event.get("ts_ns", 0)))
        return f"{head} [{cpu_text}] {stamp:>12}: {label} {self.body(name, fields)}"


def render_line(event: Event, print_fmts: Mapping[str, str] | None = None) -> str:
    """One event as one line (build an `FtraceRenderer` to render many)."""
    return FtraceRenderer(print_fmts).line(event)
