"""compact events: names and comms as small integers (event_names, event_comms), a zone
map of seq/time spans (event_blocks) instead of the three secondary indexes, a partial
index for `lost`/`maps`

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 10:10:00

Existing events are copied into the new table (names looked up once) and their blocks are
built from them, 8192 events a block.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPECIAL_NAMES = ("lost", "maps")  # ids 1 and 2, as storage/tables.py has them
SPECIAL_WHERE = sa.text(f"name_id <= {len(SPECIAL_NAMES)}")
BLOCK = 8192
COLUMNS = "session_id, seq, ts_ns, cpu, pid, tid, {comm}, {name}, dur_ns, ret, errno, fields"


def _events_table(
    name: str, comm_column: sa.Column[object], name_column: sa.Column[object]
) -> None:
    op.create_table(
        name,
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("cpu", sa.Integer(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("tid", sa.Integer(), nullable=True),
        comm_column,
        name_column,
        sa.Column("dur_ns", sa.BigInteger(), nullable=True),
        sa.Column("ret", sa.BigInteger(), nullable=True),
        sa.Column("errno", sa.String(length=32), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "seq"),
        sqlite_with_rowid=False,
    )


def _interned_table(table: str, column: str, length: int) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(column, sa.String(length=length), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(column),
    )


def upgrade() -> None:
    _interned_table("event_names", "name", 128)
    for special in SPECIAL_NAMES:  # in this order: ids 1, 2
        op.execute(sa.text("INSERT INTO event_names (name) VALUES (:n)").bindparams(n=special))
    op.execute(
        "INSERT INTO event_names (name) SELECT DISTINCT name FROM events "
        "WHERE name NOT IN ('lost', 'maps')"
    )
    _interned_table("event_comms", "comm", 64)
    op.execute(
        "INSERT INTO event_comms (comm) SELECT DISTINCT comm FROM events WHERE comm IS NOT NULL"
    )
    op.create_table(
        "event_blocks",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("min_ts", sa.BigInteger(), nullable=False),
        sa.Column("max_ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "first_seq"),
        sqlite_with_rowid=False,
    )
    _events_table(
        "events_v3",
        sa.Column("comm_id", sa.Integer(), nullable=True),
        sa.Column("name_id", sa.Integer(), nullable=False),
    )
    op.execute(
        f"INSERT INTO events_v3 ({COLUMNS.format(comm='comm_id', name='name_id')}) SELECT "
        + COLUMNS.format(comm="c.id", name="n.id").replace("session_id, seq", "e.session_id, e.seq")
        + " FROM events e JOIN event_names n ON n.name = e.name"
        " LEFT JOIN event_comms c ON c.comm = e.comm"
    )
    op.execute(
        "INSERT INTO event_blocks (session_id, first_seq, last_seq, min_ts, max_ts) "
        "SELECT session_id, min(seq), max(seq), min(ts_ns), max(ts_ns) FROM events_v3 "
        f"GROUP BY session_id, seq / {BLOCK}"
    )
    op.drop_index("ix_events_session_ts", table_name="events")
    op.drop_index("ix_events_session_pid", table_name="events")
    op.drop_index("ix_events_session_name_ts", table_name="events")
    op.drop_table("events")
    op.rename_table("events_v3", "events")
    op.create_index(
        "ix_events_special",
        "events",
        ["session_id", "name_id", "seq"],
        sqlite_where=SPECIAL_WHERE,
        postgresql_where=SPECIAL_WHERE,
    )


def downgrade() -> None:
    _events_table(
        "events_v2",
        sa.Column("comm", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
    )
    op.execute(
        f"INSERT INTO events_v2 ({COLUMNS.format(comm='comm', name='name')}) SELECT "
        + COLUMNS.format(comm="c.comm", name="n.name").replace(
            "session_id, seq", "e.session_id, e.seq"
        )
        + " FROM events e JOIN event_names n ON n.id = e.name_id"
        " LEFT JOIN event_comms c ON c.id = e.comm_id"
    )
    op.drop_index("ix_events_special", table_name="events")
    op.drop_table("events")
    op.rename_table("events_v2", "events")
    op.create_index("ix_events_session_name_ts", "events", ["session_id", "name", "ts_ns"])
    op.create_index("ix_events_session_pid", "events", ["session_id", "pid"])
    op.create_index("ix_events_session_ts", "events", ["session_id", "ts_ns"])
    op.drop_table("event_blocks")
    op.drop_table("event_comms")
    op.drop_table("event_names")
