"""The report store: SQLite, and PostgreSQL too when TRACERD_TEST_PG_URL names a database
the tests may empty (e.g. postgresql+psycopg://postgres@/tracerd?host=/tmp/pg)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .store import Store

PG_URL = os.environ.get("TRACERD_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set TRACERD_TEST_PG_URL to run against PostgreSQL")
    s = Store(tmp_path, PG_URL if request.param == "postgresql" else None)
    try:
        yield s
    finally:
        s.close()
