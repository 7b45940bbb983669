"""Shared bench plumbing: a real `tracerd serve` on a temp state dir, C loads, peak RSS."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


def build_c(source: str, name: str, workdir: Path) -> str:
    src = workdir / f"{name}.c"
    src.write_text(source)
    exe = workdir / name
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return str(exe)


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class PeakRss:
    """Samples the RSS of a process and its children (workers) every 50 ms; keeps the peak
    of their sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self.peak_daemon_kib = 0
        self.peak_workers_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            daemon = rss_kib(self.pid)
            workers = sum(rss_kib(c) for c in children(self.pid) if "workers.main" in _cmdline(c))
            self.peak_kib = max(self.peak_kib, daemon + workers)
            self.peak_daemon_kib = max(self.peak_daemon_kib, daemon)
            self.peak_workers_kib = max(self.peak_workers_kib, workers)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Daemon:
    """`tracerd serve` with its own state dir and socket; `api` talks over the socket."""

    def __init__(
        self,
        prefix: list[str] | None = None,
        listen: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.prefix = prefix or []
        """a command prefix, e.g. nsenter into a test network namespace"""
        self.listen = listen
        """a TCP address as well (`127.0.0.1:0`: a free port, see `url`)"""
        self.env = env or {}
        self.dir = Path(tempfile.mkdtemp(prefix="tdb", dir="/tmp"))
        self.socket = str(self.dir / "s.sock")
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket), base_url="http://tracerd", timeout=600
        )

    def __enter__(self) -> Daemon:
        env = {**os.environ, "PYTHONPATH": str(REPO / "service"), **self.env}
        with open(self.dir / "daemon.log", "wb") as log:
            self.proc = subprocess.Popen(
                [
                    *self.prefix,
                    sys.executable,
                    "-m",
                    "tracerd",
                    "serve",
                    "--listen",
                    self.listen,
                    "--socket",
                    self.socket,
                    "--state-dir",
                    str(self.dir / "state"),
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if self.api.get("/v1/health").status_code == 200:
                    self.api.get("/v1/capabilities")  # wait for the probe
                    return self
            time.sleep(0.1)
        raise RuntimeError((self.dir / "daemon.log").read_text())

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(120)
        self.api.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        """The TCP address (`listen` given), as the daemon wrote it in its state dir."""
        lines = (self.dir / "state" / "address").read_text().split()
        return next(x for x in lines if x.startswith("http"))

    @property
    def admin(self) -> str:
        return (self.dir / "state" / "admin.token").read_text().strip()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def create(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        resp = self.api.post(
            "/v1/sessions", json={"kind": kind, "spec": spec}, params={"wait": "true"}
        )
        resp.raise_for_status()
        return dict(resp.json())

    def wait_final(self, sid: str, timeout_s: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            session = self.api.get(f"/v1/sessions/{sid}").json()
            if session["state"] in ("stopped", "failed", "interrupted"):
                return dict(session)
            time.sleep(0.2)
        raise TimeoutError(sid)

    def events(self, sid: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            query = {**params, "limit": 10000, **({"cursor": cursor} if cursor else {})}
            page = self.api.get(f"/v1/sessions/{sid}/events", params=query).json()
            yield from page["events"]
            cursor = page["next_cursor"]
            if cursor is None:
                return


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


@contextlib.contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy samples the process and its workers into `out` (collapsed stacks) if given."""
    if out is None:
        yield
        return
    py_spy = str(Path(sys.executable).parent / "py-spy")
    options = ["--subprocesses", "--nonblocking", "--threads", "--rate", "50", "--format", "raw"]
    spy = subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), *options, "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
