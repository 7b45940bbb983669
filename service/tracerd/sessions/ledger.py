"""The resource ledger: every kernel resource, recorded before creation, crossed off after.

Rows are keyed by host id, boot id and daemon id, and processes by pid plus start time, so
a reconcile never touches another host's resources or a process that reused a pid. At
start-up `reconcile` removes what a killed predecessor left (workers first, then launched
children, instances, dynamic events, top-level settings) and then sweeps the daemon's own
name prefix in tracefs — never anything else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ..engines.launch import process_start_time
from ..engines.tracefs.toplevel import restore_setting
from ..kernel.tracefs import Tracefs
from ..storage.tables import LedgerRow

log = logging.getLogger(__name__)

PROCESS_TYPES = ("worker", "launched_command", "bpftrace_child")
KILL_WAIT_S = 5.0
# reconcile order: processes first (they hold files open), then what they used
ORDER = {
    "worker": 0,
    "launched_command": 1,
    "bpftrace_child": 1,
    "tracefs_instance": 2,
    "dynamic_event": 3,
    "bpf_tracefs_probe": 3,
    "top_level_setting": 4,
}


@dataclass(frozen=True, slots=True)
class Owner:
    host_id: str
    boot_id: str
    daemon_id: str


class LedgerStore:
    def __init__(self, sessions: sessionmaker[Session], owner: Owner, tracefs: Tracefs) -> None:
        self._sessions = sessions
        self.owner = owner
        self.tracefs = tracefs

    def record(
        self,
        session_id: int | None,
        type: str,
        name: str,
        data: dict[str, Any] | None = None,
        pid: int | None = None,
        pid_start_time: int | None = None,
    ) -> int:
        row = LedgerRow(
            host_id=self.owner.host_id,
            boot_id=self.owner.boot_id,
            daemon_id=self.owner.daemon_id,
            session_id=session_id,
            type=type,
            name=name,
            pid=pid,
            pid_start_time=pid_start_time,
            data=dict(data or {}),
            created_at=datetime.now(UTC),
        )
        if pid is not None and pid_start_time is None:
            row.pid_start_time = process_start_time(pid)
        with self._sessions.begin() as db:
            db.add(row)
            db.flush()
            return row.id

    def set_process(self, key: int, pid: int, start_time: int | None) -> None:
        with self._sessions.begin() as db:
            row = db.get(LedgerRow, key)
            if row is not None:
                row.pid, row.pid_start_time = pid, start_time

    def cross_off(self, key: int) -> None:
        with self._sessions.begin() as db:
            db.execute(delete(LedgerRow).where(LedgerRow.id == key))

    def rows(self, session_id: int | None = None) -> list[LedgerRow]:
        with self._sessions() as db:
            query = select(LedgerRow).where(
                LedgerRow.host_id == self.owner.host_id,
                LedgerRow.daemon_id == self.owner.daemon_id,
            )
            if session_id is not None:
                query = query.where(LedgerRow.session_id == session_id)
            return list(db.scalars(query))

    def reconcile(self, session_id: int | None = None) -> list[int]:
        """Destroy what the ledger lists (of one session, or all); return affected sessions.
        Everything is destroyed before the rows are crossed off (in one write): a database
        that refuses the write (locked, full) leaves rows to cross off again, never a
        kernel object."""
        rows = sorted(self.rows(session_id), key=reconcile_order)
        affected: set[int] = set()
        done: list[int] = []
        for row in rows:
            if row.boot_id != self.owner.boot_id:
                # a previous boot: kernel state is gone, processes are other processes
                done.append(row.id)
                continue
            try:
                self._destroy(row)
            except Exception:
                log.exception("reconcile: could not remove %s %s", row.type, row.name)
                continue
            done.append(row.id)
            if row.session_id is not None:
                affected.add(row.session_id)
        if done:
            with self._sessions.begin() as db:
                db.execute(delete(LedgerRow).where(LedgerRow.id.in_(done)))
        return sorted(affected)

    def _destroy(self, row: LedgerRow) -> None:
        if row.type in PROCESS_TYPES:
            kill_process(row.pid, row.pid_start_time, group=row.type != "worker")
        elif row.type == "tracefs_instance":
            self.tracefs.instance(row.name).remove()
        elif row.type == "dynamic_event":
            self.tracefs.remove_dynamic(
                str(row.data["file"]), str(row.data["group"]), str(row.data["event"])
            )
        elif row.type == "top_level_setting":
            restore_top_level(self.tracefs.root, row.data)
        elif row.type == "bpf_tracefs_probe":
            # BCC's fallback probes (kprobe_events/uprobe_events) outlive a killed worker
            suffix = str(row.data.get("suffix") or "")
            for file, group, event in self.tracefs.dynamic_events():
                if suffix and event.endswith(suffix):
                    self.tracefs.remove_dynamic(file, group, event)

    def sweep(self, prefix: str, keep: Iterable[str] = ()) -> list[str]:
        """Remove instances and dynamic events named with this daemon's prefix."""
        kept = set(keep)
        removed = []
        for name in self.tracefs.instances(prefix):
            if name not in kept:
                try:
                    self.tracefs.instance(name).remove()
                    removed.append(name)
                except OSError as exc:
                    log.warning("sweep: cannot remove instance %s: %s", name, exc)
        for file, group, event in self.tracefs.dynamic_groups(prefix):
            if group not in kept:
                try:
                    self.tracefs.remove_dynamic(file, group, event)
                    removed.append(f"{group}/{event}")
                except OSError as exc:
                    log.warning("sweep: cannot remove %s/%s: %s", group, event, exc)
        return removed


def reconcile_order(row: LedgerRow) -> tuple[int, int, int]:
    """ORDER; top-level settings newest first, `current_tracer` before the rest (as at stop)."""
    if row.type == "top_level_setting":
        return (ORDER[row.type], row.name != "current_tracer", -row.id)
    return (ORDER.get(row.type, 9), 0, row.id)


def kill_process(pid: int | None, start_time: int | None, group: bool) -> None:
    """Stop a process we own (same pid and start time): SIGTERM, then SIGKILL."""
    if pid is None or start_time is None or process_start_time(pid) != start_time:
        return

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + KILL_WAIT_S
    while time.monotonic() < deadline:
        if process_start_time(pid) != start_time or _is_zombie(pid):
            return
        time.sleep(0.05)
    send(signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def restore_top_level(root: Path, data: dict[str, Any]) -> None:
    """Put a top-level tracefs setting back, only where it still holds what tracerd wrote."""
    restore_setting(root, data)
