"""Following a session live from the CLI: its WebSocket stream, Ctrl-C to stop it.

`follow()` connects to `WS /v1/sessions/{id}/stream?from_seq=0&format=columns` (so
nothing recorded before the connection is missed; columnar messages: a third of the bytes
and less of the daemon's CPU), hands each message to a printer (a `columns` message as the
`events` message of the same events), and on SIGINT asks the daemon to stop the session,
then keeps reading until the stream's `end`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect, unix_connect

from ..columns import COLUMNS_FORMAT, column_events
from .client import Client

Printer = Callable[[dict[str, Any]], None]
RECV_TIMEOUT_S = 0.5


@dataclass
class FollowResult:
    events: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    last_maps: dict[str, Any] | None = None


def open_stream(api: Client, session_id: str, params: dict[str, Any]) -> ClientConnection:
    query = urlencode(params, doseq=True)
    path = f"/v1/sessions/{session_id}/stream" + (f"?{query}" if query else "")
    if api.url:
        headers = {"Authorization": f"Bearer {api.token}"} if api.token else None
        return connect(api.ws_base + path, additional_headers=headers, max_size=None)
    return unix_connect(api.socket, "ws://tracerd" + path, max_size=None)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def follow(
    api: Client,
    session_id: str,
    printer: Printer,
    stop_on_interrupt: bool = True,
    params: dict[str, Any] | None = None,
) -> FollowResult:
    """Print a session's messages until its end. Ctrl-C (or SIGTERM, SIGHUP) stops the
    session (a second one leaves at once); so does a reader that went away (`| head`), as
    the peer tools end their trace when they die."""
    result = FollowResult()
    interrupted = threading.Event()

    def on_sigint(_sig: int, _frame: FrameType | None) -> None:
        if interrupted.is_set() or not stop_on_interrupt:
            raise KeyboardInterrupt
        interrupted.set()

    previous = {sig: signal.signal(sig, on_sigint) for sig in STOP_SIGNALS}
    stop_sent = False
    try:
        query = {"from_seq": 0, "format": COLUMNS_FORMAT, **(params or {})}
        with open_stream(api, session_id, query) as ws:
            while True:
                if interrupted.is_set() and not stop_sent:
                    stop_sent = True
                    threading.Thread(
                        target=stop_session, args=(api, session_id), daemon=True
                    ).start()
                try:
                    raw = ws.recv(timeout=RECV_TIMEOUT_S)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    break
                message = json.loads(raw)
                if _handle(message, printer, result):
                    break
    except BrokenPipeError:
        if stop_on_interrupt and not stop_sent:
            stop_session(api, session_id)
        # nothing more reaches the closed pipe (not even Python's flush at exit)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return result


def stop_session(api: Client, session_id: str) -> None:
    with contextlib.suppress(Exception):
        api.post(f"/v1/sessions/{session_id}/stop?wait=true")


def _handle(message: dict[str, Any], printer: Printer, result: FollowResult) -> bool:
    kind = message.get("type")
    if kind == COLUMNS_FORMAT:
        message, kind = {"type": "events", "events": column_events(message)}, "events"
    if kind == "events":
        result.events += len(message["events"])
    elif kind == "lost":
        source = str(message.get("source"))
        result.lost[source] = result.lost.get(source, 0) + int(message.get("count") or 0)
    elif kind == "maps":
        result.last_maps = message
    printer(message)
    return kind == "end"


def summary(api: Client, session_id: str, result: FollowResult) -> None:
    session = api.get(f"/v1/sessions/{session_id}")
    lost = {k: v for k, v in session["counters"]["lost"].items() if v}
    status = session.get("exit_status")
    line = (
        f"session {session_id} {session['state']}: {session['counters']['stored']} events"
        f" stored, lost {lost or 0}"
    )
    if session.get("reason"):
        line += f" ({session['reason']})"
    if status:
        code = status["signal"] if status.get("signal") else status.get("code")
        line += f"; command exit {code}"
    sys.stderr.write(line + "\n")
