"""ftrace-like nested text of `function_graph` records (`ftrace:funcgraph_entry`/`_exit`).

    # CPU  DURATION                  FUNCTION CALLS
    # |     |   |                     |   |   |   |
     0)               |  __do_sys_getpid() {
     0)   0.561 us    |    __task_pid_nr_ns();
     0)   5.170 us    |  }

The layout of the kernel's `trace` file with the tracer's default options (funcgraph-cpu,
-overhead, -duration): the CPU, the duration column (an overhead mark `+ ! # * @ $` for more
than 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s; microseconds with up to 3 decimals, 7 digits
at most, ` us`), `|`, two spaces of indent per depth, then `func() {` for an entry, `}` for a
return and `func();` for a leaf: an entry whose next record on the same CPU is its own
return (same task, function and depth). A return whose entry was not seen on that CPU at
that depth gets the kernel's tail comment `} /* func */`. A change of task on a CPU prints
the kernel's ` ------ cpu) comm-pid => comm-pid` block; other events become `/* ... */`
comment lines.

Input: events as the API stores them (mappings with `name`, `cpu`, `tid`, `comm`, `fields`);
function names come from `func_sym` (tracefs/kallsyms.py), else the address in hex; the
duration from `duration_ns` (else rettime - calltime). Streaming: `feed` holds back at most
one entry per CPU (the leaf look-ahead); `flush` releases them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

ENTRY = "ftrace:funcgraph_entry"
EXIT = "ftrace:funcgraph_exit"
HEADER = (
    "# CPU  DURATION                  FUNCTION CALLS",
    "# |     |   |                     |   |   |   |",
)
INDENT = 2
NO_DURATION = " " * 14 + "|  "
PROC_WIDTH = 14
PROC_COMM_CHARS = 7
SEPARATOR = " ------------------------------------------"
# (threshold in ns, mark): the first threshold the duration exceeds
MARKS = (
    (1_000_000_000, "$"),
    (100_000_000, "@"),
    (10_000_000, "*"),
    (1_000_000, "#"),
    (100_000, "!"),
    (10_000, "+"),
)

Event = Mapping[str, Any]


def duration_text(ns: int) -> str:
    """`0.561 us    `: microseconds, decimals while the number stays within 7 digits."""
    usecs, rem = divmod(max(ns, 0), 1000)
    text = str(usecs)
    if len(text) < 7:
        text += "." + f"{rem:03d}"[: min(3, 7 - len(text))]
    return text + " us " + " " * max(0, 8 - len(text))


def overhead_mark(ns: int) -> str:
    return next((mark for limit, mark in MARKS if ns > limit), " ")


def duration_column(ns: int) -> str:
    return f"{overhead_mark(ns)} {duration_text(ns)}|  "


def task_label(comm: str | None, tid: int | None) -> str:
    """`comm-pid` centred in 14 columns, the comm cut to 7 characters (kernel style)."""
    text = f"{(comm or '<...>')[:PROC_COMM_CHARS]}-{tid if tid is not None else '?'}"
    spaces = max(0, PROC_WIDTH - len(text))
    return " " * (spaces // 2) + text + " " * (spaces - spaces // 2)


def func_name(fields: Mapping[str, Any]) -> str:
    name = fields.get("func_sym")
    if name:
        return str(name)
    func = fields.get("func")
    return f"{func:#x}" if isinstance(func, int) else "?"


def exit_duration(fields: Mapping[str, Any]) -> int:
    dur = fields.get("duration_ns")
    if isinstance(dur, int):
        return dur
    call, ret = fields.get("calltime"), fields.get("rettime")
    return ret - call if isinstance(call, int) and isinstance(ret, int) else 0


def default_comment(event: Event) -> str:
    fields = event.get("fields") or {}
    body = " ".join(f"{k}={v}" for k, v in fields.items())
    short = str(event.get("name", "")).split(":", 1)[-1]
    return f"{short}: {body}".rstrip()


class FuncgraphRenderer:
    """Turns a stream of events into function_graph text lines."""

    def __init__(
        self, cpu_width: int = 1, comment: Callable[[Event], str] = default_comment
    ) -> None:
        self.cpu_width = cpu_width
        self.comment = comment
        self._pending: dict[Any, Event] = {}
        """cpu -> an entry waiting for the next record of its CPU (leaf look-ahead)"""
        self._open: dict[Any, dict[int, str]] = {}
        """cpu -> depth -> function of the entries printed with `{`"""
        self._last_task: dict[Any, tuple[int | None, str | None]] = {}

    def _prefix(self, cpu: Any) -> str:
        text = str(cpu) if cpu is not None else "?"
        return f" {text:>{self.cpu_width}}) "

    def feed(self, event: Event) -> list[str]:
        name = event.get("name")
        cpu = event.get("cpu")
        lines: list[str] = []
        pending = self._pending.pop(cpu, None)
        if pending is not None:
            if name == EXIT and _returns_from(pending, event):
                return self._leaf(pending, event)
            lines += self._open_entry(pending)
        if name not in (ENTRY, EXIT):
            return [*lines, f"{self._prefix(cpu)}{NO_DURATION}/* {self.comment(event)} */"]
        lines += self._task_switch(event)
        if name == ENTRY:
            self._pending[cpu] = event
        else:
            lines.append(self._close(event))
        return lines

    def flush(self) -> list[str]:
        lines: list[str] = []
        for cpu in list(self._pending):
            lines += self._open_entry(self._pending.pop(cpu))
        return lines

    def render(self, events: Iterable[Event], header: bool = True) -> list[str]:
        lines = list(HEADER) if header else []
        for event in events:
            lines += self.feed(event)
        return lines + self.flush()

    def _task_switch(self, event: Event) -> list[str]:
        cpu = event.get("cpu")
        task = (event.get("tid"), event.get("comm"))
        last = self._last_task.get(cpu)
        self._last_task[cpu] = task
        if last is None or last[0] == task[0]:
            return []
        arrow = (
            f"{self._prefix(cpu)}{task_label(last[1], last[0])} => {task_label(task[1], task[0])}"
        )
        return [SEPARATOR, arrow.rstrip(), SEPARATOR, ""]

    def _leaf(self, entry: Event, ret: Event) -> list[str]:
        fields = entry.get("fields") or {}
        depth = int(fields.get("depth") or 0)
        dur = exit_duration(ret.get("fields") or {})
        indent = " " * (INDENT * depth)
        return [
            f"{self._prefix(entry.get('cpu'))}{duration_column(dur)}{indent}{func_name(fields)}();"
        ]

    def _open_entry(self, entry: Event) -> list[str]:
        fields = entry.get("fields") or {}
        depth = int(fields.get("depth") or 0)
        name = func_name(fields)
        self._open.setdefault(entry.get("cpu"), {})[depth] = name
        indent = " " * (INDENT * depth)
        return [f"{self._prefix(entry.get('cpu'))}{NO_DURATION}{indent}{name}() {{"]

    def _close(self, ret: Event) -> str:
        fields = ret.get("fields") or {}
        depth = int(fields.get("depth") or 0)
        name = func_name(fields)
        opened = self._open.get(ret.get("cpu"), {}).pop(depth, None)
        tail = "" if opened == name else f" /* {name} */"
        column = duration_column(exit_duration(fields))
        return f"{self._prefix(ret.get('cpu'))}{column}{' ' * (INDENT * depth)}}}{tail}"


def _returns_from(entry: Event, ret: Event) -> bool:
    a, b = entry.get("fields") or {}, ret.get("fields") or {}
    return (
        entry.get("tid") == ret.get("tid")
        and a.get("func") == b.get("func")
        and a.get("depth") == b.get("depth")
    )


def render_funcgraph(events: Iterable[Event], header: bool = True) -> list[str]:
    """The nested text of a list of events (others than funcgraph become comments)."""
    listed = list(events)
    cpus = [cpu for e in listed if isinstance(cpu := e.get("cpu"), int)]
    width = len(str(max(cpus))) if cpus else 1
    return FuncgraphRenderer(cpu_width=width).render(listed, header)
