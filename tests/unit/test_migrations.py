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

    from ..pg import postgres_url
    from .reports.store import reset_schema

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
