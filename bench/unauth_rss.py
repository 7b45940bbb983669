"""Daemon memory under unauthenticated load: peak RSS against idle, per attack.

Usage (root, under the kernel-test lock: the daemon probes the kernel at start):
PYTHONPATH=service python bench/unauth_rss.py [--scale S]

A `tracerd serve` on a temp state dir listening on 127.0.0.1 (its default limits: 4 MiB
bodies, 1,000 TCP connections, 10 s for headers); its RSS (VmRSS) sampled every 50 ms.
Idle: the median over 2 s after start and one authenticated request. Then, without any
token, one attack at a time (each after the RSS settled):

- chunked: 32 connections at once each sending a chunked POST /v1/sessions of up to
  200 MiB in 1 MiB chunks (the issue's 94 -> 682 MB case), until the daemon answers or
  closes;
- declared: 200 connections at once each sending a 4 MiB body with Content-Length;
- slowloris: 1,100 requests whose headers never end, held 5 s, /v1/health asked meanwhile;
- connections: 2,000 connections opened and held 5 s (past the connection cap).

Printed per attack: requests answered and their statuses, the peak RSS and its ratio to
idle (goal ≤ 2×), whether /v1/health answered during it. Exit status 1 if a peak is over
twice idle or health did not answer.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from harness import Daemon, PeakRss, rss_kib

CHUNK = b"x" * (1 << 20)


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def status_of(sock: socket.socket) -> int:
    """The status of the answer on `sock`, 0 if it closed without one."""
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def chunked_post(url: str) -> int:
    head = (
        "POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    with connect(url) as sock:
        sock.sendall(head.encode())
        with contextlib.suppress(OSError):
            for _ in range(200):
                sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
        return status_of(sock)


def declared_post(url: str) -> int:
    body = b"x" * (4 << 20)
    head = (
        "POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with connect(url) as sock:
        sock.sendall(head.encode())
        with contextlib.suppress(OSError):
            sock.sendall(body)
        return status_of(sock)


def health(url: str) -> bool:
    try:
        with connect(url) as sock:
            sock.settimeout(10)
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return status_of(sock) == 200
    except OSError:
        return False


def held(url: str, n: int, head: bytes) -> tuple[list[socket.socket], int]:
    """`n` connections (as many as the machine lets open) that each sent `head`."""
    out, refused = [], 0
    for _ in range(n):
        try:
            sock = connect(url)
            if head:
                sock.sendall(head)
            out.append(sock)
        except OSError:
            refused += 1
    return out, refused


def settle(pid: int) -> int:
    time.sleep(2.0)
    return rss_kib(pid)


def attack(
    daemon: Daemon, idle_kib: int, name: str, run: Callable[[], tuple[Counter[str], bool]]
) -> bool:
    settle(daemon.pid)
    with PeakRss(daemon.pid) as peak:
        statuses, healthy = run()
        time.sleep(0.5)
    ratio = peak.peak_daemon_kib / idle_kib
    print(
        f"{name:<12} answers {dict(sorted(statuses.items()))}  "
        f"peak RSS {peak.peak_daemon_kib / 1024:6.1f} MiB = {ratio:.2f}x idle  "
        f"health answered: {healthy}"
    )
    return ratio <= 2.0 and healthy


def parallel(url: str, n: int, request: Callable[[str], int]) -> tuple[Counter[str], bool]:
    healthy = [True]
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            healthy[0] = healthy[0] and health(url)
            time.sleep(0.5)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(n) as pool:
            statuses = Counter(str(s) for s in pool.map(lambda _: request(url), range(n)))
    finally:
        done.set()
        prober.join()
    return statuses, healthy[0]


def holding(url: str, n: int, head: bytes) -> tuple[Counter[str], bool]:
    socks, refused = held(url, n, head)
    try:
        time.sleep(5.0)
        healthy = health(url)
        closed = 0
        for sock in socks:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass  # still open, nothing said
            except OSError:
                closed += 1  # reset by the daemon
    finally:
        for sock in socks:
            sock.close()
    held_open = len(socks) - closed
    return Counter({"held": held_open, "closed by daemon": closed, "refused": refused}), healthy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the counts")
    args = parser.parse_args()
    n = lambda count: max(1, int(count * args.scale))  # noqa: E731
    with Daemon(listen="127.0.0.1:0") as daemon:
        url = daemon.url
        daemon.api.get("/v1/sessions")
        samples = []
        for _ in range(40):
            samples.append(rss_kib(daemon.pid))
            time.sleep(0.05)
        idle = int(statistics.median(samples))
        print(f"idle RSS {idle / 1024:.1f} MiB (daemon pid {daemon.pid})")
        ok = [
            attack(daemon, idle, "chunked", lambda: parallel(url, n(32), chunked_post)),
            attack(daemon, idle, "declared", lambda: parallel(url, n(200), declared_post)),
            attack(
                daemon,
                idle,
                "slowloris",
                lambda: holding(url, n(1100), b"GET /v1/health HTTP/1.1\r\nHost: t\r\nX-a: "),
            ),
            attack(daemon, idle, "connections", lambda: holding(url, n(2000), b"")),
        ]
        print(f"after: RSS {settle(daemon.pid) / 1024:.1f} MiB")
    if not all(ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
