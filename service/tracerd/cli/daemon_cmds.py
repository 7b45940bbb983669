"""CLI: serve, db upgrade, status, caps, token."""

from __future__ import annotations

import argparse
from typing import Any

from . import add_client_options, client, print_json
from .table import human_duration, table


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the daemon in the foreground")
    p.add_argument("--listen", help="HOST:PORT for TCP, '' to disable (TRACERD_LISTEN)")
    p.add_argument("--socket", help="unix socket path, '' to disable (TRACERD_SOCKET)")
    p.add_argument("--db-url", help="database URL (TRACERD_DB_URL; default SQLite in state dir)")
    p.add_argument("--state-dir", help="state directory (TRACERD_STATE_DIR)")
    p.add_argument("--tracefs", help="tracefs mount point (TRACERD_TRACEFS)")
    p.add_argument("--log-level", help="debug, info, warning (TRACERD_LOG_LEVEL)")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--db-url")
    up.add_argument("--state-dir")
    up.set_defaults(handler=cmd_db_upgrade)

    p = sub.add_parser("status", help="daemon health and running sessions")
    add_client_options(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("caps", help="what this kernel allows (probed)")
    add_client_options(p)
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_caps)

    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="create a token (printed once)")
    c.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    c.add_argument("--name", required=True)
    add_client_options(c)
    c.set_defaults(handler=cmd_token_create)
    ls = tsub.add_parser("list")
    add_client_options(ls)
    ls.set_defaults(handler=cmd_token_list)
    rv = tsub.add_parser("revoke")
    rv.add_argument("id")
    add_client_options(rv)
    rv.set_defaults(handler=cmd_token_revoke)


def _settings(args: argparse.Namespace) -> Any:
    from ..config import Settings

    overrides = {
        k: v
        for k, v in {
            "listen": getattr(args, "listen", None),
            "socket": getattr(args, "socket", None),
            "db_url": getattr(args, "db_url", None),
            "state_dir": getattr(args, "state_dir", None),
            "tracefs": getattr(args, "tracefs", None),
            "log_level": getattr(args, "log_level", None),
        }.items()
        if v is not None
    }
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> None:
    from ..serve import serve

    serve(_settings(args))


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from ..storage.db import secure_state_dir, upgrade

    settings = _settings(args)
    if settings.db_url is None:
        secure_state_dir(settings.state_dir)
    upgrade(settings.database_url())
    print(f"database at {settings.database_url()} is up to date")


def cmd_status(args: argparse.Namespace) -> None:
    api = client(args)
    health = api.get("/v1/health")
    sessions = api.get("/v1/sessions")["sessions"]
    active = [s for s in sessions if s["state"] in ("starting", "running", "stopping")]
    print(
        f"tracerd {health['version']} (daemon {health['daemon_id']}), "
        f"up {human_duration(health['uptime_s'])}, {len(active)} active of "
        f"{len(sessions)} sessions"
    )


def _feature_rows(prefix: str, section: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, value in section.items():
        if isinstance(value, dict) and "usable" in value:
            usable = "yes" if value["usable"] else "no"
            where = value.get("where") or ""
            extra = value.get("version") or value.get("status") or ""
            rows.append([f"{prefix}{key}", usable, where, extra, value.get("reason") or ""])
        elif isinstance(value, dict):
            rows.extend(_feature_rows(f"{prefix}{key}.", value))
    return rows


def cmd_caps(args: argparse.Namespace) -> None:
    caps = client(args).get("/v1/capabilities", params={"refresh": args.refresh})
    if args.json:
        print_json(caps)
        return
    print(
        f"kernel {caps['kernel']['release']} ({caps['kernel']['machine']}), "
        f"{caps['tracefs'].get('events', 0)} trace events"
    )
    print(table(_feature_rows("", caps), ["feature", "usable", "where", "version", "reason"]))


def cmd_token_create(args: argparse.Namespace) -> None:
    made = client(args).post("/v1/tokens", json={"name": args.name, "role": args.role})
    print(made["token"])


def cmd_token_list(args: argparse.Namespace) -> None:
    tokens = client(args).get("/v1/tokens")["tokens"]
    rows = [
        [t["id"], t["name"], t["role"], t["created_at"][:19], "revoked" if t["revoked_at"] else ""]
        for t in tokens
    ]
    print(table(rows, ["id", "name", "role", "created", "state"]))


def cmd_token_revoke(args: argparse.Namespace) -> None:
    client(args).delete(f"/v1/tokens/{args.id}")
    print(f"revoked {args.id}")
