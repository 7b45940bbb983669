"""Stored events read back for a stream's `from_seq` replay, already encoded.

A seq range's events come back as one whole `events` message (the JSON text a live stream
sends: `{"type":"events","events":[...]}` with the event objects `seq, ts_ns, cpu, pid, tid,
comm, name, fields`), with no Python object per event: on SQLite the database formats each
row with printf() and joins them with group_concat() (in C, outside the GIL), and the text
is sent as it comes back; other databases, and sessions whose traced syscalls are stored
compact (ptrace: `fields.compact_syscall`), get raw rows encoded by orjson. Loss records are
read apart (through the partial index of the special names): they become `lost` messages.

The opt-in `columns` format (stream/columns.py) is cheaper still: SQLite joins each column
of the range with one group_concat() (no join with the names and comms: their ids are the
message's keys, and the few texts they stand for are read by id), about 3× the rows per
CPU-second of the per-row printf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, literal, select

from ..columns import ColumnRun, KeyTable, columns_message, entries
from ..fields import expand_syscall
from .queries import EventFilter
from .tables import COMPACT_KINDS, SPECIAL_NAMES, EventCommRow, EventNameRow, EventRow, SessionRow

LOST_NAME_ID = SPECIAL_NAMES.index("lost") + 1
EVENT_FORMAT = '{"seq":%d,"ts_ns":%d,"cpu":%s,"pid":%s,"tid":%s,"comm":%s,"name":%s,"fields":%s}'
PLAIN_EVENT_FORMAT = (
    '{"seq":%d,"ts_ns":%d,"cpu":%d,"pid":%d,"tid":%d,"comm":"%s","name":"%s","fields":%s}'
)
"""the same text for a row with no NULL and no comm or name to escape (the common row:
printf's %d and literal quotes cost a quarter less than converting and quoting each value)"""
MESSAGE_PREFIX = '{"type":"events","events":['
MESSAGE_SUFFIX = "]}"
EVENT_COLUMNS = (
    EventRow.seq,
    EventRow.ts_ns,
    EventRow.cpu,
    EventRow.pid,
    EventRow.tid,
    EventCommRow.comm,
    EventNameRow.name,
    EventRow.fields,
)
"""a stream event object's values, in its key order"""
NULL = literal("null")
NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\U0010ffff]')
"""what JSON must escape (and, to be safe, anything not plain ASCII)"""


def _range_query(
    session_id: int, flt: EventFilter, first_seq: int, last_seq: int, texts: bool = True
) -> Any:
    """The range's rows (loss records left out) in seq order; with `texts`, joined with
    their name and comm rows."""
    query = select().select_from(EventRow)
    if texts:
        query = query.join(EventNameRow, EventNameRow.id == EventRow.name_id).outerjoin(
            EventCommRow, EventCommRow.id == EventRow.comm_id
        )
    return flt.apply(
        query.where(
            EventRow.session_id == session_id,
            EventRow.seq.between(first_seq, last_seq),
            EventRow.name_id != LOST_NAME_ID,
        )
    ).order_by(EventRow.seq)


@dataclass(frozen=True, slots=True)
class Escaped:
    """The comm and name ids whose text JSON must escape (few: read once per replay), and
    whether the session stores compact syscalls (their JSON is rebuilt in Python)."""

    comm_ids: tuple[int, ...]
    name_ids: tuple[int, ...]
    compact: bool = False

    @classmethod
    def read(cls, conn: Connection, session_id: int | None = None) -> Escaped:
        def ids(id_column: Any, column: Any) -> tuple[int, ...]:
            rows = conn.execute(select(id_column, column))
            return tuple(i for i, text in rows if NEEDS_ESCAPE.search(text))

        kind = conn.execute(select(SessionRow.kind).where(SessionRow.id == session_id)).scalar()
        return cls(
            ids(EventCommRow.id, EventCommRow.comm),
            ids(EventNameRow.id, EventNameRow.name),
            kind in COMPACT_KINDS,
        )


def _quoted(column: Any, ref: Any, escaped: tuple[int, ...]) -> Any:
    """SQL for `column` as a JSON string (null when NULL): quoted by concatenation, with
    json_quote() (several times slower) only for the ids whose text needs escaping."""
    plain = func.ifnull(literal('"') + column + literal('"'), NULL)
    return case((ref.in_(escaped), func.json_quote(column)), else_=plain) if escaped else plain


def events_message(
    conn: Connection,
    session_id: int,
    flt: EventFilter,
    first_seq: int,
    last_seq: int,
    escaped: Escaped,
) -> str | None:
    """The `events` message of the stored events (loss records left out) with `first_seq <=
    seq <= last_seq` that match `flt` (names, pids), in seq order; None if there are none."""
    query = _range_query(session_id, flt, first_seq, last_seq)
    if conn.dialect.name == "sqlite" and not escaped.compact:
        rows = query.add_columns(_sqlite_event_text(escaped).label("o")).subquery()
        message = literal(MESSAGE_PREFIX) + func.group_concat(rows.c.o, ",") + MESSAGE_SUFFIX
        text: str | None = conn.execute(select(message)).scalar()
        return text
    return rows_message(conn, query)


