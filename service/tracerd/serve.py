"""`tracerd serve`: the app on a TCP port and a unix socket at once.

Both sockets are bound before uvicorn starts (`Server.serve(sockets=[...])`). The unix
socket is mode 0600: every peer on it is root, hence admin. The state dir's lock is taken
first, so a second daemon on the same state dir is refused before it binds anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
from pathlib import Path
from types import FrameType

import uvicorn

from .app import create_app
from .config import Settings
from .errors import ResourceBusy
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
    (settings.state_dir / "address").write_text("\n".join(lines) + "\n")


def serve(settings: Settings) -> None:
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
        config = uvicorn.Config(
            app,
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
