"""The worker process: runs one session's engine and talks to the daemon over the wire.

`python -m tracerd.workers.main FD DAEMON_PID`. The worker sets PR_SET_PDEATHSIG and also
treats EOF on its socket as the daemon's death: either way it stops its engine (which
releases the kernel resources) and exits. Commands run one at a time on the main thread;
a receiver thread reads the socket. SIGINT is ignored (a Ctrl-C in the daemon's terminal
is the daemon's business); SIGTERM means "stop and exit".
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import importlib
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..engines.base import Engine, EngineContext, EngineHandle, Limits
from ..errors import TracerdError, WorkerFailed
from ..specs import load_spec
from ..types import WireEvent
from . import wire

log = logging.getLogger("tracerd.worker")

PR_SET_PDEATHSIG = 1
LEDGER_TIMEOUT_S = 30.0
ENGINES = {
    "tracefs": "tracerd.engines.tracefs.engine:TracefsEngine",
    "ptrace": "tracerd.engines.ptrace.engine:PtraceEngine",
    "bpf": "tracerd.engines.bpf.engine:BpfEngine",
    "packet": "tracerd.engines.packet.engine:PacketEngine",
}


class DaemonGone(Exception):
    pass


class Connection:
    """The worker's end of the socketpair: thread-safe sends, a receiver thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self.commands: queue.SimpleQueue[wire.Frame | None] = queue.SimpleQueue()
        self._acks: dict[int, queue.SimpleQueue[wire.Frame | None]] = {}
        self._acks_lock = threading.Lock()
        self._next_id = 0
        self.closed = threading.Event()
        threading.Thread(target=self._receive, name="wire-recv", daemon=True).start()

    def send(self, frame: wire.Frame) -> None:
        data = wire.pack(frame)
        with self._send_lock:
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self.closed.set()
                raise DaemonGone(str(exc)) from exc

    def request(self, frame: wire.Frame, timeout_s: float = LEDGER_TIMEOUT_S) -> wire.Frame:
        box: queue.SimpleQueue[wire.Frame | None] = queue.SimpleQueue()
        with self._acks_lock:
            self._next_id += 1
            frame["id"] = self._next_id
            self._acks[self._next_id] = box
        self.send(frame)
        try:
            answer = box.get(timeout=timeout_s)
        except queue.Empty:
            answer = None
        if answer is None:
            raise DaemonGone("no answer from the daemon")
        return answer

    def _receive(self) -> None:
        try:
            while True:
                frame = wire.recv_frame(self.sock)
                if frame is None:
                    break
                if frame["t"] == "ledger_ack":
                    with self._acks_lock:
                        box = self._acks.pop(int(frame["id"]), None)
                    if box is not None:
                        box.put(frame)
                else:
                    self.commands.put(frame)
        except (OSError, wire.WireError):
            pass
        self.closed.set()
        with self._acks_lock:
            for box in self._acks.values():
                box.put(None)
            self._acks.clear()
        self.commands.put(None)


class WireLedger:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, type: str, name: str, data: Mapping[str, Any] | None = None) -> str:
        answer = self._conn.request(
            {"t": "ledger", "op": "record", "type": type, "name": name, "data": dict(data or {})}
        )
        return str(answer["key"])

    def cross_off(self, key: str) -> None:
        # if the daemon is gone, the next one reconciles: the resource is already gone
        with contextlib.suppress(DaemonGone):
            self._conn.request({"t": "ledger", "op": "cross_off", "key": key})


class WireSink:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.ended_event = threading.Event()

    def emit(self, events: Sequence[WireEvent]) -> None:
        if events:
            self._conn.send(wire.events_frame(events))

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        self._conn.send({"t": "maps", "ts_ns": ts_ns, "maps": dict(maps)})

    def lost_total(self, source: str, count: int) -> None:
        self._conn.send({"t": "lost_total", "source": source, "count": count})

    def info(self, values: Mapping[str, Any]) -> None:
        self._conn.send({"t": "info", "values": dict(values)})

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        if self.ended_event.is_set():
            return
        self.ended_event.set()
        status = dict(exit_status) if exit_status is not None else None
        with contextlib.suppress(DaemonGone):
            self._conn.send(
                {"t": "ended", "exit_status": status, "reason": reason, "failed": failed}
            )


