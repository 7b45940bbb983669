"""The report store: SQLite, and PostgreSQL too: TRACERD_TEST_PG_URL names a database the
tests may empty (e.g. postgresql+psycopg://postgres@/tracerd?host=/tmp/pg), else a private
server is started from the installed PostgreSQL binaries (tests/pg.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ...pg import postgres_url
from .store import Store


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        if url is None:
            pytest.skip("no PostgreSQL: set TRACERD_TEST_PG_URL or install postgresql")
    s = Store(tmp_path, url)
    try:
        yield s
    finally:
        s.close()
