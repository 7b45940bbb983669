"""The daemon's running services, built once by the app's lifespan (`app.build_services`)
and handed to every request (`api.deps.services`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .auth import TokenStore
from .config import Settings
from .kernel.tracefs import Tracefs
from .metrics import Metrics
from .sessions.ledger import LedgerStore
from .sessions.manager import SessionManager
from .sessions.retention import Retention
from .storage.tables import AuditRow
from .storage.writer import EventWriter
from .stream.hub import StreamHub
from .system import caps as caps_probe
from .system.host import StateDir


@dataclass(eq=False)
class Services:
    """Everything a request may need; built by the lifespan."""

    settings: Settings
    state: StateDir
    engine: Engine
    db: sessionmaker[Session]
    writer: EventWriter
    hub: StreamHub
    tokens: TokenStore
    ledger: LedgerStore
    tracefs: Tracefs
    manager: SessionManager
    metrics: Metrics
    caps: dict[str, Any] = field(default_factory=dict)
    caps_ready: asyncio.Event = field(default_factory=asyncio.Event)
    started_monotonic: float = field(default_factory=time.monotonic)
    retention: Retention | None = None

    async def probe_capabilities(self) -> dict[str, Any]:
        scratch = f"tracerd_{self.state.daemon_id}_probe"
        result = await asyncio.to_thread(caps_probe.probe_all, self.settings.tracefs, scratch)
        self.caps.clear()
        self.caps.update(result)
        self.caps_ready.set()
        return self.caps

    def audit(self, principal: str, role: str, method: str, path: str, status: int) -> None:
        with self.db.begin() as db:
            db.add(
                AuditRow(
                    ts=datetime.now(UTC),
                    principal=principal,
                    role=role,
                    method=method,
                    path=path,
                    status=status,
                    detail=None,
                )
            )
