"""Daemon settings: flags and TRACERD_* environment variables over embedded defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kernel.tracefs import DEFAULT_ROOT

DEFAULT_STATE_DIR = "/var/lib/tracerd"
DEFAULT_SOCKET = "/run/tracerd/tracerd.sock"
DEFAULT_LISTEN = "127.0.0.1:7433"


class Settings(BaseSettings):
    """Everything configurable. Built in `create_app` / `serve`, never at import."""

    model_config = SettingsConfigDict(env_prefix="TRACERD_", extra="ignore")

    listen: str | None = Field(
        default=DEFAULT_LISTEN, description="HOST:PORT for TCP (token auth); empty disables"
    )
    socket: str | None = Field(
        default=DEFAULT_SOCKET, description="unix socket path (mode 0600, admin); empty disables"
    )
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    db_url: str | None = Field(default=None, description="default: SQLite in the state dir")
    tracefs: Path = DEFAULT_ROOT
    log_level: str = "info"

    # quotas and limits (design.md "Security": configurable, enforced)
    max_sessions: int = Field(default=16, ge=1, description="concurrent running sessions")
    max_buffer_size_kb: int = Field(default=256 * 1024, ge=4)
    worker_raw_memory_mb: int = Field(default=64, ge=1, description="raw pages in memory/session")
    worker_spool_mb: int = Field(
        default=512,
        ge=0,
        description="raw pages (tracefs) or batches waiting for the writer (bpf) on disk/session",
    )
    daemon_pending_events: int = Field(
        default=100_000, ge=1000, description="events queued for the writer (all sessions)"
    )
    stream_queue_kib: int = Field(
        default=8 * 1024, ge=64, description="queued stream bytes per subscriber (past it: loss)"
    )
    stream_total_queue_mb: int = Field(
        default=256, ge=1, description="queued stream bytes of all subscribers together"
    )
    stream_max_per_session: int = Field(default=64, ge=1, description="subscribers per session")
    stream_max_per_token: int = Field(default=64, ge=1, description="open streams per token")
    stream_max_subscribers: int = Field(default=256, ge=1, description="subscribers in all")
    stop_timeout_s: float = Field(
        default=30.0, gt=0, description="a worker's drain and release, after which it is killed"
    )

    # slow and many clients (README "Security")
    max_connections: int = Field(
        default=1000,
        ge=16,
        description="open TCP connections; past it the oldest one still sending headers is "
        "closed (capped by the fd limit, raised to its hard limit at start)",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=3600, description="a request's headers must arrive within this"
    )

    # retention (0 = unlimited)
    retention_max_age_s: float = Field(default=0, ge=0)
    retention_max_events_total: int = Field(default=0, ge=0)
    retention_max_events_per_session: int = Field(default=0, ge=0)
    retention_interval_s: float = Field(default=60.0, gt=0)

    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.state_dir / 'tracerd.db'}"

    @property
    def listen_host_port(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def admin_token_path(self) -> Path:
        return self.state_dir / "admin.token"
