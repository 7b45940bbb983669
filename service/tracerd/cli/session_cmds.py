"""CLI: sessions ls|show|stop|rm."""

from __future__ import annotations

import argparse
from typing import Any

from . import add_client_options, client, print_json
from .table import human_bytes, human_duration, session_duration, table


def register(sub: Any) -> None:
    p = sub.add_parser("sessions", help="list and manage sessions")
    ssub = p.add_subparsers(dest="sessions_command", required=True)
    ls = ssub.add_parser("ls", help="list sessions")
    ls.add_argument("--kind", choices=["tracefs", "ptrace", "bpf", "packet"])
    ls.add_argument("--state")
    add_client_options(ls)
    ls.set_defaults(handler=cmd_ls)
    for name, handler, text in (
        ("show", cmd_show, "one session (JSON)"),
        ("stop", cmd_stop, "stop a session"),
        ("rm", cmd_rm, "stop and delete a session and its events"),
    ):
        c = ssub.add_parser(name, help=text)
        c.add_argument("id")
        add_client_options(c)
        c.set_defaults(handler=handler)


def lost_total(session: dict[str, Any]) -> int:
    return sum(int(v) for v in session["counters"]["lost"].values())


def cmd_ls(args: argparse.Namespace) -> None:
    params = {k: v for k, v in (("kind", args.kind), ("state", args.state)) if v}
    sessions = client(args).get("/v1/sessions", params=params)["sessions"]
    rows = [
        [
            s["id"],
            s["kind"],
            s["name"] or "",
            s["state"],
            human_duration(session_duration(s)),
            s["counters"]["stored"],
            lost_total(s),
            human_bytes(s.get("stored_bytes", 0)),
            (s["created_at"] or "")[:19],
        ]
        for s in sessions
    ]
    print(
        table(
            rows,
            ["id", "kind", "name", "state", "duration", "events", "lost", "size", "created"],
            right=(0, 5, 6, 7),
        )
    )


def cmd_show(args: argparse.Namespace) -> None:
    print_json(client(args).get(f"/v1/sessions/{args.id}"))


def cmd_stop(args: argparse.Namespace) -> None:
    s = client(args).post(f"/v1/sessions/{args.id}/stop?wait=true")
    print(f"session {s['id']} {s['state']}: {s['counters']['stored']} events, {lost_total(s)} lost")


def cmd_rm(args: argparse.Namespace) -> None:
    client(args).delete(f"/v1/sessions/{args.id}")
    print(f"deleted session {args.id}")
