"""create_app(settings) -> FastAPI. The lifespan builds storage, the hub and the manager;
the ledger is reconciled before the first request; capabilities are probed in the
background so start-up stays fast."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from . import __version__
from .api import catalog, console, errors, packet, reports, sessions, stream, system, tokens
from .api.deps import resolve_principal
from .api.errors import envelope, error_response
from .auth import Role, TokenStore
from .config import Settings
from .errors import TracerdError
from .kernel.tracefs import Tracefs
from .metrics import Metrics, SessionSample
from .services import Services
from .sessions.ledger import LedgerStore, Owner
from .sessions.manager import SessionManager
from .sessions.retention import Retention
from .specs import BpfSpec
from .storage import db as storage_db
from .storage.writer import EventWriter
from .stream.hub import HubLimits, StreamHub
from .stream.metrics import StreamCollector
from .system.host import StateDir, boot_id, host_id

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY_BYTES = 4 << 20
AUDIT_BUDGET_S = 2.0
"""how long an audit row is retried on a database error (locked, full) before it is
logged and counted as lost; the control writes' short lock waits"""
GC_GEN0_OBJECTS = 50_000  # a spec with a big BPF program is about 1 MiB


def ensure_admin_token(settings: Settings, tokens: TokenStore) -> None:
    """Write `<state-dir>/admin.token` (0600) on first start, or if it no longer works."""
    path = settings.admin_token_path
    with contextlib.suppress(OSError, Exception):
        tokens.authenticate(path.read_text().strip())
        return
    issued = tokens.create("admin (bootstrap)", Role.ADMIN)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(issued.token + "\n")
    os.chmod(path, 0o600)


def build_services(settings: Settings, state: StateDir) -> Services:
    engine = storage_db.make_engine(settings.database_url())
    dbs = storage_db.make_sessionmaker(engine)
    loop = asyncio.get_running_loop()
    writer = EventWriter(engine, loop, settings.daemon_pending_events)
    hub = StreamHub(
        HubLimits(
            queue_bytes=settings.stream_queue_kib * 1024,
            total_bytes=settings.stream_total_queue_mb * 1024 * 1024,
            per_session=settings.stream_max_per_session,
            per_principal=settings.stream_max_per_token,
            total=settings.stream_max_subscribers,
        )
    )
    token_store = TokenStore(dbs)
    tracefs = Tracefs(settings.tracefs)
    ledger = LedgerStore(dbs, Owner(host_id(), boot_id(), state.daemon_id), tracefs)
    caps: dict[str, Any] = {}
    caps_ready = asyncio.Event()
    manager = SessionManager(settings, dbs, writer, hub, ledger, caps, caps_ready)
    metrics = Metrics(
        lambda: [(s.kind, s.state.value) for s in manager.live.values()],
        lambda: [
            s.worker.pid
            for s in manager.live.values()
            if s.worker is not None and not s.worker.exited.is_set()
        ],
        lambda: [
            SessionSample(
                s.id,
                s.kind,
                s.name or "",
                manager.counters(s),
                writer.progress(s.id).stored_bytes,
                hub.subscriber_count(s.id),
                (s.last_maps or {}).get("maps"),
                s.spec.tool if isinstance(s.spec, BpfSpec) else None,
            )
            for s in list(manager.live.values())
            if s.active
        ],
    )
    metrics.registry.register(StreamCollector(hub))
    return Services(
        settings,
        state,
        engine,
        dbs,
        writer,
        hub,
        token_store,
        ledger,
        tracefs,
        manager,
        metrics,
        caps,
        caps_ready,
    )


def lifespan_for(settings: Settings, state: StateDir | None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        held = state or StateDir(settings.state_dir)
        if state is None:
            held.acquire()
        loose = await asyncio.to_thread(storage_db.secure_state_dir, settings.state_dir)
        if loose:
            log.warning("state dir: tightened group/other access of %s", ", ".join(loose))
        await asyncio.to_thread(storage_db.upgrade, settings.database_url())
        svc = build_services(settings, held)
        app.state.services = svc
        svc.writer.start()
        await asyncio.to_thread(ensure_admin_token, settings, svc.tokens)
        await asyncio.to_thread(svc.manager.recover)
        probe = asyncio.create_task(svc.probe_capabilities(), name="caps-probe")
        svc.manager.start_background()
        # event batches allocate many short-lived objects: a young generation of 50k
        # objects (not 700) keeps the collector from rescanning every batch; the start-up
        # objects are frozen out of collection altogether
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_GEN0_OBJECTS, *gc.get_threshold()[1:])
        svc.retention = Retention(settings, svc.manager, svc.engine, svc.db, svc.metrics.registry)
        pruning = asyncio.create_task(svc.retention.run_forever(), name="retention")
        try:
            yield
        finally:
            probe.cancel()
            svc.caps_ready.set()  # a start still waiting for the probe must not wait forever
            pruning.cancel()
            await svc.manager.shutdown()
            await asyncio.to_thread(svc.writer.close)
            svc.engine.dispose()
            if state is None:
                held.release()

    return lifespan


