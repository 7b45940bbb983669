"""A lock another connection holds costs a bounded wait, then an OperationalError the API
answers as 503 "locked" (never a wedged thread): SQLite's busy timeout, PostgreSQL's
`lock_timeout` (TRACERD_TEST_PG_URL, or a private server from the installed binaries);
threads that retry on their own (short_busy_timeout) wait SHORT_BUSY_TIMEOUT_MS, others
BUSY_TIMEOUT_MS, on the same pooled connection."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from tracerd.api.errors import storage_unavailable
from tracerd.storage import db

from ...pg import postgres_url, reset_schema


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str | None]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path / 'state' / 'tracerd.db'}"
    else:
        found = request.getfixturevalue("pg_server")
        if found is None:
            pytest.skip("no PostgreSQL: set TRACERD_TEST_PG_URL or install postgresql")
        reset_schema(found)
    db.upgrade(found)
    return found


class Locker:
    """Another connection holding the write lock of the sessions table (SQLite: of the
    whole database) until `release()`."""

    def __init__(self, url: str) -> None:
        path = db.sqlite_path(url)
        if path is not None:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
            pg.execute("LOCK TABLE sessions IN EXCLUSIVE MODE")  # reads go on
            self.conn = pg  # type: ignore[assignment]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def blocked_write(engine: Engine) -> tuple[float, OperationalError]:
    """How long a write waited before it failed, and its error (reads go on meanwhile)."""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 0
    began = time.monotonic()
    with pytest.raises(OperationalError) as info:
        _delete_sessions(engine)
    return time.monotonic() - began, info.value


def _delete_sessions(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions"))


def ready_engine(url: str) -> Engine:
    """The daemon's engine, connected once (SQLite: WAL set, as at the daemon's start)."""
    engine = db.make_engine(url)
    with engine.connect():
        pass
    return engine


def test_a_held_lock_fails_a_write_after_the_threads_wait(url: str) -> None:
    engine = ready_engine(url)
    locker = Locker(url)
    # each write on a thread of its own: without a bound it would wait forever (the
    # result's timeout fails the test instead, and the lock's release ends the thread)
    control = ThreadPoolExecutor(1, initializer=db.short_busy_timeout)
    other = ThreadPoolExecutor(1)
    try:
        took, exc = control.submit(blocked_write, engine).result(60)
        # the wait is the bound, not a timing: at least the timeout, and far from the
        # default (another thread's, on the same pooled connection)
        assert db.SHORT_BUSY_TIMEOUT_MS / 1000 <= took < db.BUSY_TIMEOUT_MS / 1000, took
        assert storage_unavailable(exc).message.startswith("the state database is locked")
        took, exc = other.submit(blocked_write, engine).result(60)
        assert took >= db.BUSY_TIMEOUT_MS / 1000, took
        assert storage_unavailable(exc).message.startswith("the state database is locked")
    finally:
        locker.release()
        control.shutdown()
        other.shutdown()
        engine.dispose()


def test_the_write_goes_through_once_the_lock_is_released(url: str) -> None:
    engine = ready_engine(url)
    locker = Locker(url)
    released = threading.Timer(0.5, locker.release)
    released.start()
    try:
        _delete_sessions(engine)  # waits (up to BUSY_TIMEOUT_MS) for the release
    finally:
        released.join()
        engine.dispose()
