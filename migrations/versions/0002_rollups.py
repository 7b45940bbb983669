"""rollups: per-session aggregates kept by the event writer at ingest, read by reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:45:55.378421

Sessions recorded before this revision have no `rollup_sessions` row: their reports are
computed from the events table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_latency",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("nr", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "name", "nr", "slot"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_sched",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("tid", sa.Integer(), nullable=False),
        sa.Column("comm", sa.String(length=64), nullable=False),
        sa.Column("oncpu_ns", sa.BigInteger(), nullable=False),
        sa.Column("switches", sa.BigInteger(), nullable=False),
        sa.Column("preempted", sa.BigInteger(), nullable=False),
        sa.Column("wait_ns", sa.BigInteger(), nullable=False),
        sa.Column("waits", sa.BigInteger(), nullable=False),
        sa.Column("wait_max_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "tid"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_sessions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "rollup_tasks",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("nr", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("comm", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("call_ns", sa.BigInteger(), nullable=False),
        sa.Column("call_max_ns", sa.BigInteger(), nullable=False),
        sa.Column("dur_count", sa.BigInteger(), nullable=False),
        sa.Column("dur_ns", sa.BigInteger(), nullable=False),
        sa.Column("dur_max_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "name", "nr", "pid", "comm"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_time",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "bucket", "name"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("rollup_time")
    op.drop_table("rollup_tasks")
    op.drop_table("rollup_sessions")
    op.drop_table("rollup_sched")
    op.drop_table("rollup_latency")
