"""The schema: control tables (sessions, ledger, tokens, audit) and the events table.

Nothing SQLite-only: the same models run on PostgreSQL (design.md "Storage"). Event
columns that reports query are promoted out of the JSON `fields`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

# BIGINT on PostgreSQL, INTEGER on SQLite (so it can be the rowid alias).
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTimeType(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


UTCDateTime = UTCDateTimeType()


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_state", "state"),
        Index("ix_sessions_stopped_at", "stopped_at"),
        {"sqlite_autoincrement": True},  # ids are never reused (resource names carry them)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    exit_status: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    clock: Mapped[str] = mapped_column(String(16), default="mono")
    wall_offset_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    counters: Mapped[dict[str, Any]] = mapped_column(JSON)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(64))
    daemon_id: Mapped[str] = mapped_column(String(32))
    host_id: Mapped[str] = mapped_column(String(64))
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerRow(Base):
    """A kernel resource a session created: recorded before creation, deleted after removal."""

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_owner", "host_id", "boot_id", "daemon_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host_id: Mapped[str] = mapped_column(String(64))
    boot_id: Mapped[str] = mapped_column(String(64))
    daemon_id: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_start_time: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_ts", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    principal: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


SPECIAL_NAMES = ("lost", "maps")
"""event names with fixed ids (1, 2: the first rows of `event_names`), rare records that
the partial index `ix_events_special` finds without a scan"""
SPECIAL_NAME_MAX = len(SPECIAL_NAMES)


COMPACT_KINDS = frozenset({"ptrace"})
"""session kinds whose traced syscalls' fields are stored compact (`fields.compact_syscall`:
the strace line once, the rest rebuilt from it and the row's columns on read)"""


class EventNameRow(Base):
    """Event names as small integers (events.name_id): each name is stored once."""

    __tablename__ = "event_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class EventCommRow(Base):
    """Task names (comm) as small integers (events.comm_id): each stored once."""

    __tablename__ = "event_comms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comm: Mapped[str] = mapped_column(String(64), unique=True)


class EventRow(Base):
    """Events, appended in `seq` order per session by the single writer (Core bulk inserts).

    No secondary index is kept up at ingest (each would cost a quarter of the store rate and
    tens of bytes an event): time ranges go through `event_blocks`, whole-session reports
    through the rollups, the rare `lost`/`maps` records through a partial index."""

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "ix_events_special",
            "session_id",
            "name_id",
            "seq",
            sqlite_where=text(f"name_id <= {SPECIAL_NAME_MAX}"),
            postgresql_where=text(f"name_id <= {SPECIAL_NAME_MAX}"),
        ),
        {"sqlite_with_rowid": False},  # rows live in (session_id, seq) order
    )

    session_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    cpu: Mapped[int | None] = mapped_column(Integer)
    pid: Mapped[int | None] = mapped_column(Integer)
    tid: Mapped[int | None] = mapped_column(Integer)
    comm_id: Mapped[int | None] = mapped_column(Integer)
    """event_comms.id"""
    name_id: Mapped[int] = mapped_column(Integer)
    """event_names.id"""
    dur_ns: Mapped[int | None] = mapped_column(BigInteger)
    ret: Mapped[int | None] = mapped_column(BigInteger)
    errno: Mapped[str | None] = mapped_column(String(32))
    fields: Mapped[str] = mapped_column(Text)
    """JSON text of the event's fields, written pre-serialised by the writer"""

    name: Mapped[str] = column_property(
        select(EventNameRow.name).where(EventNameRow.id == name_id).scalar_subquery()
    )
    """the event's name, read through `event_names` (filter on `name_id` where it matters)"""
    comm: Mapped[str | None] = column_property(
        select(EventCommRow.comm).where(EventCommRow.id == comm_id).scalar_subquery()
    )
    """the task's name, read through `event_comms`"""


class EventBlockRow(Base):
    """A zone map of the events: per run of up to BLOCK_EVENTS stored events of a session,
    its seq and timestamp spans. A time range becomes a seq range of the primary key."""

    __tablename__ = "event_blocks"
    __table_args__ = ({"sqlite_with_rowid": False},)

    session_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    min_ts: Mapped[int] = mapped_column(BigInteger)
    max_ts: Mapped[int] = mapped_column(BigInteger)


events_table: Table = EventRow.__table__  # type: ignore[assignment]
event_names_table: Table = EventNameRow.__table__  # type: ignore[assignment]
event_comms_table: Table = EventCommRow.__table__  # type: ignore[assignment]
event_blocks_table: Table = EventBlockRow.__table__  # type: ignore[assignment]


# -- rollups kept by the EventWriter at ingest (storage/rollups.py), read by reports/ --------
# Keys never hold NULL (ON CONFLICT would not match it): pid -1, comm "", nr -1 stand for none.


def _session_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)


class RollupSessionRow(Base):
    """A session whose rollups cover every stored event (else reports use the events)."""

    __tablename__ = "rollup_sessions"

    session_id: Mapped[int] = _session_fk()
    complete: Mapped[bool] = mapped_column(Boolean)


class RollupTimeRow(Base):
    """Events per ROLLUP_BUCKET_NS time bucket and name (timeline, event rate)."""

    __tablename__ = "rollup_time"
    __table_args__ = ({"sqlite_with_rowid": False},)

    session_id: Mapped[int] = _session_fk()
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class RollupTaskRow(Base):
    """Per name (and syscall number of raw_syscalls events), pid and comm: counts, completed
    calls (a return value), errors and durations (syscall tables, top, summary)."""

    __tablename__ = "rollup_tasks"
    __table_args__ = ({"sqlite_with_rowid": False},)

    session_id: Mapped[int] = _session_fk()
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    nr: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[int] = mapped_column(Integer, primary_key=True)
    comm: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    calls: Mapped[int] = mapped_column(BigInteger)
    call_ns: Mapped[int] = mapped_column(BigInteger)
    call_max_ns: Mapped[int] = mapped_column(BigInteger)
    dur_count: Mapped[int] = mapped_column(BigInteger)
    dur_ns: Mapped[int] = mapped_column(BigInteger)
    dur_max_ns: Mapped[int] = mapped_column(BigInteger)


class RollupLatencyRow(Base):
    """Log-linear histogram of `dur_ns` per name (and syscall number): latency reports."""

    __tablename__ = "rollup_latency"
    __table_args__ = ({"sqlite_with_rowid": False},)

    session_id: Mapped[int] = _session_fk()
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    nr: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class RollupSchedRow(Base):
    """Per task (tid) from sched_switch/sched_wakeup: on-CPU time, switches, run-queue waits."""

    __tablename__ = "rollup_sched"
    __table_args__ = ({"sqlite_with_rowid": False},)

    session_id: Mapped[int] = _session_fk()
    tid: Mapped[int] = mapped_column(Integer, primary_key=True)
    comm: Mapped[str] = mapped_column(String(64))
    oncpu_ns: Mapped[int] = mapped_column(BigInteger)
    switches: Mapped[int] = mapped_column(BigInteger)
    preempted: Mapped[int] = mapped_column(BigInteger)
    wait_ns: Mapped[int] = mapped_column(BigInteger)
    waits: Mapped[int] = mapped_column(BigInteger)
    wait_max_ns: Mapped[int] = mapped_column(BigInteger)
