"""Live streams of a real daemon: every seq accounted for per subscriber (slow ones too),
bounded daemon memory with stuck and many subscribers, caps, revoked tokens."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, unix_connect

from tracerd.app import create_app
from tracerd.stream.hub import MERGE_BYTES
from tracerd.types import LOST_EVENT_NAME

from ..streams import Seen
from .conftest import DaemonProcess, InProcess, settings_for, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

QUEUE_KIB = 512
DD_EVENTS = ["syscalls:sys_enter_read", "syscalls:sys_enter_write"]
MIB = 1024 * 1024


RECORD_MAX_BYTES = 64
"""a sys_enter_read/write record in the ring: 40 bytes, its header and a time extend"""


def dd_spec(count: int, whole_flood_in_ring: bool = False) -> dict[str, Any]:
    """A launched `dd` making 2 x `count` traced syscalls (the daemon holds it back while
    its writer is behind, but a starved reader can let the kernel's ring overflow: with
    `whole_flood_in_ring`, each CPU's ring holds all of them, so none can be lost)."""
    spec: dict[str, Any] = {
        "events": DD_EVENTS,
        "command": ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"],
    }
    if whole_flood_in_ring:
        spec["buffer_size_kb"] = 2 * count * RECORD_MAX_BYTES // 1024 + 1024
    return spec


@dataclass
class Reader:
    """One WebSocket subscriber in its own thread; `delay_s` between messages (slow), or
    `stuck` until `release` is set (reads nothing meanwhile)."""

    ws: ClientConnection
    delay_s: float = 0.0
    release: threading.Event | None = None
    seen: Seen = field(default_factory=Seen)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Reader:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            if self.release is not None:
                self.release.wait(300)
            while self.seen.add(self.ws.recv(timeout=300)) != "end":
                if self.delay_s:
                    time.sleep(self.delay_s)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.ws.close()

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(300)
        assert not self.thread.is_alive()
        assert self.error is None, repr(self.error)


def connect(
    stack: contextlib.ExitStack, daemon: DaemonProcess, sid: str, query: str = ""
) -> ClientConnection:
    url = f"ws://tracerd/v1/sessions/{sid}/stream{query}"
    ws = stack.enter_context(unix_connect(daemon.socket, url, max_size=None))
    assert orjson.loads(ws.recv(timeout=30))["type"] == "state"
    return ws


def stored(daemon: DaemonProcess, sid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    with daemon.unix() as api:
        while True:
            params: dict[str, Any] = {"limit": 10000, **({"cursor": cursor} if cursor else {})}
            page = api.get(f"/v1/sessions/{sid}/events", params=params).json()
            out += page["events"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out


def assert_every_seq(seen: Seen, every: list[dict[str, Any]]) -> None:
    """Delivered events + seqs covered by `lost` = every stored seq, nothing twice; each
    subscriber `lost` counts exactly the events (not loss records) in its range."""
    kinds = {e["seq"]: e["name"] for e in every}
    assert len(seen.events) == len(set(seen.events))
    assert set(seen.events).isdisjoint(seen.covered)
    assert set(seen.events) | set(seen.covered) == set(kinds)
    for msg in seen.lost:
        if msg["source"] == "subscriber":
            span = range(msg["seq"], msg["last_seq"] + 1)
            assert msg["count"] == sum(1 for s in span if kinds[s] != LOST_EVENT_NAME), msg
    assert seen.types[-1] == "end"


def session(daemon: DaemonProcess, spec: dict[str, Any]) -> str:
    with daemon.unix() as api:
        resp = api.post("/v1/sessions", json={"kind": "tracefs", "spec": spec, "start": False})
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])


def run(daemon: DaemonProcess, sid: str) -> dict[str, Any]:
    with daemon.unix() as api:
        assert api.post(f"/v1/sessions/{sid}/start").status_code == 200

        def final() -> dict[str, Any] | None:
            view = dict(api.get(f"/v1/sessions/{sid}").json())
            return view if view["state"] in ("stopped", "failed") else None

        view: dict[str, Any] = wait_for(final, timeout_s=300, interval_s=0.2)
        assert view["state"] == "stopped", view
        return view


@pytest.fixture
def small_queues(daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch) -> DaemonProcess:
    monkeypatch.setenv("TRACERD_STREAM_QUEUE_KIB", str(QUEUE_KIB))
    daemon_process.start()
    return daemon_process


def test_slow_subscribers_get_every_seq_as_events_or_lost(small_queues: DaemonProcess) -> None:
    daemon = small_queues
    sid = session(daemon, dd_spec(60_000, whole_flood_in_ring=True))
    stuck = threading.Event()
    with contextlib.ExitStack() as stack:
        readers = [
            Reader(connect(stack, daemon, sid)),  # keeps up
            Reader(connect(stack, daemon, sid), delay_s=0.02),  # slow
            Reader(connect(stack, daemon, sid), delay_s=0.2),  # slower
            Reader(connect(stack, daemon, sid), release=stuck),  # reads nothing until the end
            Reader(connect(stack, daemon, sid, "?name=syscalls:sys_enter_write"), delay_s=0.05),
            Reader(connect(stack, daemon, sid, "?format=columns")),  # the opt-in format
            Reader(connect(stack, daemon, sid, "?format=columns"), delay_s=0.05),
        ]
        for reader in readers:
            reader.start()
        view = run(daemon, sid)
        stuck.set()
        for reader in readers:
            reader.join()
        replayed = Reader(connect(stack, daemon, sid, "?from_seq=0&format=columns")).start()
        replayed.join()
    every = stored(daemon, sid)
    # every read and write of dd's (and its 3 writes of statistics); 51,654 rows were seen
    # once when a starved reader let a 4 MiB ring overflow (loss records hold the rest)
    assert view["counters"]["lost"].get("kernel", 0) == 0, view["counters"]
    assert len([e for e in every if e["name"] != LOST_EVENT_NAME]) >= 120_000
    for reader in [*readers[:4], *readers[5:], replayed]:
        assert_every_seq(reader.seen, every)
    assert "columns" in readers[5].seen.types
    assert not replayed.seen.lost or all(m["source"] != "subscriber" for m in replayed.seen.lost)
    writes = {e["seq"] for e in every if e["name"] == "syscalls:sys_enter_write"}
    named = readers[4]
    assert set(named.seen.events) <= writes
    assert set(named.seen.events) | (set(named.seen.covered) & writes) == writes
    # the stuck subscriber lost most of the flood, announced: it holds at most its queue
    # (512 KiB), what the client library buffers (16 messages of up to 256 KiB) and the
    # socket buffers, about 5.5 MiB or 35,000 events of 160+ bytes; the session's counters
    # are the recording's, whoever watched
    assert sum(m["count"] for m in readers[3].seen.lost if m["source"] == "subscriber") > 50_000
    assert view["counters"]["lost"].get("subscriber", 0) == 0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """The daemon's peak RSS while the block runs (sampled, not timed)."""
    peak = [rss_bytes(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            with contextlib.suppress(OSError):
                peak[0] = max(peak[0], rss_bytes(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize(("stuck", "reading"), [(3, 0), (10, 40)], ids=["stuck", "fifty"])
def test_subscribers_cost_no_more_than_their_bounded_queues(
    small_queues: DaemonProcess, stuck: int, reading: int
) -> None:
    daemon = small_queues
    assert daemon.proc is not None
    pid = daemon.proc.pid
    # the same flood without subscribers first: the daemon's own peak (writer, ingest)
    with peak_rss(pid) as alone:
        run(daemon, session(daemon, dd_spec(150_000)))
    sid = session(daemon, dd_spec(150_000))
    release = threading.Event()
    with contextlib.ExitStack() as stack:
        readers = [Reader(connect(stack, daemon, sid), release=release) for _ in range(stuck)]
        readers += [Reader(connect(stack, daemon, sid), delay_s=0.01) for _ in range(reading)]
        for reader in readers:
            reader.start()
        with peak_rss(pid) as watched:
            run(daemon, sid)
        release.set()
        for reader in readers:
            reader.join()
    # each subscriber may hold its queue plus one message in flight (which the send path
    # copies up to 4 times: str, UTF-8, frame, transport buffer); 64 MiB for the rest
    bound = len(readers) * (QUEUE_KIB * 1024 + 4 * MERGE_BYTES) + 64 * MIB
    assert watched[0] - alone[0] <= bound, (watched[0] / MIB, alone[0] / MIB)
    every = stored(daemon, sid)
    for reader in readers[:stuck]:
        assert_every_seq(reader.seen, every)
        assert any(m["source"] == "subscriber" for m in reader.seen.lost)


def test_subscriber_caps_close_with_4429(short_tmp: Path) -> None:
    settings = settings_for(short_tmp, stream_max_per_session=2, stream_max_per_token=3)
    with TestClient(create_app(settings)) as client:
        admin = settings.admin_token_path.read_text().strip()
        headers = {"Authorization": f"Bearer {admin}"}
        spec = {"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"]}}
        sids = [
            client.post("/v1/sessions", json={**spec, "start": False}, headers=headers).json()["id"]
            for _ in range(2)
        ]
        with contextlib.ExitStack() as stack:
            for _ in range(2):
                ws = stack.enter_context(
                    client.websocket_connect(f"/v1/sessions/{sids[0]}/stream", headers=headers)
                )
                assert ws.receive_json()["type"] == "state"
            with client.websocket_connect(f"/v1/sessions/{sids[0]}/stream", headers=headers) as ws:
                with pytest.raises(WebSocketDisconnect) as exc:
                    ws.receive_json()
                assert exc.value.code == 4429
                assert "2 streams" in exc.value.reason
            ws = stack.enter_context(
                client.websocket_connect(f"/v1/sessions/{sids[1]}/stream", headers=headers)
            )
            assert ws.receive_json()["type"] == "state"
            with client.websocket_connect(
                f"/v1/sessions/{sids[1]}/stream", headers=headers
            ) as ws:  # the token's 4th
                with pytest.raises(WebSocketDisconnect) as exc:
                    ws.receive_json()
                assert exc.value.code == 4429
        # closed streams free their places
        with client.websocket_connect(f"/v1/sessions/{sids[0]}/stream", headers=headers) as ws:
            assert ws.receive_json()["type"] == "state"


def close_code(ws: Any) -> int:
    """Read a TestClient WebSocket until it is closed: the close code."""
    try:
        while True:
            ws.receive_json()
    except WebSocketDisconnect as exc:
        return int(exc.code)


def test_a_revoked_token_closes_its_open_stream_with_4401(daemon: InProcess) -> None:
    viewer = daemon.token("viewer")
    tokens = daemon.call("GET", "/v1/tokens").json()["tokens"]
    viewer_id = next(t["id"] for t in tokens if t["name"] == "test-viewer")
    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}).json()
    path = f"/v1/sessions/{session['id']}/stream"
    with (
        daemon.client.websocket_connect(path, headers=daemon.headers(viewer)) as mine,
        daemon.client.websocket_connect(path, headers=daemon.headers()) as admins,
    ):
        assert mine.receive_json()["type"] == "state"
        assert admins.receive_json()["type"] == "state"
        assert daemon.call("DELETE", f"/v1/tokens/{viewer_id}").status_code == 204
        assert close_code(mine) == 4401
        daemon.call("POST", f"/v1/sessions/{session['id']}/stop")
        while admins.receive_json()["type"] != "end":
            pass
    with daemon.client.websocket_connect(path, headers=daemon.headers(viewer)) as ws:
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4401


def test_an_unknown_format_closes_with_4400(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}).json()
    path = f"/v1/sessions/{session['id']}/stream?format=xml"
    with daemon.client.websocket_connect(path, headers=daemon.headers()) as ws:
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4400
    assert not daemon.client.app.state.services.hub.subscribers()


def test_an_unmatched_websocket_path_closes_with_4404(daemon: InProcess) -> None:
    for path in ("/v1/nothing", "/v1/sessions/1/streams", "/"):
        with daemon.client.websocket_connect(path, headers=daemon.headers()) as ws:
            with pytest.raises(WebSocketDisconnect) as exc:
                ws.receive_json()
            assert exc.value.code == 4404
    with daemon.client.websocket_connect("/v1/nothing") as ws:
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4401


def test_a_closed_client_leaves_no_subscriber(small_queues: DaemonProcess) -> None:
    daemon = small_queues
    sid = session(daemon, dd_spec(1000))
    with contextlib.ExitStack() as stack:
        ws = connect(stack, daemon, sid)
    with contextlib.suppress(ConnectionClosed):
        ws.recv(timeout=1)

    def subscribers() -> float | None:
        with daemon.unix() as api:
            text = api.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith("tracerd_stream_subscribers "))
        return float(line.split()[1]) == 0 or None

    wait_for(subscribers, timeout_s=30)
    run(daemon, sid)
