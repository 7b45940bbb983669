"""Request dependencies: the daemon's services, who is asking, and what they may do."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import Field
from starlette.requests import HTTPConnection

from ..auth import UNIX_PRINCIPAL, Principal, Role
from ..errors import Forbidden, NotFound, Unauthenticated
from ..specs import (
    INT64_MAX,
    PID_MAX,
    AnySpec,
    BpfSpec,
    LaunchSpec,
    PtraceSpec,
    TracefsSpec,
)

if TYPE_CHECKING:
    from ..services import Services


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
    """Who is asking (once per request: the body guard may have asked already)."""
    known: Principal | None = conn.scope.get("state", {}).get("principal")
    if known is not None:
        return known
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


# Query parameters are bounded like spec fields: nothing over a signed 64-bit integer
# reaches SQL (README "Security").
NsQuery = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="session clock, ns")]
PidsQuery = Annotated[list[Annotated[int, Field(ge=0, le=PID_MAX)]] | None, Query()]
ASCII_ID = re.compile(r"[0-9]{1,18}")
_ROOT_USERS = (None, "root", "0")


def session_id(raw: str) -> int:
    """A session id: ASCII digits only (`１` or `¹` is no session)."""
    if ASCII_ID.fullmatch(raw) is None:
        raise NotFound(f"no session {raw}", {"id": raw})
    return int(raw)


def spec_role(spec: AnySpec) -> tuple[Role, str | None]:
    """The role a session spec needs, and why (design.md "Security")."""
    if isinstance(spec, BpfSpec) and spec.program is not None:
        return Role.ADMIN, "raw BPF programs are admin only"
    if isinstance(spec, BpfSpec) and spec.bpftrace is not None:
        return Role.ADMIN, "bpftrace scripts are admin only"
    if isinstance(spec, PtraceSpec) and spec.breakpoints:
        return Role.ADMIN, "breakpoints are admin only"
    for probe in spec.uprobes if isinstance(spec, TracefsSpec) else ():
        if probe.offset is not None and (probe.symbol is None or probe.offset):
            # the kernel patches every process that maps the file: a breakpoint that is
            # not at an instruction boundary crashes processes the session does not trace
            return Role.ADMIN, "uprobes at an offset (not a function's entry) are admin only"
    if isinstance(spec, LaunchSpec) and spec.command is not None and spec.user in _ROOT_USERS:
        return Role.ADMIN, "commands run as root are admin only (set `user` to a non-root user)"
    return Role.OPERATOR, None


def check_spec_role(principal: Principal, spec: AnySpec) -> None:
    role, why = spec_role(spec)
    if not principal.allows(role):
        raise Forbidden(f"{why}", {"required": role.label, "role": principal.role.label})