def stored_columns(
    conn: Connection,
    session_id: int,
    flt: EventFilter,
    first_seq: int,
    last_seq: int,
    escaped: Escaped,
) -> str | None:
    """`events_message` in the `columns` format."""
    if conn.dialect.name != "sqlite" or escaped.compact:
        return rows_columns(conn, _range_query(session_id, flt, first_seq, last_seq))
    query = _range_query(session_id, flt, first_seq, last_seq, texts=False)
    values = [
        EventRow.seq,
        EventRow.ts_ns,
        func.ifnull(EventRow.cpu, NULL),
        func.ifnull(EventRow.pid, NULL),
        func.ifnull(EventRow.tid, NULL),
        func.ifnull(EventRow.comm_id, NULL),
        EventRow.name_id,
        EventRow.fields,
    ]
    # group_concat() joins values in the order rows come (with the default separator `,`:
    # a bound one costs SQLite a third more per row). Without a name filter the rows come
    # in seq order unsorted (a quarter less CPU): the range is a scan of the primary key
    # (session_id, seq) of a WITHOUT ROWID table, whose only index is the partial one of
    # name_id <= 2, which this WHERE does not imply; with one, a subquery sorts them.
    if flt.names:
        rows = query.add_columns(*(v.label(f"c{i}") for i, v in enumerate(values))).subquery()
        aggregates = [func.group_concat(column) for column in rows.c]
        row = conn.execute(select(func.count(), *aggregates).select_from(rows)).one()
    else:
        aggregates = [func.group_concat(value) for value in values]
        row = conn.execute(query.order_by(None).add_columns(func.count(), *aggregates)).one()
    if not row[0]:
        return None
    columns: tuple[str, ...] = tuple(row[1:])
    comms = _texts(conn, EventCommRow.id, EventCommRow.comm, columns[5])
    names = _texts(conn, EventNameRow.id, EventNameRow.name, columns[6])
    return columns_message(row[0], [ColumnRun(columns, comms, names)])


def _texts(conn: Connection, id_column: Any, text_column: Any, keys: str) -> tuple[str, ...]:
    """The `"id":"text"` entries of the ids in `keys` (a column's comma-joined values)."""
    ids = [int(k) for k in set(keys.split(",")) if k != "null"]
    return entries(conn.execute(select(id_column, text_column).where(id_column.in_(ids))))


def rows_columns(conn: Connection, query: Any) -> str | None:
    """`stored_columns` for any database: the range's raw rows through the hub's encoder."""
    cols = query.add_columns(*EVENT_COLUMNS, EventRow.ret, EventRow.errno, EventRow.dur_ns)
    rows = conn.execute(cols).all()
    if not rows:
        return None
    events = [
        (t, c, p, i, m, n, expand_syscall(n, f, r, e, d))
        for _, t, c, p, i, m, n, f, r, e, d in rows
    ]
    run = KeyTable().run([row[0] for row in rows], events)
    return columns_message(len(rows), [run])


def rows_message(conn: Connection, query: Any) -> str | None:
    """`events_message` for any database: the range's raw rows encoded by orjson."""
    cols = query.add_columns(*EVENT_COLUMNS, EventRow.ret, EventRow.errno, EventRow.dur_ns)
    frag = orjson.Fragment
    events = [
        {
            "seq": s,
            "ts_ns": t,
            "cpu": c,
            "pid": p,
            "tid": i,
            "comm": m,
            "name": n,
            "fields": frag(expand_syscall(n, f, r, e, d)),
        }
        for s, t, c, p, i, m, n, f, r, e, d in conn.execute(cols)
    ]
    if not events:
        return None
    return orjson.dumps({"type": "events", "events": events}).decode()


def _sqlite_event_text(escaped: Escaped) -> Any:
    """SQL for one stored row's event object as JSON text (SQLite's printf)."""
    plain = [
        EventRow.cpu.is_not(None),
        EventRow.pid.is_not(None),
        EventRow.tid.is_not(None),
        EventCommRow.comm.is_not(None),
    ]
    if escaped.comm_ids:
        plain.append(EventRow.comm_id.not_in(escaped.comm_ids))
    if escaped.name_ids:
        plain.append(EventRow.name_id.not_in(escaped.name_ids))
    fast = func.printf(PLAIN_EVENT_FORMAT, *EVENT_COLUMNS)
    general = func.printf(
        EVENT_FORMAT,
        EventRow.seq,
        EventRow.ts_ns,
        func.ifnull(EventRow.cpu, NULL),
        func.ifnull(EventRow.pid, NULL),
        func.ifnull(EventRow.tid, NULL),
        _quoted(EventCommRow.comm, EventRow.comm_id, escaped.comm_ids),
        _quoted(EventNameRow.name, EventRow.name_id, escaped.name_ids),
        EventRow.fields,
    )
    return case((and_(*plain), fast), else_=general)


def loss_records(
    conn: Connection, session_id: int, first_seq: int, last_seq: int
) -> list[tuple[int, int, int | None, str]]:
    """(seq, ts_ns, cpu, fields JSON) of the stored loss records in the seq range."""
    query = (
        select(EventRow.seq, EventRow.ts_ns, EventRow.cpu, EventRow.fields)
        .where(
            and_(
                EventRow.session_id == session_id,
                EventRow.name_id == LOST_NAME_ID,
                EventRow.seq.between(first_seq, last_seq),
            )
        )
        .order_by(EventRow.seq)
    )
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(query)]


def last_stored_seq(conn: Connection, session_id: int) -> int | None:
    """The highest stored seq of the session (a primary-key lookup)."""
    value = conn.execute(
        select(func.max(EventRow.seq)).where(EventRow.session_id == session_id)
    ).scalar()
    return int(value) if value is not None else None
