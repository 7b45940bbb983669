"""CLI: record/stream (trace-cmd habits), strace, bpf, bpftrace — live lines like the peers."""

from __future__ import annotations

import argparse
import fnmatch
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

from . import add_client_options, client
from .client import ApiError, Client
from .live import follow, stop_session, summary
from .render import printer_for


def register(sub: Any) -> None:
    _record_parser(sub)
    p = sub.add_parser("stream", help="print a session's events live (trace-cmd stream)")
    p.add_argument("id")
    p.add_argument("--from-seq", type=int, default=0, help="replay stored events from here")
    p.add_argument("--name", action="append", help="only these event names")
    p.add_argument("--pid", action="append", type=int, help="only these pids/tids")
    add_client_options(p)
    p.set_defaults(handler=cmd_stream)
    _strace_parser(sub)
    _bpf_parsers(sub)


def _launch_options(p: argparse.ArgumentParser, quiet_flags: tuple[str, ...] = ("-q",)) -> None:
    p.add_argument("-u", "--user", help="run the command as this user")
    p.add_argument("--cwd", help="working directory of the command (default: this one)")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of the command (default: this shell's PATH, LANG, LC_ALL, TERM)",
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("-m", "--max-events", type=int, help="stop after this many events")
    p.add_argument("--name", dest="session_name", help="session name")
    p.add_argument(*quiet_flags, "--quiet", action="store_true", help="no live lines")


def _record_parser(sub: Any) -> None:
    p = sub.add_parser("record", help="record trace events (trace-cmd record)")
    p.add_argument(
        "-e",
        "--event",
        action="append",
        dest="events",
        default=[],
        help="event or glob (sched:sched_switch, syscalls:*, sched)",
    )
    p.add_argument(
        "-f",
        "--filter",
        action="append",
        dest="filters",
        default=[],
        help="filter for the preceding -e event",
    )
    p.add_argument("-P", "--pid", action="append", type=int, dest="pids", default=[])
    p.add_argument(
        "-c",
        "--children",
        action="store_true",
        help="trace the children of -P pids or of the command too",
    )
    p.add_argument("-b", "--buffer-size", type=int, dest="buffer_size_kb", help="KiB per CPU")
    p.add_argument("-C", "--clock", default="mono")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    _launch_options(p)
    add_client_options(p)
    p.set_defaults(handler=cmd_record)


def _strace_parser(sub: Any) -> None:
    p = sub.add_parser("strace", help="trace system calls (strace)")
    p.add_argument("-f", dest="follow_forks", action="store_true", help="follow forks")
    p.add_argument("-p", dest="pid", type=int, help="attach to this pid")
    p.add_argument(
        "-e",
        dest="expressions",
        action="append",
        default=[],
        help="trace=NAME,%%CLASS,... (strace -e)",
    )
    p.add_argument("-s", dest="string_limit", type=int, default=32)
    p.add_argument("-c", dest="summary", action="store_true", help="count time and calls")
    p.add_argument("-t", dest="stamps", action="count", default=0, help="-t, -tt, -ttt: time")
    p.add_argument("-r", dest="relative", action="store_true", help="relative timestamps")
    p.add_argument("-T", dest="durations", action="store_true", help="time spent in calls")
    p.add_argument("-a", dest="column", type=int, default=40, help="column of ` = ret`")
    p.add_argument("-q", dest="quiet_level", action="count", default=0, help="-qq: no exits")
    p.add_argument("-y", dest="fd_paths", action="count", default=0, help="-y/-yy: fd paths")
    p.add_argument("-P", dest="paths", action="append", default=[], help="calls on PATH only")
    for flag in UNSUPPORTED_FLAGS:
        p.add_argument(flag, dest=f"unsupported_{flag[1:]}", action="count", default=0)
    for flag in UNSUPPORTED_VALUED:
        p.add_argument(flag, dest=f"unsupported_{flag[1:]}", action="append", default=[])
    p.add_argument("--seccomp", choices=["auto", "on", "off"], default="auto")
    p.add_argument("-o", dest="output", help="write the trace to this file")
    p.add_argument("command", nargs=argparse.REMAINDER)
    _launch_options(p, quiet_flags=())  # strace's -q/-qq are its own (above)
    add_client_options(p)
    p.set_defaults(handler=cmd_strace)


def _bpf_parsers(sub: Any) -> None:
    p = sub.add_parser("bpf", help="run a BPF catalogue tool (execsnoop, opensnoop, ...)")
    p.add_argument("tool")
    p.add_argument("-p", "--pid", type=int)
    p.add_argument("--comm")
    p.add_argument("--duration", type=float)
    p.add_argument("--interval", type=float, dest="map_interval_s")
    p.add_argument("-q", "--quiet", action="store_true")
    add_client_options(p)
    p.set_defaults(handler=cmd_bpf)
    p = sub.add_parser(
        "bpftrace",
        help="run a bpftrace script (bpftrace's options)",
        usage="tracerd bpftrace [options] (-e 'PROGRAM' | FILE | -) [PARAM ...]",
    )
    p.add_argument("-e", dest="script", help="program text")
    p.add_argument("args", nargs="*", help="program FILE (- for stdin), then $1, $2, ...")
    p.add_argument("-f", dest="format", choices=("text", "json"), default="text")
    p.add_argument("-o", dest="output", help="write the program's output to FILE")
    p.add_argument("-p", dest="target_pid", type=int, help="enable USDT/uprobes on PID")
    p.add_argument("-c", dest="command", help="run CMD and end with it")
    p.add_argument("-l", dest="list", action="store_true", help="list probes (tracepoints)")
    p.add_argument("-k", dest="helper_errors", action="count", default=0, help="-k / -kk")
    p.add_argument("-v", dest="verbose", action="store_true")
    for flag in (
        "-d",
        "-dd",
        "-I",
        "-B",
        "--unsafe",
        "--btf",
        "--include",
        "--usdt-file-activation",
    ):
        p.add_argument(flag, dest=f"refused{flag}", nargs="?", const=True, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float)
    add_client_options(p)
    p.set_defaults(handler=cmd_bpftrace)


def _command(args: argparse.Namespace) -> list[str] | None:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    return command or None


CALLER_ENV = ("PATH", "LANG", "LC_ALL", "TERM")
"""what a launched command takes from the caller's environment (never secrets: the spec is
stored with the session); --env replaces it, --user gets the user's own minimal one"""


def _launch_spec(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    command = _command(args)
    if command:
        spec["command"] = command
        if args.user:
            spec["user"] = args.user
        # as strace and trace-cmd run it: here, with this PATH and locale (a daemon reached
        # by --url may be on another machine: there only what is given)
        local = not getattr(args, "url", None)
        if args.cwd or local:
            spec["cwd"] = args.cwd or os.getcwd()
        if args.env:
            spec["env"] = dict(e.split("=", 1) for e in args.env)
        elif local and not args.user:
            caller = {k: os.environ[k] for k in CALLER_ENV if k in os.environ}
            if caller:
                spec["env"] = caller
    for key in ("duration", "max_events"):
        value = getattr(args, key, None)
        if value is not None:
            spec["duration_s" if key == "duration" else key] = value
    return spec


def _filters(argv_events: list[str], argv: list[str]) -> dict[str, str]:
    """trace-cmd: `-f` applies to the `-e` given just before it."""
    out: dict[str, str] = {}
    current: str | None = None
    it = iter(argv)
    for token in it:
        if token in ("-e", "--event"):
            current = next(it, None)
        elif token in ("-f", "--filter") and current is not None:
            out[current] = next(it, "")
    return out


def _expand_system(events: list[str]) -> list[str]:
    # trace-cmd accepts a bare subsystem (-e sched) for all of its events
    return [e if ":" in e else f"{e}:*" for e in events]


def run_session(
    api: Client,
    kind: str,
    spec: dict[str, Any],
    name: str | None,
    quiet: bool,
    printer_kind: str | None = None,
    out: IO[str] | None = None,
    line_options: Any = None,
) -> dict[str, Any]:
    body = {"kind": kind, "spec": spec, "name": name}
    session = api.post("/v1/sessions", json=body, params={"wait": "true"})
    sid = session["id"]
    sys.stderr.write(f"session {sid} {session['state']} (Ctrl-C to stop)\n")
    printer = printer_for(
        api, printer_kind or kind, session, quiet=quiet, out=out, line_options=line_options
    )
    result = follow(api, sid, printer)
    printer({"type": "flush"})
    summary(api, sid, result)
    return dict(api.get(f"/v1/sessions/{sid}"))


def cmd_record(args: argparse.Namespace) -> None:
    if not args.events:
        raise SystemExit("tracerd record: give at least one -e EVENT")
    events = _expand_system(args.events)
    spec: dict[str, Any] = {
        "events": events,
        "clock": args.clock,
        "follow_forks": bool(args.children),
    }
    raw_filters = _filters(args.events, sys.argv[1:])
    if raw_filters:
        spec["filters"] = {(e if ":" in e else f"{e}:*"): f for e, f in raw_filters.items()}
    if args.pids:
        spec["pids"] = args.pids
    if args.buffer_size_kb:
        spec["buffer_size_kb"] = args.buffer_size_kb
    run_session(client(args), "tracefs", _launch_spec(args, spec), args.session_name, args.quiet)


def cmd_stream(args: argparse.Namespace) -> None:
    api = client(args)
    session = api.get(f"/v1/sessions/{args.id}")
    printer = printer_for(api, session["kind"], session)
    params: dict[str, Any] = {}
    if args.name:
        params["name"] = args.name
    if args.pid:
        params["pid"] = args.pid
    result = follow(
        api, args.id, printer, stop_on_interrupt=False, params={**params, "from_seq": args.from_seq}
    )
    printer({"type": "flush"})
    summary(api, args.id, result)


UNSUPPORTED_FLAGS = ("-v", "-k", "-i", "-n", "-x", "-C", "-D", "-w", "-Z", "-z")
UNSUPPORTED_VALUED = ("-X", "-I", "-E", "-S", "-O", "-U", "-b")
"""strace options tracerd does not honour: refused with a clear message, never ignored"""


def _strace_syscalls(expressions: list[str]) -> tuple[list[str], frozenset[str] | None]:
    """`-e trace=SET` (strace's syntax: !, ?, /regex, %class, none, all) and `-e signal=SET`:
    the spec's syscall items and the signal names whose lines print (None: all)."""
    out: list[str] = []
    signals: frozenset[str] | None = None
    for expr in expressions:
        key, _, value = expr.partition("=")
        if not value:
            key, value = "trace", key
        if key in ("signal", "signals", "s"):
            signals = _signal_set(value)
            continue
        if key not in ("trace", "t"):
            raise SystemExit(
                f"tracerd strace: -e {key}= is not supported (only trace= and signal=)"
            )
        negate = value.startswith("!")  # strace: `!` negates the whole set
        items = [v for v in value.removeprefix("!").split(",") if v]
        if negate:
            out.extend(f"!{v}" if v not in ("all", "none") else v for v in items)
            if "all" in items:
                out.append("none")
        else:
            out.extend(v for v in items if v != "all")
    return out, signals


def _signal_set(value: str) -> frozenset[str] | None:
    import signal as _signal

    negate = value.startswith("!")
    names = set()
    for item in value.removeprefix("!").split(","):
        if item in ("all", "none", ""):
            continue
        name = item.upper() if item.upper().startswith("SIG") else "SIG" + item.upper()
        if item.isdigit():
            name = _signal.Signals(int(item)).name
        names.add(name)
    everything = {s.name for s in _signal.Signals}
    if value.removeprefix("!") == "all":
        return frozenset() if negate else None
    if value.removeprefix("!") == "none":
        return None if negate else frozenset()
    return frozenset(everything - names) if negate else frozenset(names)


def _traced_paths(given: list[str], local: bool) -> list[str]:
    """-P PATH as strace takes it: the path as given, and its realpath (here, where the
    command runs) when it exists and differs, with strace's notice."""
    out = list(given)
    for path in given if local else ():
        try:
            real = os.path.realpath(path, strict=True)
        except OSError:
            continue
        if real != path and real not in out:
            sys.stderr.write(f'tracerd strace: Requested path "{path}" resolved into "{real}"\n')
            out.append(real)
    return out


def _line_options(args: argparse.Namespace, signals: frozenset[str] | None) -> Any:
    for flag in (*UNSUPPORTED_FLAGS, *UNSUPPORTED_VALUED):
        if getattr(args, f"unsupported_{flag[1:]}"):
            raise SystemExit(f"tracerd strace: option {flag} is not supported")
    from ..render.strace import LineOptions

    stamps = "r" if args.relative else ("", "t", "tt", "ttt")[min(args.stamps, 3)]
    return LineOptions(
        stamps=stamps,
        durations=args.durations,
        column=args.column,
        quiet_exits=args.quiet_level >= 2,
        signals=signals,
    )


def cmd_strace(args: argparse.Namespace) -> None:
    spec: dict[str, Any] = {
        "follow_forks": args.follow_forks,
        "string_limit": args.string_limit,
        "seccomp": args.seccomp,
    }
    if args.fd_paths:
        spec["fd_paths"] = min(args.fd_paths, 2)
    if args.paths:
        spec["paths"] = _traced_paths(args.paths, local=not getattr(args, "url", None))
    if args.pid:
        spec["pid"] = args.pid
    syscalls, signals = _strace_syscalls(args.expressions)
    line_options = _line_options(args, signals)
    if syscalls:
        spec["syscalls"] = syscalls
    spec = _launch_spec(args, spec)
    api = client(args)
    out = open(args.output, "w") if args.output else None  # noqa: SIM115 - closed below
    try:
        if args.summary:  # -c: only the table, on stderr or in the -o file (as strace)
            session = run_session(api, "ptrace", spec, args.session_name, True)
            report = api.get(f"/v1/sessions/{session['id']}/report/syscalls")
            from .render import print_syscall_table

            print_syscall_table(report, out)
        else:
            session = run_session(
                api,
                "ptrace",
                spec,
                args.session_name,
                args.quiet,
                out=out,
                line_options=line_options,
            )
    except ApiError:
        raise
    finally:
        if out is not None:
            out.close()
    status = session.get("exit_status") or {}
    if status.get("code") is not None:
        raise SystemExit(int(status["code"]))
    if status.get("signal"):  # as strace (and a shell): 128 + the signal that killed it
        import signal as _signal

        raise SystemExit(128 + int(_signal.Signals[status["signal"]]))


def cmd_bpf(args: argparse.Namespace) -> None:
    spec: dict[str, Any] = {"tool": args.tool, "args": _tool_args(args)}
    for key in ("pid", "comm", "map_interval_s"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    if args.duration:
        spec["duration_s"] = args.duration
    run_session(client(args), "bpf", spec, None, args.quiet)


def _tool_args(args: argparse.Namespace) -> dict[str, Any]:
    extra = getattr(args, "tool_args", None) or []
    out: dict[str, Any] = {}
    key: str | None = None
    for token in extra:
        if token.startswith("--"):
            key = token[2:].replace("-", "_")
            out[key] = True
        elif key is not None:
            out[key] = _scalar(token)
            key = None
    return out


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _bpftrace_source(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The program text and the positional parameters, as bpftrace takes them."""
    rest = list(args.args)
    if args.script is not None:
        script = sys.stdin.read() if args.script == "-" else args.script
        return script, rest
    if not rest:
        raise SystemExit("USAGE: tracerd bpftrace [options] (-e 'PROGRAM' | FILE | -) [PARAM ...]")
    name = rest.pop(0)
    if name == "-":
        return sys.stdin.read(), rest
    try:
        return Path(name).read_text(), rest
    except OSError as e:
        raise SystemExit(f"ERROR: failed to open file '{name}': {e.strerror}") from None


def _bpftrace_options(args: argparse.Namespace, params: list[str]) -> dict[str, Any]:
    refused = [
        k.removeprefix("refused") for k, v in vars(args).items() if k.startswith("refused") and v
    ]
    if refused:
        raise SystemExit(
            f"tracerd bpftrace: {', '.join(refused)} not supported through tracerd"
            " (debug output, include paths, output buffering and --unsafe stay with bpftrace)"
        )
    options: dict[str, Any] = {"format": args.format, "params": params}
    if not (args.url or os.environ.get("TRACERD_URL")):  # a local daemon: our directory
        options["cwd"] = os.getcwd()
    options["env"] = {k: v for k, v in os.environ.items() if k.startswith("BPFTRACE_")}
    for key in ("target_pid", "command", "helper_errors", "verbose"):
        if getattr(args, key):
            options[key] = getattr(args, key)
    return options


def cmd_bpftrace(args: argparse.Namespace) -> None:
    if args.list:
        pattern = args.script or (args.args[0] if args.args else "*")
        list_bpftrace_probes(client(args), pattern, args.verbose)
        return
    script, params = _bpftrace_source(args)
    spec: dict[str, Any] = {
        "bpftrace": script,
        "bpftrace_options": _bpftrace_options(args, params),
    }
    if args.duration:
        spec["duration_s"] = args.duration
    out = open(args.output, "w") if args.output else None  # noqa: SIM115 - closed below
    try:
        final = run_bpftrace(client(args), spec, out)
    finally:
        if out is not None:
            out.close()
    if final.get("state") == "failed":
        raise SystemExit(1)


def run_bpftrace(api: Client, spec: dict[str, Any], out: IO[str] | None) -> dict[str, Any]:
    """Start the session (Ctrl-C while it starts stops it once started), print its output
    as bpftrace does, and its error as bpftrace does (exit status 1)."""
    interrupted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(1))
    try:
        body = {"kind": "bpf", "spec": spec, "name": None}
        session = api.post("/v1/sessions", json=body, params={"wait": "true"})
    except ApiError as e:
        out = e.detail.get("stdout") if isinstance(e.detail, dict) else None
        if isinstance(out, str):  # what bpftrace printed before it failed
            sys.stdout.write(out)
            sys.stdout.flush()
        if not isinstance(out, str) or e.message.strip() != out.strip():
            sys.stderr.write(e.message.rstrip("\n") + "\n")
        raise SystemExit(1) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    sid = session["id"]
    sys.stderr.write(f"session {sid} {session['state']} (Ctrl-C to stop)\n")
    if interrupted:
        stop_session(api, sid)
    printer = printer_for(api, "bpftrace", session, out=out)
    result = follow(api, sid, printer)
    printer({"type": "flush"})
    summary(api, sid, result)
    return dict(api.get(f"/v1/sessions/{sid}"))


def list_bpftrace_probes(api: Client, pattern: str, verbose: bool) -> None:
    """`bpftrace -l [pattern]` / `-lv` from the daemon's catalogue (tracepoints)."""
    kind, _, rest = pattern.partition(":")
    if kind not in ("*", "tracepoint", "t") and rest:
        raise SystemExit(f"tracerd bpftrace -l: only tracepoints are listed, not {kind}")
    query = rest if rest else ("*" if kind == "*" else pattern)
    names = [t["name"] for t in api.get("/v1/tracepoints", params={"q": query})["tracepoints"]]
    for name in sorted(n for n in names if fnmatch.fnmatchcase(n, query)):
        sys.stdout.write(f"tracepoint:{name}\n")
        if verbose:
            system, _, event = name.partition(":")
            detail = api.get(f"/v1/tracepoints/{system}/{event}")
            for f in detail["fields"]:
                if f["common"]:
                    continue
                base, bracket, size = str(f["type"]).partition("[")
                if f.get("data_loc"):  # as the format file declares it
                    sys.stdout.write(f"    __data_loc {base}[] {f['name']}\n")
                else:
                    sys.stdout.write(f"    {base} {f['name']}{bracket}{size}\n")
