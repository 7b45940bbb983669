"""The `tracerd` command: the daemon (`serve`, `db upgrade`) and a client of its API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .client import ApiError, Client, fail

Handler = Callable[[argparse.Namespace], None]


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="daemon URL over TCP (default: the unix socket)")
    parser.add_argument("--token", help="bearer token for --url (or TRACERD_TOKEN)")
    parser.add_argument("--socket", help="unix socket path (default /run/tracerd/tracerd.sock)")


def client(args: argparse.Namespace) -> Client:
    return Client(args.url, args.token, args.socket)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def build_parser() -> argparse.ArgumentParser:
    from . import daemon_cmds, session_cmds

    parser = argparse.ArgumentParser(prog="tracerd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    daemon_cmds.register(sub)
    session_cmds.register(sub)
    for name in ("trace_cmds", "report_cmds", "packet_cmds"):
        module = _optional(name)
        if module is not None:
            module.register(sub)
    return parser


def _optional(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        return None


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "bpf":
        args.tool_args = extra  # the tool's own --PARAM value pairs
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handler: Handler = args.handler
    try:
        handler(args)
    except ApiError as exc:
        fail(exc)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
