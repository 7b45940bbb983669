"""Migrations from an empty database give exactly the models' schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from tracerd.storage import db
from tracerd.storage.tables import Base


def test_upgrade_from_empty_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    db.upgrade(url)  # idempotent
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    raw = sqlite3.connect(tmp_path / "m.db")
    assert raw.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # INCREMENTAL


def test_daemon_connections_use_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_on_postgresql_matches_the_models() -> None:
    import pytest

    from ..pg import postgres_url, reset_schema

    with postgres_url() as url:
        if url is None:
            pytest.skip("no PostgreSQL: set TRACERD_TEST_PG_URL or install postgresql")
        reset_schema(url)
        db.upgrade(url)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        finally:
            engine.dispose()
        reset_schema(url)
    assert diff == []


def test_upgrade_brings_0002_events_forward(tmp_path: Path) -> None:
    """A database of schema 0002 (names as text, three indexes) keeps its events, names
    and time ranges after the upgrade to compact events (0003)."""
    from alembic import command
    from sqlalchemy import text

    from tracerd.storage.queries import EventFilter, events_page

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(db.alembic_config(url), "0002")
    engine = create_engine(url)
    names = ["sched:sched_switch", "lost", "raw_syscalls:sys_enter", "maps"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sessions (id, kind, state, spec, created_at, clock, wall_offset_ns,"
                " counters, resources, info, daemon_id, host_id, stored_bytes) VALUES (7, "
                "'tracefs', 'stopped', '{}', '2026-01-01', 'mono', 0, '{}', '[]', '{}', 'd', "
                "'h', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events (session_id, seq, ts_ns, cpu, pid, tid, comm, name, "
                "fields) VALUES (7, :seq, :ts, 0, 10, 10, 'c', :name, :fields)"
            ),
            [
                {"seq": i, "ts": 1000 + 10 * i, "name": names[i % 4], "fields": f'{{"i":{i}}}'}
                for i in range(20_000)
            ],
        )
    engine.dispose()
    db.upgrade(url)
    sessions = db.make_sessionmaker(db.make_engine(url))
    with sessions() as s:
        page = events_page(s, 7, EventFilter(), None, 5)
        assert [(e["seq"], e["name"], e["fields"]) for e in page] == [
            (i, names[i % 4], {"i": i}) for i in range(5)
        ]
        lost = events_page(s, 7, EventFilter(names=("lost",)), None, 3)
        assert [e["seq"] for e in lost] == [1, 5, 9]
        timed = events_page(s, 7, EventFilter(since_ns=1000 + 10 * 15_000), None, 2)
        assert [e["seq"] for e in timed] == [15_000, 15_001]
        blocks = s.execute(text("SELECT count(*) FROM event_blocks")).scalar()
        assert blocks == 3  # 20,000 events, 8192 a block
