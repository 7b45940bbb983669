"""Request dependencies: the daemon's services, who is asking, and what they may do."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ..auth import UNIX_PRINCIPAL, Principal, Role
from ..errors import Forbidden, NotFound, Unauthenticated

if TYPE_CHECKING:
    from ..app import Services


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc


def is_unix_socket(conn: HTTPConnection) -> bool:
    """uvicorn reports a unix socket's server address as (path, None)."""
    server = conn.scope.get("server")
    return server is not None and server[1] is None


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if conn.scope.get("type") == "websocket":
        # browsers cannot set headers on a WebSocket: a subprotocol value or ?token=
        for proto in conn.headers.get("sec-websocket-protocol", "").split(","):
            proto = proto.strip()
            if proto.startswith("trd_"):
                return proto
        token = conn.query_params.get("token")
        if token:
            return token
    return None


def resolve_principal(conn: HTTPConnection) -> Principal:
    if is_unix_socket(conn):
        principal = UNIX_PRINCIPAL
    else:
        token = bearer_token(conn)
        if token is None:
            raise Unauthenticated("a bearer token is required")
        principal = services(conn).tokens.authenticate(token)
    conn.scope.setdefault("state", {})["principal"] = principal
    return principal


def require(role: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = resolve_principal(request)
        if not principal.allows(role):
            raise Forbidden(
                f"this needs the {role.label} role (you are {principal.role.label})",
                {"required": role.label, "role": principal.role.label},
            )
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
ServicesDep = Annotated["Services", Depends(services)]


def session_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"no session {raw}", {"id": raw})
    return int(raw)


def spec_role(kind: str, spec: dict[str, Any]) -> tuple[Role, str | None]:
    """The role a session spec needs, and why (design.md "Security")."""
    if kind == "bpf" and spec.get("program") is not None:
        return Role.ADMIN, "raw BPF programs are admin only"
    if kind == "bpf" and spec.get("bpftrace") is not None:
        return Role.ADMIN, "bpftrace scripts are admin only"
    if kind == "ptrace" and spec.get("breakpoints"):
        return Role.ADMIN, "breakpoints are admin only"
    if spec.get("command") is not None and spec.get("user") in (None, "root", "0"):
        return Role.ADMIN, "commands run as root are admin only (set `user` to a non-root user)"
    return Role.OPERATOR, None


def check_spec_role(principal: Principal, kind: str, spec: dict[str, Any]) -> None:
    role, why = spec_role(kind, spec)
    if not principal.allows(role):
        raise Forbidden(f"{why}", {"required": role.label, "role": principal.role.label})