class AuditAndMetrics:
    """Counts every request by route and status; audits every state-changing request.

    A request body is read here, before the app sees the request, and only after its
    token is authenticated (TCP; the unix socket is admin): bytes are counted as they
    arrive, chunked or not, and reading stops at MAX_BODY_BYTES with 413. An exception
    the app raised is answered with a 500 envelope here, so the connection stays open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        try:
            replay = await self._read_body(scope, receive, send_wrapper)
            if replay is not None:
                await self.app(scope, replay, send_wrapper)
        except Exception:
            if started:
                raise  # a streamed answer was cut: the client must see the connection end
            log.exception("internal error")
            await _answer(send_wrapper, 500, "internal", "internal error (see the daemon log)")
        finally:
            await self._record(scope, status)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """A `receive` replaying the whole body, or None once an error was answered."""
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and length in (None, "0"):
            return receive
        if length is not None and not (length.isascii() and length.isdigit()):
            await _answer(send, 400, "bad_request", "invalid Content-Length")
            return None
        if length is not None and int(length) > MAX_BODY_BYTES:
            await _answer(send, 413, "budget_exceeded", f"request body over {MAX_BODY_BYTES} bytes")
            return None
        if not await self._authenticated(scope, send):
            return None
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await _answer(
                    send, 413, "budget_exceeded", f"request body over {MAX_BODY_BYTES} bytes"
                )
                return None
            if not message.get("more_body", False):
                break
        return _replay(bytes(body), receive)

    @staticmethod
    async def _authenticated(scope: Scope, send: Send) -> bool:
        conn = HTTPConnection(scope)
        if getattr(conn.app.state, "services", None) is None:
            return True
        try:
            await asyncio.to_thread(resolve_principal, conn)
        except TracerdError as exc:
            response = error_response(exc)
            await response(scope, _no_body, send)
            return False
        return True

    async def _record(self, scope: Scope, status: int) -> None:
        svc: Services | None = getattr(scope["app"].state, "services", None)
        if svc is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = str(scope.get("method", ""))
        svc.metrics.requests.labels(method, template, str(status)).inc()
        if method in WRITE_METHODS:
            principal = scope.get("state", {}).get("principal")
            who = principal.id if principal is not None else "anonymous"
            role = principal.role.label if principal is not None else "-"
            try:
                await svc.manager.control.run(
                    svc.audit, who, role, method, scope["path"], status, budget_s=AUDIT_BUDGET_S
                )
            except Exception as exc:
                svc.metrics.audit_failures.inc()
                log.error(
                    "audit row not stored (%s): %s %s %s by %s (%s)",
                    exc,
                    method,
                    scope["path"],
                    status,
                    who,
                    role,
                )


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(envelope(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def unmatched_websocket(websocket: WebSocket) -> None:
    """A WebSocket on no route is accepted and closed with 4404 (not an HTTP 403)."""
    await websocket.accept()
    await websocket.close(4404, "no such stream")


def create_app(settings: Settings, state: StateDir | None = None) -> FastAPI:
    app = FastAPI(
        title="tracerd",
        version=__version__,
        description="A root daemon that owns kernel tracing resources (ftrace sessions, "
        "ptrace attachments, eBPF programs) as managed sessions.",
        lifespan=lifespan_for(settings, state),
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    routers = (system.router, catalog.router, sessions.router, reports.router, stream.router)
    for router in (*routers, tokens.router, packet.router, console.router):
        app.include_router(router)
    app.add_api_websocket_route("/{path:path}", unmatched_websocket)
    app.add_middleware(AuditAndMetrics)
    return app
