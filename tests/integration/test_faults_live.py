"""Storage faults (issue 16's goal): every session kind reaches a final state within its
stop timeout while the state database is locked by another connection holding a write
transaction (SQLite, and PostgreSQL: TRACERD_TEST_PG_URL or a private server from the
installed binaries, tests/pg.py), and while the state dir's file system is full; a
session created while the disk is full is refused or can be stopped; nothing is left
running."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tracerd.app import AUDIT_BUDGET_S, create_app
from tracerd.config import Settings

from ..pg import postgres_url, reset_schema
from ..waits import WAIT_TIMEOUT_S
from .conftest import fill, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

STOP_TIMEOUT_S = 4.0
MARGIN_S = AUDIT_BUDGET_S + 2.0
"""the stop request's audit row (retried that long) and the answer's own latency on a
busy 2-vCPU machine"""
FINAL = ("stopped", "failed")
KINDS = {
    "tracefs": {"events": ["sched:sched_process_exec"], "command": ["sleep", "30"]},
    "ptrace": {"command": ["sleep", "30"]},
    "bpf": {"tool": "execsnoop"},
    "packet": {"interface": "lo", "filter": "udp port 9"},  # passive: sends nothing
}


class Daemon:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        token = settings.admin_token_path.read_text().strip()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.daemon_id = client.get("/v1/health").json()["daemon_id"]

    def call(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.headers, **kw)

    def create(self, kind: str, wait: bool = True) -> Any:
        """With `wait`, answered once the session runs: a stop sent while a session starts
        waits for its start (a BPF compile takes seconds, more under load), which the stop
        timings below must not include."""
        params = {"wait": "true"} if wait else None
        return self.call(
            "POST", "/v1/sessions", params=params, json={"kind": kind, "spec": KINDS[kind]}
        )

    def started(self, sid: str) -> None:
        """Until the session is past `starting`."""
        state = lambda: self.call("GET", f"/v1/sessions/{sid}").json()["state"]  # noqa: E731
        wait_for(lambda: state() != "starting", 120)

    def timed_stop(self, sid: str) -> tuple[dict[str, Any], float]:
        began = time.monotonic()
        resp = self.call("POST", f"/v1/sessions/{sid}/stop?wait=true")
        assert resp.status_code == 200, resp.text
        return resp.json(), time.monotonic() - began

    def left(self) -> dict[str, Any]:
        """What this daemon still holds: its tracefs instances, its children."""
        own = [n for n in instances() if n.startswith(f"tracerd_{self.daemon_id}_")]
        return {"instances": own, "children": children(os.getpid())}


def children(pid: int) -> list[tuple[int, str]]:
    """Direct children of `pid` that are not zombies: (pid, state)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    out.append((int(entry), fields[0]))
    return out


@contextlib.contextmanager
def running(state_dir: Path, socket: str, db_url: str | None = None) -> Iterator[Daemon]:
    settings = Settings(
        state_dir=state_dir,
        socket=socket,
        listen="127.0.0.1:0",
        stop_timeout_s=STOP_TIMEOUT_S,
        db_url=db_url,
    )
    with TestClient(create_app(settings)) as client:
        yield Daemon(client, settings)


def wait_gone(daemon: Daemon, timeout_s: float = WAIT_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while any((left := daemon.left()).values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@contextlib.contextmanager
def released_after(hold_s: float, release: Any) -> Iterator[None]:
    """`release()` after `hold_s` or when the block ends, whichever comes first."""
    done = threading.Event()

    def once() -> None:
        if not done.is_set():
            done.set()
            release()

    timer = threading.Timer(hold_s, once)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        once()


@contextlib.contextmanager
def sqlite_write_locked(db: Path, hold_s: float) -> Iterator[None]:
    """Another connection holds a write transaction on `db` for `hold_s` (or until the
    block ends, whichever comes first)."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        with released_after(hold_s, conn.rollback):
            yield
    finally:
        conn.close()


@contextlib.contextmanager
def pg_write_locked(url: str, hold_s: float) -> Iterator[None]:
    """PostgreSQL's equivalent of SQLite's BEGIN IMMEDIATE: another connection holds every
    table of the schema IN EXCLUSIVE MODE (reads go on, every write waits) for `hold_s`."""
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        assert "sessions" in tables, tables
        # the tables are locked one by one: a daemon transaction between two of them can
        # deadlock with this one (PostgreSQL then cancels one side); this side tries again
        for _ in range(20):
            try:
                conn.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
                break
            except psycopg.errors.DeadlockDetected:
                conn.rollback()
        else:
            raise AssertionError("the tables could not be locked")
        with released_after(hold_s, conn.rollback):
            yield
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str | None]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None: SQLite in the state dir; else an emptied PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    url: str | None = request.getfixturevalue("pg_server")
    if url is None:
        pytest.skip("no PostgreSQL: set TRACERD_TEST_PG_URL or install postgresql")
    reset_schema(url)
    return url


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("hold_s", [STOP_TIMEOUT_S / 2, STOP_TIMEOUT_S * 3])
def test_a_locked_database_does_not_hold_a_stop_past_its_timeout(
    short_tmp: Path, kind: str, hold_s: float, backend: str | None
) -> None:
    with running(short_tmp / "state", str(short_tmp / "s.sock"), backend) as daemon:
        created = daemon.create(kind)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        if backend is None:
            locked = sqlite_write_locked(daemon.settings.state_dir / "tracerd.db", hold_s)
        else:
            locked = pg_write_locked(backend, hold_s)
        with locked:
            stopped, took = daemon.timed_stop(sid)
            assert stopped["state"] in FINAL, stopped
            assert took < STOP_TIMEOUT_S + MARGIN_S, took
            assert daemon.client.get("/v1/health").status_code == 200
        assert wait_gone(daemon) == {"instances": [], "children": []}
        stored = daemon.call("GET", f"/v1/sessions/{sid}").json()
        assert stored["state"] in FINAL


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_full_disk_does_not_hold_a_stop_past_its_timeout(
    small_disk: Path, short_tmp: Path, kind: str
) -> None:
    with running(small_disk / "state", str(short_tmp / "s.sock")) as daemon:
        before = daemon.create(kind)
        assert before.status_code == 201, before.text
        filler = fill(small_disk)
        try:
            during = daemon.create(kind, wait=False)  # refused, or created and stoppable
            assert during.status_code in (201, 503), during.text
            if during.status_code == 503:
                assert during.json()["error"]["code"] == "storage_unavailable"
                assert "full" in during.json()["error"]["message"]
            subprocess.run(["sh", "-c", "for i in $(seq 50); do /bin/true; done"], check=True)
            for resp in (before, during):
                if resp.status_code == 201:
                    daemon.started(resp.json()["id"])
                    stopped, took = daemon.timed_stop(resp.json()["id"])
                    assert stopped["state"] in FINAL, stopped
                    assert took < STOP_TIMEOUT_S + MARGIN_S, took
                    if stopped["counters"]["lost"]["storage"]:
                        assert "is full" in stopped["reason"], stopped
            assert daemon.client.get("/v1/health").status_code == 200
        finally:
            filler.unlink()
        assert wait_gone(daemon) == {"instances": [], "children": []}
        listed = daemon.call("GET", "/v1/sessions").json()["sessions"]
        assert {s["state"] for s in listed} <= set(FINAL), listed
