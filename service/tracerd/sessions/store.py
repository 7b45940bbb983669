"""SessionStore: the session rows in the database (blocking calls: run them in a thread)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import NotFound
from ..fields import load_fields
from ..specs import AnySpec, spec_json
from ..storage.queries import name_condition
from ..storage.tables import SPECIAL_NAME_MAX, EventRow, SessionRow
from ..types import SessionState
from .ingest import MAPS_EVENT_NAME
from .ledger import Owner
from .live import LiveSession, session_view
from .state import check_transition

S = SessionState
ACTIVE = (S.STARTING.value, S.RUNNING.value, S.STOPPING.value)


class SessionStore:
    def __init__(self, sessions: sessionmaker[Session], owner: Owner) -> None:
        self._db = sessions
        self.owner = owner

    def insert(self, kind: str, name: str | None, spec: AnySpec, owner: str | None) -> LiveSession:
        row = SessionRow(
            kind=kind, name=name, state=S.CREATED.value, spec=spec_json(spec),
            created_at=datetime.now(UTC), clock="mono", wall_offset_ns=0,
            counters={"events": 0, "stored": 0, "lost": {}}, resources=[], info={},
            owner=owner, daemon_id=self.owner.daemon_id, host_id=self.owner.host_id,
            stored_bytes=0,
        )  # fmt: skip
        with self._db.begin() as db:
            db.add(row)
            db.flush()
            live = LiveSession.from_row(row)
        live.spec = spec  # validated by the API: not again from its JSON
        return live

    def load(self, session_id: int) -> SessionRow:
        with self._db() as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                raise NotFound(f"no session {session_id}", {"id": str(session_id)})
            return row

    def rows(self, kind: str | None = None, state: str | None = None) -> list[SessionRow]:
        with self._db() as db:
            query = select(SessionRow).order_by(SessionRow.id)
            if kind:
                query = query.where(SessionRow.kind == kind)
            if state:
                query = query.where(SessionRow.state == state)
            return list(db.scalars(query))

    def save(self, live: LiveSession, counters: dict[str, Any], stored_bytes: int) -> None:
        with self._db.begin() as db:
            row = db.get(SessionRow, live.id)
            if row is not None:
                live.apply_to_row(row, counters, stored_bytes)

    def delete(self, session_id: int) -> None:
        with self._db.begin() as db:
            row = db.get(SessionRow, session_id)
            if row is not None:
                db.delete(row)

    def last_maps(self, session_id: int) -> dict[str, Any] | None:
        """The final map snapshot, stored as the session's last `maps` event."""
        with self._db() as db:
            row = db.execute(
                select(EventRow.ts_ns, EventRow.fields)
                .where(EventRow.session_id == session_id, name_condition([MAPS_EVENT_NAME]))
                .order_by(EventRow.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {"ts_ns": row.ts_ns, "maps": load_fields(row.fields).get("maps", {})}

    def interrupt_orphans(self) -> list[int]:
        """Sessions this daemon left active when it died: `interrupted`, stored count kept."""
        interrupted = []
        with self._db.begin() as db:
            rows = db.scalars(
                select(SessionRow).where(
                    SessionRow.daemon_id == self.owner.daemon_id,
                    SessionRow.host_id == self.owner.host_id,
                    SessionRow.state.in_(ACTIVE),
                )
            )
            for row in rows:
                stored = db.execute(  # its events, not its loss and maps records
                    select(func.count()).where(
                        EventRow.session_id == row.id, EventRow.name_id > SPECIAL_NAME_MAX
                    )
                ).scalar()
                row.counters = {**(row.counters or {}), "stored": int(stored or 0)}
                row.reason = f"the daemon stopped while the session was {row.state}"
                check_transition(S(row.state), S.INTERRUPTED)
                row.state = S.INTERRUPTED.value
                row.resources = []
                row.stopped_at = datetime.now(UTC)
                interrupted.append(row.id)
        return interrupted

    def created(self) -> list[LiveSession]:
        """Sessions created but never started: they live on in the new daemon."""
        with self._db() as db:
            rows = db.scalars(
                select(SessionRow).where(
                    SessionRow.daemon_id == self.owner.daemon_id,
                    SessionRow.state == S.CREATED.value,
                )
            )
            return [LiveSession.from_row(row) for row in rows]


def row_view(row: SessionRow) -> dict[str, Any]:
    """A session that is not live in this daemon, as the API shows it."""
    live = LiveSession.from_row(row)
    counters = dict(row.counters or {})
    counters.setdefault("events", 0)
    counters.setdefault("stored", 0)
    counters["lost"] = live.lost(0, 0) | dict(counters.get("lost") or {})
    return session_view(live, counters, row.stored_bytes)
