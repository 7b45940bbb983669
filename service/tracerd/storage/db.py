"""Database engine, connection settings and migrations (Alembic, applied at start-up).

SQLite runs in WAL mode with foreign keys on; `auto_vacuum=INCREMENTAL` is set by the
first migration (it cannot be changed once tables exist). Other databases (PostgreSQL)
are used as configured, with the same bound on a lock wait: SQLite's busy timeout is
PostgreSQL's `lock_timeout` (a statement waiting longer for a lock another connection
holds fails, as SQLite's `database is locked` does, instead of wedging the daemon), and
connecting gives up after CONNECT_TIMEOUT_S.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
SHORT_BUSY_TIMEOUT_MS = 200
"""for threads that retry on their own (the control writers): a lock another connection
holds costs them one short wait per attempt, so their time budget holds"""
CONNECT_TIMEOUT_S = 10
"""PostgreSQL: a server that does not answer fails the connection (libpq waits forever)"""
_busy = threading.local()


def short_busy_timeout() -> None:
    """Connections checked out by this thread from now on wait at most
    SHORT_BUSY_TIMEOUT_MS for a lock (a thread pool's initializer)."""
    _busy.timeout_ms = SHORT_BUSY_TIMEOUT_MS


def _lock_wait_ms() -> int:
    return int(getattr(_busy, "timeout_ms", BUSY_TIMEOUT_MS))


def migrations_dir() -> Path:
    """`migrations/` at the repository root (next to pyproject.toml)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "migrations"
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migrations/ not found beside the package")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_busy_timeout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The checking-out thread's busy timeout (a pooled connection serves any thread)."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_lock_wait_ms()}")
    cursor.close()


def _pg_lock_timeout(dbapi_connection: Any, record: Any, _proxy: Any = None) -> None:
    """The connecting or checking-out thread's lock wait as the session's `lock_timeout`
    (set outside a transaction, so a rollback keeps it; only when it changes)."""
    want = _lock_wait_ms()
    if record.info.get("lock_timeout_ms") == want:
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {want}")
        cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit
    record.info["lock_timeout_ms"] = want


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkout", _sqlite_busy_timeout)
        return engine
    if url.startswith("postgresql"):
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
        event.listen(engine, "connect", _pg_lock_timeout)
        event.listen(engine, "checkout", _pg_lock_timeout)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Apply every migration (idempotent). A SQLite database is created in a 0700
    directory and left (with its -wal and -shm files) mode 0600."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=STATE_DIR_MODE)
    command.upgrade(alembic_config(url), "head")
    if path is not None:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _tighten(file, STATE_FILE_MODE)


# -- file permissions: the state holds every recorded event, token hashes, the audit log --

STATE_DIR_MODE = 0o700
STATE_FILE_MODE = 0o600


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


def _tighten(path: Path, mode: int) -> bool:
    """chmod to `mode` if group or others have any access; True if it was loosened."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return False
    os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
    return True


def secure_state_dir(state_dir: Path) -> list[str]:
    """Create the state dir 0700; tighten it and everything in it to 0700 (directories) and
    0600 (files) at most. Returns the paths that were looser (for a warning)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=STATE_DIR_MODE)
    tightened = []
    for root, dirs, files in os.walk(state_dir):
        base = Path(root)
        if _tighten(base, STATE_DIR_MODE):
            tightened.append(str(base))
        for name in files:
            if _tighten(base / name, STATE_FILE_MODE):
                tightened.append(str(base / name))
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return tightened
