"""`tracerd serve`: the app on a TCP port and a unix socket at once.

Both sockets are bound before uvicorn starts (`Server.serve(sockets=[...])`). The unix
socket is mode 0600: every peer on it is root, hence admin. The state dir's lock is taken
first, so a second daemon on the same state dir is refused before it binds anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import stat
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from .app import create_app
from .config import Settings
from .errors import ResourceBusy
from .guard import connection_cap, guarded_protocol, raise_fd_limit
from .system.host import StateDir

log = logging.getLogger(__name__)


class DaemonServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown (the process then dies
    by the signal); the daemon has shut down cleanly by then, so it exits with 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def bind_unix(path: str) -> socket.socket:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if target.exists() or target.is_symlink():
        if not stat.S_ISSOCK(target.lstat().st_mode):
            raise ResourceBusy(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            target.unlink()  # stale: nobody listens
        else:
            raise ResourceBusy(f"another daemon listens on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def write_address(settings: Settings, sockets: list[socket.socket]) -> None:
    """`<state-dir>/address`: where this daemon listens (the real port when given port 0)."""
    lines = []
    for sock in sockets:
        name = sock.getsockname()
        if isinstance(name, tuple):
            host = f"[{name[0]}]" if ":" in name[0] else name[0]
            lines.append(f"http://{host}:{name[1]}")
        else:
            lines.append(f"unix:{name}")
    path = settings.state_dir / "address"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")


SECRETS = (
    # a token anywhere (a header, a query string, a websockets debug line); its id stays
    (re.compile(r"\btrd_([0-9A-Fa-f]+)_[A-Za-z0-9_-]+"), r"trd_\1_<redacted>"),
    (re.compile(r"([?&]token=)[^&\s\"']+"), r"\1<redacted>"),
    (
        re.compile(
            r"(?i)(\b(?:authorization|sec-websocket-protocol)['\"]?\s*[:=,]\s*(?:b?['\"])?)"
            r"[^\r\n'\"]+"
        ),
        r"\1<redacted>",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in SECRETS:
        text = pattern.sub(replacement, text)
    return text


def install_log_redaction() -> None:
    """Every log record of the process (uvicorn's access and error lines, websockets'
    debug headers) is written with tokens, Authorization and Sec-WebSocket-Protocol
    values redacted."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacting", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    make_record.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def serve(settings: Settings) -> None:
    install_log_redaction()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    state = StateDir(settings.state_dir)
    state.acquire()
    sockets: list[socket.socket] = []
    try:
        address = settings.listen_host_port
        if address is not None:
            sockets.append(bind_tcp(*address))
        if settings.socket:
            sockets.append(bind_unix(settings.socket))
        if not sockets:
            raise SystemExit("nothing to listen on: give --listen or --socket")
        write_address(settings, sockets)
        app = create_app(settings, state)
        fd_limit = raise_fd_limit()
        cap = connection_cap(settings.max_connections, fd_limit)
        log.info("fd limit %d: at most %d TCP connections", fd_limit, cap)
        config = uvicorn.Config(
            app,
            http=guarded_protocol(cap, settings.header_timeout_s),
            # compressing event batches costs more CPU than the bytes it saves on loopback
            ws_per_message_deflate=False,
            log_level=settings.log_level.lower(),
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=30,
        )
        DaemonServer(config).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
        if settings.socket:
            with contextlib.suppress(OSError):
                Path(settings.socket).unlink()
        state.release()
