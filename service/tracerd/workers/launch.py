"""Starting a worker process and talking to it from the daemon's event loop.

A worker is `python -m tracerd.workers.main FD DAEMON_PID` with one end of a socketpair.
It is spawned from the event loop's thread (its PDEATHSIG follows the thread that forked
it). The daemon notices its death by EOF on the socket and by its pidfd becoming readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..engines.launch import process_start_time
from ..errors import WorkerFailed, error_from_wire
from . import wire

log = logging.getLogger(__name__)

WORKER_KILL_GRACE_S = 5.0
PROGRESS_POLL_S = 0.5

FrameHandler = Callable[[wire.Frame], Awaitable[None]]


class WorkerProcess:
    """One worker: the process, its socket, requests with replies, frames to a handler."""

    def __init__(self, on_frame: FrameHandler, env: dict[str, str] | None = None) -> None:
        self._on_frame = on_frame
        self._env = env
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[wire.Frame]] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.start_time: int | None = None
        self.exit_status: int | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.exited = asyncio.Event()
        self.last_frame_at = time.monotonic()
        self._eof_reason: str | None = None

    async def spawn(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - fork+exec only, no wait
                [
                    sys.executable,
                    "-m",
                    "tracerd.workers.main",
                    str(child.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self._env,
            )
        finally:
            child.close()
        self.pid = self.proc.pid
        self.start_time = process_start_time(self.pid)
        reader, self._writer = await asyncio.open_unix_connection(sock=parent)
        self._reader_task = asyncio.create_task(self._read_loop(reader), name=f"worker-{self.pid}")

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                frame = await wire.read_frame(reader)
                if frame is None:
                    break
                self.last_frame_at = time.monotonic()
                if frame["t"] == "reply":
                    fut = self._pending.pop(int(frame["id"]), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                else:
                    await self._on_frame(frame)
        except (wire.WireError, ConnectionError) as exc:
            self._eof_reason = f"broken wire: {exc}"
        except Exception as exc:
            log.exception("worker %d: frame handling failed", self.pid)
            self._eof_reason = f"daemon-side error while handling the worker's frames: {exc}"
            self.kill()  # it waits for an answer that will not come: it must not linger
        await self._reap()

    async def _reap(self) -> None:
        proc = self.proc
        if proc is not None:
            for _ in range(100):
                code = proc.poll()
                if code is not None:
                    self.exit_status = code
                    break
                await asyncio.sleep(0.05)
        reason = self.describe_exit()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(WorkerFailed(reason))
        self._pending.clear()
        self.exited.set()

    def describe_exit(self) -> str:
        if self._eof_reason:
            return self._eof_reason
        code = self.exit_status
        if code is None:
            return "worker closed its connection"
        if code < 0:
            return f"worker {self.pid} killed by {signal.Signals(-code).name}"
        return f"worker {self.pid} exited with status {code}"

    async def send(self, frame: wire.Frame) -> None:
        if self._writer is None or self._writer.is_closing():
            raise WorkerFailed("worker connection closed")
        self._writer.write(wire.pack(frame))
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    async def call(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        progress: Callable[[], float] | None = None,
    ) -> Any:
        """Run an operation in the worker; raises its error (same code) on failure.

        With `progress` (a monotonic time of the last sign of work), `timeout_s` is an
        idle timeout: the call may last as long as the worker keeps making progress."""
        if self.exited.is_set():
            raise WorkerFailed(self.describe_exit())
        req = next(self._ids)
        fut: asyncio.Future[wire.Frame] = asyncio.get_running_loop().create_future()
        self._pending[req] = fut
        await self.send({"t": "cmd", "id": req, "op": op, "args": args or {}})
        if progress is None or timeout_s is None:
            reply = await asyncio.wait_for(fut, timeout_s)
        else:
            reply = await self._wait_with_progress(fut, timeout_s, progress)
        if not reply.get("ok"):
            raise error_from_wire(reply.get("error") or {})
        return reply.get("result")

    async def _wait_with_progress(
        self, fut: asyncio.Future[wire.Frame], idle_s: float, progress: Callable[[], float]
    ) -> wire.Frame:
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(fut), PROGRESS_POLL_S)
            except TimeoutError:
                last = max(self.last_frame_at, progress())
                if time.monotonic() - last > idle_s:
                    fut.cancel()
                    raise

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    async def close(self, grace_s: float = WORKER_KILL_GRACE_S) -> None:
        """Close the wire (the worker stops itself at EOF), kill it after the grace period."""
        if self._writer is not None:
            self._writer.close()
        try:
            await asyncio.wait_for(self.exited.wait(), grace_s)
        except TimeoutError:
            log.warning("worker %d did not exit; killing it", self.pid)
            self.kill()
            await self.exited.wait()
