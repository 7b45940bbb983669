"""The multi-row insert (storage/bulk.py) stores exactly the rows a row-at-a-time insert
would: every batch size (full statements, then the rest in powers of two), batches with
and without result columns, and a connection limit that makes odd statement sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tracerd.storage import db as storage_db
from tracerd.storage.bulk import MultiRowInsert

COLUMNS = "session_id, seq, ts_ns, cpu, pid, tid, comm_id, name_id, dur_ns, ret, errno, fields"


def _rows(n: int, results: bool) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(n):
        ret = (-2 if i % 3 else 7) if results else None
        err = ("ENOENT" if i % 3 else None) if results else None
        dur = (i * 11 if i % 5 else None) if results else None
        pid = None if i % 17 == 0 else 40 + i % 4
        rows.append((1000 + i * 3, i % 2, pid, pid, 1 + i % 3, 3, dur, ret, err, f'{{"i":{i}}}'))
    return rows


@pytest.mark.parametrize("max_variables", [32766, 999, 25])
@pytest.mark.parametrize("sizes", [[1], [256], [257, 600], [1000, 3, 255]])
def test_multi_row_statements_store_each_row_as_given(
    tmp_path: Path, sizes: list[int], max_variables: int
) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    storage_db.upgrade(url)
    engine = storage_db.make_engine(url)
    bulk = MultiRowInsert("events", max_variables)
    expected: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # as the writer's connection
        seq = 5
        for i, n in enumerate(sizes):
            rows = _rows(n, results=i % 2 == 1)
            bulk.insert(conn, 9, seq, list(zip(*rows, strict=True)))
            expected += [(9, seq + j, *row) for j, row in enumerate(rows)]
            seq += n
        conn.commit()
        stored = conn.execute(text(f"SELECT {COLUMNS} FROM events ORDER BY seq")).all()
    engine.dispose()
    assert [tuple(r) for r in stored] == expected
    assert bulk.rows_per_statement == min(256, (max_variables - 2) // 10)
