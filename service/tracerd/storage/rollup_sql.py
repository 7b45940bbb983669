"""The rollup tables' upserts (INSERT ... ON CONFLICT DO UPDATE, SQLite and PostgreSQL),
compiled once per dialect and run with rows as tuples: SQLAlchemy's per-row parameter
handling would cost more than SQLite's own work here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect, Table, func, literal_column

from .tables import RollupLatencyRow, RollupSchedRow, RollupSessionRow, RollupTaskRow, RollupTimeRow

NO_PID = -1


class Aggregates(Protocol):
    """One session's aggregates of a transaction (rollups._State)."""

    new: bool
    time: dict[int, dict[str, int]]
    tasks: dict[tuple[str, int, int | None, str | None], list[int]]
    latency: dict[tuple[str, int, int], int]
    sched: dict[int, list[Any]]


ROLLUP_TABLES: tuple[Table, ...] = tuple(
    row.__table__  # type: ignore[misc]
    for row in (RollupTimeRow, RollupTaskRow, RollupLatencyRow, RollupSchedRow)
)
TASK_SUMS = ("count", "errors", "calls", "call_ns", "dur_count", "dur_ns")
SCHED_SUMS = ("oncpu_ns", "switches", "preempted", "wait_ns", "waits")

# The aggregate rows (lists of counters, updated in place for each event) in their table's
# column order after the key, as the upserts insert them (`*v`):
# rollup_tasks' values per (name, nr, pid, comm) ...
(
    TASK_COUNT,
    TASK_ERRORS,
    TASK_CALLS,
    TASK_CALL_NS,
    TASK_CALL_MAX_NS,
    TASK_DUR_COUNT,
    TASK_DUR_NS,
    TASK_DUR_MAX_NS,
) = range(8)
# ... and rollup_sched's per tid
(
    SCHED_COMM,
    SCHED_ONCPU_NS,
    SCHED_SWITCHES,
    SCHED_PREEMPTED,
    SCHED_WAIT_NS,
    SCHED_WAITS,
    SCHED_WAIT_MAX_NS,
) = range(7)


class Upsert:
    """One INSERT ... ON CONFLICT DO UPDATE, compiled once and run with rows as tuples in
    column order (SQLAlchemy's per-row parameter handling costs more than SQLite here)."""

    def __init__(self, dialect: Dialect, stmt: Any, columns: Sequence[str]) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.columns = tuple(columns)
        self.positional = bool(dialect.positional)
        if self.positional:
            assert tuple(compiled.positiontup) == self.columns, compiled.positiontup

    def run(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        params: Any = (
            rows if self.positional else [dict(zip(self.columns, r, strict=True)) for r in rows]
        )
        conn.exec_driver_sql(self.sql, params)


class Upserts:
    """The rollup upserts of a dialect (SQLite and PostgreSQL)."""

    def __init__(self, dialect: Dialect) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        biggest = func.greatest if dialect.name == "postgresql" else func.max

        def upsert(table: Table, sums: Sequence[str], maxes: Sequence[str] = ()) -> Upsert:
            stmt = insert(table)
            ex = stmt.excluded
            values = {c: table.c[c] + ex[c] for c in sums}
            values |= {c: biggest(table.c[c], ex[c]) for c in maxes}
            if table.name == "rollup_sched":
                values["comm"] = func.coalesce(
                    func.nullif(ex.comm, literal_column("''")), table.c.comm
                )
            keys = [c.name for c in table.primary_key.columns]
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_=values)
            return Upsert(dialect, stmt, [c.name for c in table.columns])

        time_t, task_t, lat_t, sched_t = ROLLUP_TABLES
        self.time = upsert(time_t, ("count",))
        self.tasks = upsert(task_t, TASK_SUMS, ("call_max_ns", "dur_max_ns"))
        self.latency = upsert(lat_t, ("count",))
        self.sched = upsert(sched_t, SCHED_SUMS, ("wait_max_ns",))
        mark = insert(RollupSessionRow.__table__)
        self.mark = mark.on_conflict_do_update(
            index_elements=["session_id"], set_={"complete": mark.excluded.complete}
        )
        self.mark_new = insert(RollupSessionRow.__table__).on_conflict_do_nothing()

    def write(self, conn: Connection, sid: int, st: Aggregates) -> None:
        if st.new:
            conn.execute(self.mark_new, {"session_id": sid, "complete": True})
        self.time.run(
            conn, [(sid, b, n, c) for b, names in st.time.items() for n, c in names.items()]
        )
        self.tasks.run(
            conn,
            [
                (sid, name, nr, NO_PID if pid is None else pid, comm or "", *v)
                for (name, nr, pid, comm), v in st.tasks.items()
            ],
        )
        self.latency.run(conn, [(sid, *key, c) for key, c in st.latency.items()])
        self.sched.run(conn, [(sid, tid, *v) for tid, v in st.sched.items()])
