"""Text lines by session kind: ftrace-style (`trace-cmd report`) for tracefs, strace lines
for ptrace, the tool's own lines for bpf (its column header first, map snapshots as BCC or
bpftrace print them). The engines' renderers (`tracerd.render.ftrace|strace|bpf`) are used
when installed, imported lazily by kind; otherwise plain fallbacks keep the same layout.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ...types import LOST_EVENT_NAME
from .rows import Row, event_dict

Line = Callable[[dict[str, Any]], list[str]]


def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"tracerd.render.{name}")
    except ImportError:
        return None


def ftrace_lines(
    print_fmts: Mapping[str, str],
    arrays: Mapping[str, Mapping[str, int]] | None = None,
    symbols: Callable[[int], tuple[str, int] | None] | None = None,
    strings: Callable[[int], str | None] | None = None,
) -> Line:
    """`FtraceRenderer` (bodies from each event's `print fmt`) or the fallback."""
    module = _module("ftrace")
    if module is not None and hasattr(module, "FtraceRenderer"):
        renderer = module.FtraceRenderer(dict(print_fmts), arrays, symbols, strings)
        return lambda event: [str(renderer.line(event))]
    return lambda event: [_ftrace_fallback(event)]


def funcgraph_lines() -> tuple[str, Line, Callable[[], list[str]]]:
    """function_graph sessions: the tracer's nested text (render/funcgraph.py)."""
    from ...render.funcgraph import HEADER, FuncgraphRenderer

    renderer = FuncgraphRenderer()
    return "\n".join(HEADER), renderer.feed, renderer.flush


def _pairs(fields: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items())


def _ftrace_fallback(event: dict[str, Any]) -> str:
    fields = event["fields"]
    if event["name"] == LOST_EVENT_NAME:
        return f"CPU:{event['cpu']} [LOST {fields.get('count')} EVENTS]"
    ts = event["ts_ns"]
    cpu = f"{event['cpu']:03d}" if event["cpu"] is not None else "???"
    head = f"{event['comm'] or '<...>':>16}-{event['tid'] if event['tid'] is not None else '?':<5}"
    stamp = f"{ts // 1_000_000_000}.{ts % 1_000_000_000 // 1000:06d}"
    short = event["name"].split(":", 1)[-1]
    return f"{head} [{cpu}] {stamp:>12}: {short}: {_pairs(fields)}"


def clock_text(ts_ns: int, wall_offset_ns: int, base_ns: int) -> str:
    """strace -tt's HH:MM:SS.micro (local time) when the wall offset is known, else
    seconds from the first event."""
    if not wall_offset_ns:
        return f"{(ts_ns - base_ns) / 1e9:.6f}"
    wall = ts_ns + wall_offset_ns
    return time.strftime("%H:%M:%S", time.localtime(wall // 1_000_000_000)) + (
        f".{wall % 1_000_000_000 // 1000:06d}"
    )


def strace_lines(wall_offset_ns: int, base_ns: int) -> Line:
    """`StraceRenderer` (strace -f's lines, `[pid N]` while several tracees live) or the
    fallback (`strace -f -tt -T`-like: tid, time, the call, `<seconds>`)."""
    module = _module("strace")
    if module is not None and hasattr(module, "StraceRenderer"):
        renderer = module.StraceRenderer(follow=True)
        return lambda event: [str(line) for line in renderer.feed(event)]

    def lines(event: dict[str, Any]) -> list[str]:
        fields = event["fields"]
        stamp = clock_text(event["ts_ns"], wall_offset_ns, base_ns)
        text = fields.get("text") or _pairs(fields)
        if event["name"] == LOST_EVENT_NAME:
            text = f"<... {fields.get('count')} events lost ({fields.get('source')}) ...>"
        elif fields.get("duration_ns") is not None and fields.get("ret") is not None:
            text += f" <{fields['duration_ns'] / 1e9:.6f}>"
        return [f"{event['tid'] or event['pid'] or '?':<7} {stamp} {text}"]

    return lines


def bpf_lines(tool: str | None, wall_offset_ns: int, base_ns: int) -> tuple[str | None, Line]:
    """(column header, lines) from `tracerd.render.bpf` (each tool's own line, map snapshots
    as BCC/bpftrace print them) when installed, else time, name, task and the fields."""
    module = _module("bpf")
    if module is not None and hasattr(module, "render_event"):

        def rendered(event: dict[str, Any]) -> list[str]:
            if event["name"] == "maps":
                text = module.render_maps(event["fields"].get("maps") or {}, tool)
            else:
                text = module.render_event(event, wall_offset_ns)
            return str(text).rstrip("\n").split("\n")

        return (module.header(tool) if tool else None), rendered

    def lines(event: dict[str, Any]) -> list[str]:
        stamp = clock_text(event["ts_ns"], wall_offset_ns, base_ns)
        fields = event["fields"]
        body = orjson.dumps(fields).decode() if event["name"] == "maps" else _pairs(fields)
        who = f" {event['comm'] or ''}[{event['pid']}]" if event["pid"] is not None else ""
        return [f"{stamp} {event['name']}{who} {body}"]

    return None, lines


class Text:
    media_type = "text/plain; charset=utf-8"
    suffix = "txt"

    def __init__(
        self,
        kind: str,
        wall_offset_ns: int,
        base_ns: int,
        print_fmts: Mapping[str, str],
        tool: str | None = None,
        tracer: str = "nop",
        arrays: Mapping[str, Mapping[str, int]] | None = None,
        symbols: Callable[[int], tuple[str, int] | None] | None = None,
        strings: Callable[[int], str | None] | None = None,
    ) -> None:
        self._header: str | None = None
        self._flush: Callable[[], list[str]] | None = None
        if kind == "tracefs" and tracer == "function_graph":
            self._header, self._lines, self._flush = funcgraph_lines()
        elif kind == "tracefs":
            self._lines = ftrace_lines(print_fmts, arrays, symbols, strings)
        elif kind == "ptrace":
            self._lines = strace_lines(wall_offset_ns, base_ns)
        else:
            self._header, self._lines = bpf_lines(tool, wall_offset_ns, base_ns)

    def header(self) -> bytes:
        return (self._header + "\n").encode() if self._header else b""

    def encode(self, rows: list[Row]) -> bytes:
        lines: list[str] = []
        for r in rows:
            lines += self._lines(event_dict(r, orjson.loads(r.fields)))
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def footer(self) -> bytes:
        tail = self._flush() if self._flush is not None else []
        return ("\n".join(tail) + "\n").encode() if tail else b""
