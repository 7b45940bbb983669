"""Printers of live stream messages for the CLI, by session kind (like the peer tools)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from ..engines.tracefs.kallsyms import boot_printk_strings, boot_symbols
from ..render.ftrace import FtraceRenderer
from .client import ApiError, Client

Printer = Callable[[dict[str, Any]], None]


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")


def print_fmts(api: Client, session: dict[str, Any]) -> dict[str, str]:
    """The print fmt of each of the session's events: those the worker stored with the
    session (`info.formats`), else (an older daemon) from the catalogue, one by one."""
    stored = (session.get("info") or {}).get("formats")
    if isinstance(stored, dict) and isinstance(stored.get("print_fmts"), dict):
        return dict(stored["print_fmts"])
    out: dict[str, str] = {}
    for name in session.get("info", {}).get("events") or []:
        system, _, event = name.partition(":")
        try:
            out[name] = api.get(f"/v1/tracepoints/{system}/{event}")["print_fmt"]
        except ApiError:
            continue
    return out


def tracefs_renderer(api: Client, session: dict[str, Any]) -> FtraceRenderer:
    """trace-cmd report's lines; kernel symbols when the CLI runs as root on the machine
    and boot the session was recorded in."""
    stored = (session.get("info") or {}).get("formats") or {}
    boot = stored.get("boot_id")
    return FtraceRenderer(
        print_fmts(api, session),
        stored.get("widths"),
        boot_symbols(boot),
        boot_printk_strings(boot),
    )


def _tracefs_printer(api: Client, session: dict[str, Any], quiet: bool) -> Printer:
    renderer = FtraceRenderer() if quiet else tracefs_renderer(api, session)

    def printer(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if quiet:
            return
        if kind == "events":
            for event in message["events"]:
                if not _command_output(event):
                    _write(renderer.line(event))
        elif kind == "lost":
            _write(f"CPU:{message.get('cpu')} [LOST {message.get('count')} EVENTS]")
        elif kind == "flush":
            sys.stdout.flush()

    return printer


def _command_output(event: dict[str, Any]) -> bool:
    """A launched command's stdout/stderr goes to ours, as if it ran here."""
    name = event["name"]
    if name not in ("stdout", "stderr"):
        return False
    stream = sys.stdout if name == "stdout" else sys.stderr
    stream.write(str(event["fields"].get("text", "")) + "\n")
    return True


def _generic_printer(quiet: bool) -> Printer:
    def printer(message: dict[str, Any]) -> None:
        if quiet:
            return
        if message.get("type") == "events":
            for event in message["events"]:
                if _command_output(event):
                    continue
                text = event["fields"].get("text")
                _write(
                    text
                    if isinstance(text, str)
                    else f"{event['name']} {json.dumps(event['fields'], sort_keys=False)}"
                )
        elif message.get("type") == "lost":
            _write(f"[lost {message.get('count')} events ({message.get('source')})]")
        elif message.get("type") == "flush":
            sys.stdout.flush()

    return printer


def _bpf_printer(session: dict[str, Any], quiet: bool) -> Printer:
    """Lines as the BCC tool (or bpftrace) prints them; maps at the end, as they do."""
    from ..render import bpf

    tool = session["spec"].get("tool")
    offset = int(session.get("wall_offset_ns") or 0)
    state: dict[str, Any] = {"header": False, "maps": None}

    def printer(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "events" and not quiet:
            if not state["header"] and tool and (head := bpf.header(tool)):
                _write(head)
            state["header"] = True
            for event in message["events"]:
                if event["name"] == "maps" or _command_output(event):
                    continue
                line = bpf.render_event(event, offset)
                sys.stdout.write(line if line.endswith("\n") else line + "\n")
        elif kind == "lost":
            sys.stderr.write(f"Possibly lost {message.get('count')} samples\n")
        elif kind == "maps":
            state["maps"] = message.get("maps")
        elif kind == "flush":
            if state["maps"]:
                _write(bpf.render_maps(state["maps"], tool))
            sys.stdout.flush()

    return printer


def _bpftrace_printer(session: dict[str, Any], out: IO[str] | None) -> Printer:
    """bpftrace's output as it printed it: `text` events verbatim, `-f json` records as
    their lines, its stderr on ours (`-o FILE`: the output there)."""
    options = session["spec"].get("bpftrace_options") or {}
    as_json = options.get("format", "json") == "json"
    dest = out or sys.stdout

    def printer(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "events":
            for event in message["events"]:
                fields = event["fields"]
                if event["name"] == "stderr":
                    sys.stderr.write(str(fields.get("text", "")) + "\n")
                elif as_json and "json" in fields:
                    dest.write(str(fields["json"]) + "\n")
                elif "bytes_b64" in fields and hasattr(dest, "buffer"):
                    dest.flush()  # bytes that are not UTF-8, written as bpftrace wrote them
                    dest.buffer.write(base64.b64decode(fields["bytes_b64"]))
                elif "text" in fields:
                    dest.write(str(fields["text"]))
            dest.flush()
        elif kind == "lost":
            sys.stderr.write(f"Lost {message.get('count')} events\n")
        elif kind == "flush":
            dest.flush()

    return printer


def _ptrace_printer(
    session: dict[str, Any], quiet: bool, out: IO[str] | None, options: Any = None
) -> Printer:
    """strace's lines, on stderr (or -o FILE) like strace; the command's output on ours."""
    from ..render.strace import StraceRenderer

    renderer = StraceRenderer(
        follow=bool(session["spec"].get("follow_forks")),
        show_output=False,
        pid_column=bool(out),
        options=options,
    )
    if options is not None:
        options.wall_offset_ns = int(session.get("wall_offset_ns") or 0)
    dest = out or sys.stderr
    quiet = quiet and out is None  # -q silences the terminal, never the -o file

    def printer(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "events":
            for event in message["events"]:
                if _command_output(event) or quiet:
                    continue
                for line in renderer.feed(event):
                    dest.write(line + "\n")
        elif kind == "lost" and not quiet:
            dest.write(f"[tracerd: {message.get('count')} events lost ({message.get('source')})]\n")
        elif kind == "flush":
            dest.flush()

    return printer


def printer_for(
    api: Client,
    kind: str,
    session: dict[str, Any],
    quiet: bool = False,
    out: IO[str] | None = None,
    line_options: Any = None,
) -> Printer:
    if kind == "ptrace":
        return _ptrace_printer(session, quiet, out, line_options)
    if kind == "tracefs":
        return _tracefs_printer(api, session, quiet)
    if kind == "bpftrace":
        return _bpftrace_printer(session, out)
    if kind == "bpf":
        return _bpf_printer(session, quiet)
    return _generic_printer(quiet)


def print_syscall_table(report: dict[str, Any], out: IO[str] | None = None) -> None:
    """`strace -c -w`'s table, on stderr (or `-o FILE`) as strace prints it."""
    from .report_cmds import strace_table

    (out or sys.stderr).write(strace_table(report["rows"], report["total"]) + "\n")
