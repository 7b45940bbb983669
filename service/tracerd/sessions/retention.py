"""Retention: stored sessions are pruned by age and by stored events (per session and in
total), oldest first; SQLite space is given back with `PRAGMA incremental_vacuum` when the
writer is idle.

Policy (0 disables a limit), applied in order to sessions in a final state (stopped,
failed, interrupted; a created, starting, running or stopping session is never touched):
1. ended (stopped_at, else created_at) more than `retention_max_age_s` ago: deleted whole;
2. more than `retention_max_events_per_session` events: its oldest events are deleted;
3. while all sessions together hold more than `retention_max_events_total`: the oldest
   ended session loses its oldest events, or all of them (then the session is deleted).
Deletions go through the writer in chunks (it keeps inserting between them) and the
session's rollups are rebuilt from what is left. Counted in the metrics and logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..storage.tables import EventRow, SessionRow
from .manager import SessionManager

log = logging.getLogger(__name__)

FINAL = frozenset({"stopped", "failed", "interrupted"})
VACUUM_STEP_PAGES = 2048  # 8 MiB of 4 KiB pages per transaction


@dataclass(frozen=True, slots=True)
class Stored:
    """A session as retention sees it."""

    id: int
    state: str
    stored: int
    ended_at: datetime


@dataclass(slots=True)
class Plan:
    whole: list[int] = field(default_factory=list)
    trim: dict[int, int] = field(default_factory=dict)
    """session -> how many of its oldest events to delete"""


def plan(sessions: list[Stored], settings: Settings, now: datetime) -> Plan:
    """What to delete (pure)."""
    out = Plan()
    ended = sorted((s for s in sessions if s.state in FINAL), key=lambda s: (s.ended_at, s.id))
    max_age = settings.retention_max_age_s
    out.whole = [s.id for s in ended if max_age and (now - s.ended_at).total_seconds() > max_age]
    cap = settings.retention_max_events_per_session
    for s in ended:
        if cap and s.id not in out.whole and s.stored > cap:
            out.trim[s.id] = s.stored - cap
    if not settings.retention_max_events_total:
        return out
    removed = sum(s.stored for s in ended if s.id in out.whole) + sum(out.trim.values())
    excess = sum(s.stored for s in sessions) - removed - settings.retention_max_events_total
    for s in ended:
        left = s.stored - out.trim.get(s.id, 0)
        if excess <= 0:
            break
        if s.id in out.whole or left <= 0:
            continue
        if excess >= left:
            out.whole.append(s.id)
            out.trim.pop(s.id, None)
            excess -= left
        else:
            out.trim[s.id] = out.trim.get(s.id, 0) + excess
            excess = 0
    return out


class Retention:
    """The background task of the daemon (app lifespan)."""

    def __init__(
        self,
        settings: Settings,
        manager: SessionManager,
        engine: Engine,
        db: sessionmaker[Session],
        registry: CollectorRegistry,
    ) -> None:
        self.settings, self.manager, self.engine, self.db = settings, manager, engine, db
        self.pruned_sessions = Counter(
            "tracerd_retention_pruned_sessions", "sessions deleted by retention", registry=registry
        )
        self.pruned_events = Counter(
            "tracerd_retention_pruned_events", "events deleted by retention", registry=registry
        )
        self.vacuumed_pages = Counter(
            "tracerd_retention_vacuumed_pages",
            "database pages returned by incremental_vacuum",
            registry=registry,
        )

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retention_interval_s)
            try:
                await self.run_once()
            except Exception:  # a failed round must not end retention
                log.exception("retention round failed")

    async def sessions(self) -> list[Stored]:
        out = []
        for view in await self.manager.list_sessions():
            ended = view.get("stopped_at") or view["created_at"]
            out.append(
                Stored(
                    int(view["id"]),
                    str(view["state"]),
                    int(view["counters"].get("stored") or 0),
                    datetime.fromisoformat(ended),
                )
            )
        return out

    async def run_once(self) -> Plan:
        """One round: prune what the policy says, then vacuum if the writer is idle."""
        sessions = await self.sessions()
        todo = plan(sessions, self.settings, datetime.now(UTC))
        stored = {s.id: s.stored for s in sessions}
        for sid in todo.whole:
            await self.manager.delete(sid)
            self.pruned_sessions.inc()
            self.pruned_events.inc(stored[sid])
            log.info("retention: deleted session %d (%d events)", sid, stored[sid])
        for sid, count in todo.trim.items():
            done = await self.trim(sid, count, stored[sid])
            self.pruned_events.inc(done)
            log.info("retention: deleted the oldest %d events of session %d", done, sid)
        await self.vacuum()
        return todo

    async def trim(self, sid: int, count: int, stored: int) -> int:
        """Delete the `count` oldest events of a session; returns how many went."""

        def boundary() -> int | None:
            with self.db() as db:
                query = select(EventRow.seq).where(EventRow.session_id == sid)
                return db.execute(query.order_by(EventRow.seq).offset(count).limit(1)).scalar()

        before = await asyncio.to_thread(boundary)
        if before is None:
            return 0
        await self.manager.writer.delete_session(sid, before)
        await asyncio.to_thread(self._recount, sid, stored)
        return count

    def _recount(self, sid: int, stored_before: int) -> None:
        """The session's stored counters after a trim (the writer's too, if it knows it)."""
        with self.db.begin() as db:
            row = db.get(SessionRow, sid)
            if row is None:
                return
            left = db.execute(select(func.count()).where(EventRow.session_id == sid)).scalar() or 0
            ratio = left / stored_before if stored_before else 0.0
            counters = dict(row.counters or {})
            counters["stored"] = int(left)
            row.counters = counters
            row.stored_bytes = int(row.stored_bytes * ratio)
            if sid in self.manager.live:
                prog = self.manager.writer.progress(sid)
                prog.stored, prog.stored_bytes = int(left), int(prog.stored_bytes * ratio)

    async def vacuum(self) -> int:
        """Give free pages back to the file system while nothing waits to be written."""
        if self.engine.dialect.name != "sqlite":
            return 0
        total = 0
        while self.manager.writer.pending == 0:
            freed = await asyncio.to_thread(self._vacuum_step)
            total += freed
            if freed < VACUUM_STEP_PAGES:
                break
        if total:
            self.vacuumed_pages.inc(total)
            log.info("retention: incremental_vacuum returned %d pages", total)
        return total

    def _vacuum_step(self) -> int:
        with self.engine.connect() as conn:
            before = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
            if not before:
                return 0
            # executescript steps the pragma to its end (execute() frees a single page)
            conn.connection.driver_connection.executescript(  # type: ignore[union-attr]
                f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES});"
            )
            after = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
            return before - after
