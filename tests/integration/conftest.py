"""Daemons for integration tests: in-process (TestClient) and as a real process."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tracerd.app import create_app
from tracerd.config import Settings

from ..waits import WAIT_TIMEOUT_S

START_TIMEOUT_S = 30.0


@dataclass
class InProcess:
    client: TestClient
    settings: Settings
    admin: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin}"}

    def token(self, role: str) -> str:
        resp = self.client.post(
            "/v1/tokens", json={"name": f"test-{role}", "role": role}, headers=self.headers()
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["token"])

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers=self.headers(token), **kw)

    def create(
        self, kind: str, spec: dict[str, Any], wait: bool = False, **kw: Any
    ) -> httpx.Response:
        """POST /v1/sessions; `wait`: answer once it runs (a test that acts at once and
        expects the session to see it must wait: without, the answer comes while starting)."""
        params = {"wait": "true"} if wait else None
        body = {"kind": kind, "spec": spec, **kw}
        return self.call("POST", "/v1/sessions", params=params, json=body)


def settings_for(root: Path, **extra: Any) -> Settings:
    return Settings(
        state_dir=root / "state", socket=str(root / "s.sock"), listen="127.0.0.1:0", **extra
    )


@pytest.fixture
def daemon(short_tmp: Path) -> Iterator[InProcess]:
    """The app in-process, with its real engines, workers and a temporary SQLite."""
    settings = settings_for(short_tmp)
    with TestClient(create_app(settings)) as client:
        admin = settings.admin_token_path.read_text().strip()
        yield InProcess(client, settings, admin)


class DaemonProcess:
    """`tracerd serve` as a real process on an ephemeral port and a short socket path."""

    def __init__(self, root: Path, prefix: list[str] | None = None) -> None:
        self.root = root
        self.prefix = prefix or []
        """a command prefix, e.g. nsenter into a test network namespace"""
        self.state_dir = root / "state"
        self.socket = str(root / "s.sock")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, check: bool = True) -> subprocess.Popen[bytes]:
        address = self.state_dir / "address"
        with contextlib.suppress(FileNotFoundError):
            address.unlink()
        with open(self.root / "daemon.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    *self.prefix,
                    sys.executable,
                    "-m",
                    "tracerd",
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--socket",
                    self.socket,
                    "--state-dir",
                    str(self.state_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if check:
            self.wait_ready()
        return self.proc

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited: {self.log()}")
            with contextlib.suppress(httpx.TransportError, FileNotFoundError):
                lines = (self.state_dir / "address").read_text().split()
                self.url = next(x for x in lines if x.startswith("http"))
                with self.unix() as unix:
                    if unix.get("/v1/health").status_code == 200:
                        return
            time.sleep(0.1)
        raise AssertionError(f"daemon not ready: {self.log()}")

    def log(self) -> str:
        return (self.root / "daemon.log").read_text(errors="replace")[-4000:]

    @property
    def admin(self) -> str:
        return (self.state_dir / "admin.token").read_text().strip()

    def unix(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket), base_url="http://tracerd", timeout=60
        )

    def tcp(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout_s: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def daemon_process(short_tmp: Path) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(short_tmp)
    try:
        yield proc
    finally:
        proc.stop()


def wait_for(predicate: Any, timeout_s: float = WAIT_TIMEOUT_S, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval_s)


def wait_final(daemon: InProcess, sid: str, timeout_s: float = WAIT_TIMEOUT_S) -> dict[str, Any]:
    """Until the session is stopped or failed: its view (a timeout says where it stands)."""

    def view() -> dict[str, Any]:
        return dict(daemon.call("GET", f"/v1/sessions/{sid}").json())

    try:
        return dict(
            wait_for(lambda: (s := view())["state"] in ("stopped", "failed") and s, timeout_s)
        )
    except AssertionError as exc:
        raise AssertionError(f"session {sid} not final: {view()}") from exc


SESSION_INSTANCE = re.compile(r"^tracerd_[0-9a-f]{6,32}_\d+$")


def instances() -> list[str]:
    """Instances of daemon sessions (`tracerd_<daemon>_<session>`)."""
    return sorted(
        p.name
        for p in Path("/sys/kernel/tracing/instances").iterdir()
        if SESSION_INSTANCE.match(p.name)
    )


def process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state != "Z"


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def small_disk(short_tmp: Path) -> Iterator[Path]:
    mount = short_tmp / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tracerd-test", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill the file system to its last byte (unbuffered: nothing is left to flush)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler
