"""Slow and many clients: a header timeout, a cap on TCP connections, the fd limit.

uvicorn's h11 protocol times out idle keep-alive connections only; a client that opens
a connection and sends its headers a byte at a time (slowloris) holds an fd for ever.
`guarded_protocol()` gives each request `header_timeout_s` for its headers, and when
more than `max_connections` TCP connections are open it closes the oldest one still
waiting for headers (else the new one). Unix-socket connections (root) are not capped.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

FD_RESERVE = 256  # database, workers' sockets, tracefs files, pidfds


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to its hard limit; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the fd limit from %d to %d: %s", soft, hard, exc)
    return soft


def connection_cap(max_connections: int, fd_limit: int) -> int:
    return max(16, min(max_connections, fd_limit - FD_RESERVE))


def guarded_protocol(max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    class GuardedH11Protocol(H11Protocol):
        opened_at = 0.0
        header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.opened_at = time.monotonic()
            self._arm(header_timeout_s)
            if self.server is not None:  # TCP (a unix socket has no address pair)
                self._enforce_cap()

        def _enforce_cap(self) -> None:
            tcp = [c for c in self.connections if getattr(c, "server", None) is not None]
            if len(tcp) <= max_connections:
                return
            waiting = [
                c
                for c in tcp
                if isinstance(c, GuardedH11Protocol)
                and c.header_timer is not None
                and c is not self
            ]
            victim = min(waiting, key=lambda c: c.opened_at) if waiting else self
            log.warning("%d TCP connections: closing one still sending headers", len(tcp))
            victim.drop()

        def _arm(self, delay_s: float) -> None:
            self._disarm()
            self.header_timer = self.loop.call_later(delay_s, self.drop)

        def _disarm(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def drop(self) -> None:
            self._disarm()
            self.connections.discard(self)
            if not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                # keep-alive: the next request's headers get the idle timeout plus their own
                self._arm(self.timeout_keep_alive + header_timeout_s)

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._disarm()
            super().handle_websocket_upgrade(event)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol
