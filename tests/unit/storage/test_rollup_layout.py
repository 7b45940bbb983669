"""The named indexes of the rollup aggregate rows follow their tables' value columns, in
the order the upserts insert them (after the key columns)."""

from __future__ import annotations

from tracerd.storage import rollup_sql
from tracerd.storage.tables import RollupSchedRow, RollupTaskRow


def _values(row: type, keys: int) -> list[str]:
    return [c.name for c in row.__table__.columns][keys:]  # type: ignore[attr-defined]


def test_task_row_indexes_follow_rollup_tasks_columns() -> None:
    for index, column in enumerate(_values(RollupTaskRow, 5)):  # session, name, nr, pid, comm
        assert getattr(rollup_sql, f"TASK_{column.upper()}") == index


def test_sched_row_indexes_follow_rollup_sched_columns() -> None:
    for index, column in enumerate(_values(RollupSchedRow, 2)):  # session, tid
        assert getattr(rollup_sql, f"SCHED_{column.upper()}") == index
