"""Host identity: host id, boot id, the daemon's id and its exclusive lock on the state dir."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from pathlib import Path

from ..errors import ResourceBusy

DAEMON_ID_BYTES = 3  # 6 hex digits: instance names stay short (tracerd_<id>_<session>)


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def host_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return os.uname().nodename


class StateDir:
    """The daemon's state directory, held with an exclusive flock for the daemon's life."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd = -1
        self.daemon_id = ""

    def acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise ResourceBusy(
                f"state dir {self.path} is locked by another daemon (pid {holder or '?'})",
                {"state_dir": str(self.path), "pid": holder},
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        self.daemon_id = self._load_daemon_id()
        (self.path / "spool").mkdir(exist_ok=True, mode=0o700)

    def _load_daemon_id(self) -> str:
        id_path = self.path / "daemon_id"
        try:
            value = id_path.read_text().strip()
        except FileNotFoundError:
            value = ""
        if re.fullmatch(r"[0-9a-f]{6,32}", value) is None:
            value = secrets.token_hex(DAEMON_ID_BYTES)
            tmp = id_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(value + "\n")
            tmp.replace(id_path)
        return value

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