def load_engine(kind: str, ctx: EngineContext) -> Engine[Any, Any]:
    """The engine of `kind` (its spec model is `specs.SPEC_BY_KIND[kind]`: the kind picks both)."""
    module_name, _, class_name = ENGINES[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    engine: Engine[Any, Any] = cls(ctx)
    return engine


def context_from_wire(data: Mapping[str, Any]) -> EngineContext:
    limits = Limits(**data.get("limits", {}))
    return EngineContext(
        session_id=int(data["session_id"]),
        daemon_id=str(data["daemon_id"]),
        daemon_pid=int(data["daemon_pid"]),
        exclude_pids=tuple(data["exclude_pids"]),
        caps=data["caps"],
        state_dir=str(data["state_dir"]),
        spool_dir=str(data["spool_dir"]),
        limits=limits,
        exclude_procs=tuple((int(p), int(t)) for p, t in data.get("exclude_procs", ())),
    )


def handle_to_wire(handle: EngineHandle[Any]) -> dict[str, Any]:
    return {
        "clock": handle.clock,
        "wall_offset_ns": handle.wall_offset_ns,
        "info": handle.info,
        "resources": handle.resources,
    }


class Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sink = WireSink(conn)
        self.ledger = WireLedger(conn)
        self.engine: Engine[Any, Any] | None = None
        self.handle: EngineHandle[Any] | None = None
        self.stopped = False

    def run(self) -> None:
        while True:
            frame = self.conn.commands.get()
            if frame is None:  # EOF or SIGTERM: the daemon is gone
                self.stop()
                return
            if self._dispatch(frame):
                return

    def _dispatch(self, frame: wire.Frame) -> bool:
        op, args = frame.get("op"), frame.get("args") or {}
        try:
            result = self._run_op(str(op), args)
            reply: wire.Frame = {"t": "reply", "id": frame["id"], "ok": True, "result": result}
        except TracerdError as exc:
            reply = {"t": "reply", "id": frame["id"], "ok": False, "error": exc.to_wire()}
        except Exception as exc:  # an engine bug must still get an answer to the daemon
            log.exception("worker operation %s failed", op)
            reply = {
                "t": "reply",
                "id": frame["id"],
                "ok": False,
                "error": WorkerFailed(f"{type(exc).__name__}: {exc}").to_wire(),
            }
        try:
            self.conn.send(reply)
        except DaemonGone:
            self.stop()
            return True
        return op == "stop" or (op == "prepare" and not reply["ok"])

    def _run_op(self, op: str, args: Mapping[str, Any]) -> Any:
        if op == "prepare":
            ctx = context_from_wire(args["ctx"])
            spec = load_spec(args["kind"], args["spec"])  # the spec's one way back from JSON
            self.engine = load_engine(args["kind"], ctx)
            self.handle = self.engine.prepare(spec, self.ledger)
            return handle_to_wire(self.handle)
        engine, handle = self._require()
        if op == "start":
            engine.start(handle, self.sink)
            return handle_to_wire(handle)
        if op == "stop":
            self.stop()
            return handle_to_wire(handle)
        if op == "marker":
            text = str(args["text"])
            if not engine.marker(handle, text):
                now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                self.sink.emit([WireEvent(now, None, None, None, None, "marker", {"text": text})])
            return None
        if op == "maps":
            return dict(engine.read_maps(handle))
        if op == "exclude":
            engine.exclude(handle, [int(p) for p in args["pids"]])
            return None
        raise WorkerFailed(f"unknown operation {op}")

    def _require(self) -> tuple[Engine[Any, Any], EngineHandle[Any]]:
        if self.engine is None or self.handle is None:
            raise WorkerFailed("the engine is not prepared")
        return self.engine, self.handle

    def stop(self) -> None:
        if self.stopped or self.engine is None or self.handle is None:
            return
        self.stopped = True
        try:
            self.engine.stop(self.handle)
        except Exception:
            log.exception("engine stop failed")


def _set_pdeathsig(daemon_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != daemon_pid:  # the daemon died before prctl
        raise SystemExit(0)


def main(argv: Sequence[str]) -> None:
    fd, daemon_pid = int(argv[1]), int(argv[2])
    logging.basicConfig(
        level=os.environ.get("TRACERD_WORKER_LOG", "WARNING"),
        format=f"%(asctime)s worker[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    faulthandler.enable()  # a hung or crashing worker dumps its threads (SIGABRT, SIGUSR1)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_pdeathsig(daemon_pid)
    os.set_inheritable(fd, False)  # never leak the wire into launched commands
    conn = Connection(socket.socket(fileno=fd))
    signal.signal(signal.SIGTERM, lambda *_: conn.commands.put(None))
    Worker(conn).run()
    conn.sock.close()
    sys.stdout.flush()
    os._exit(0)  # engine threads are daemons; don't wait on them


if __name__ == "__main__":
    main(sys.argv)
