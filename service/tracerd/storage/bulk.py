"""SQLite's bulk insert of event rows: many rows per INSERT statement, few parameters a row.

Why: a Python `executemany` of 12-column rows costs ~3 µs a row here, most of it binding
parameters one by one and stepping one statement per row. One `INSERT ... VALUES (...),
(...), ...` of ROWS_PER_STATEMENT rows steps once per chunk; `session_id` is bound once per
statement (`?1`) and `seq` is `?2 + j` (consecutive in a batch), and a batch with no
`dur_ns`/`ret`/`errno` writes them as NULL literals: 8 parameters a row instead of 12.
Measured (bench/store_rate.py): about twice the rows per CPU-second of the bare
executemany.

Statements are built once per (rows, with results) shape: full chunks, then the rest in
powers of two, so a handful of statements stay prepared in the connection's cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

ROWS_PER_STATEMENT = 256
PLAIN_COLUMNS = 7
"""ts_ns, cpu, pid, tid, comm_id, name_id, fields"""
RESULT_COLUMNS = 10
"""ts_ns, cpu, pid, tid, comm_id, name_id, dur_ns, ret, errno, fields"""
DEFAULT_MAX_VARIABLES = 999
"""SQLite's limit before 3.32 (the connection's own limit is used when it tells it)"""


def _row_sql(j: int, base: int, results: bool) -> str:
    marks = [f"?{base + k}" for k in range(RESULT_COLUMNS if results else PLAIN_COLUMNS)]
    if not results:
        marks[6:6] = ["NULL", "NULL", "NULL"]
    return f"(?1,?2+{j},{','.join(marks)})"


class MultiRowInsert:
    """Inserts one batch's rows into `events` (columns in table order, session_id and seq
    first) with multi-row statements."""

    def __init__(self, table: str, max_variables: int = DEFAULT_MAX_VARIABLES) -> None:
        self._table = table
        self.rows_per_statement = max(1, min(ROWS_PER_STATEMENT, (max_variables - 2) // 10))
        self._sql: dict[tuple[int, bool], str] = {}

    def statement(self, rows: int, results: bool) -> str:
        key = (rows, results)
        sql = self._sql.get(key)
        if sql is None:
            width = RESULT_COLUMNS if results else PLAIN_COLUMNS
            values = ",".join(_row_sql(j, 3 + j * width, results) for j in range(rows))
            sql = self._sql[key] = f"INSERT INTO {self._table} VALUES {values}"
        return sql

    def insert(
        self,
        conn: Connection,
        session_id: int,
        first_seq: int,
        columns: Sequence[Sequence[Any]],
    ) -> None:
        """`columns`: ts_ns, cpu, pid, tid, comm_id, name_id, dur_ns, ret, errno, fields (all
        of one length)."""
        n = len(columns[0])
        results = any(col.count(None) != n for col in columns[6:9])
        cols = columns if results else (*columns[:6], columns[9])
        flat = list(chain.from_iterable(zip(*cols, strict=True)))
        width = len(cols)
        k = self.rows_per_statement
        full = n // k
        if full:
            step = k * width
            params = [
                (session_id, first_seq + i * k, *flat[i * step : (i + 1) * step])
                for i in range(full)
            ]
            conn.exec_driver_sql(self.statement(k, results), params)
        done = full * k
        size = k
        while done < n:
            while size > n - done:
                size //= 2
            chunk = flat[done * width : (done + size) * width]
            conn.exec_driver_sql(
                self.statement(size, results), (session_id, first_seq + done, *chunk)
            )
            done += size
