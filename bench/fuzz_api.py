"""The long fuzz run: ≥ 10,000 schemathesis requests against a real daemon, counted.

Usage (root): PYTHONPATH=service python bench/fuzz_api.py [--scale S] [--seed N] [--lock FILE]

The run can be split (to hold the kernel-test lock for shorter spells): runs with
different --seed values send different requests, and their scales add up (five runs of
--scale 8, seeds 1..5, send about as many requests as one of scale 40).

With --lock (the shared kernel-test lock) the reads (GETs: the database, /proc, tracefs
files) run first without it; the lock is taken for the operations that may create kernel
objects (every other method), each of whose batches ends by stopping every session, and
kept to the end; without --lock, run it under the lock.

A `tracerd serve` on a temp state dir listening on 127.0.0.1 (a free port), with
TRACERD_MAX_SESSIONS=4 and a 10 s stop timeout as the suite's fuzz test; a viewer token
and four known sessions; then every operation of the served OpenAPI schema gets
8×S valid and 5×S schema-breaking requests (tests/fuzzing.py), each with the admin or the
viewer token and a 30 s timeout (operations whose inputs cannot break the schema get no
negative requests: scale 30 made 7,910 requests, 40 about 10,500). Printed: requests,
status counts, 500s, hangs, the slowest answer, the first failures; then every session is
stopped and what is left is checked (sessions not final, worker processes, this daemon's
tracefs instances). Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from harness import REPO, Daemon

sys.path.insert(0, str(REPO))
import httpx

from tests.fuzzing import children, fuzz, prepare, stop_all


def instances(daemon_id: str) -> list[str]:
    root = Path("/sys/kernel/tracing/instances")
    return sorted(p.name for p in root.iterdir() if p.name.startswith(f"tracerd_{daemon_id}_"))


@contextlib.contextmanager
def held(path: str | None) -> Iterator[None]:
    """The lock at `path` held (nothing without a path)."""
    if path is None:
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def stopping_all(api: httpx.Client) -> Iterator[None]:
    """One batch; the sessions it started stopped after it."""
    try:
        yield
    finally:
        stop_all(api)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=40.0, help="40: about 10,500 requests")
    parser.add_argument("--seed", type=int, help="hypothesis seed (reproducible requests)")
    parser.add_argument("--lock", help="take this lock for each batch (the kernel-test lock)")
    args = parser.parse_args()
    env = {"TRACERD_MAX_SESSIONS": "4", "TRACERD_STOP_TIMEOUT_S": "10"}
    daemon = Daemon(listen="127.0.0.1:0", env=env)
    sleeper = subprocess.Popen(["sleep", "100000"])
    with held(args.lock):  # the daemon probes the kernel at start; known sessions, stopped
        daemon.__enter__()
        daemon_id = daemon.api.get("/v1/health").json()["daemon_id"]
        viewer, known_ids = prepare(daemon.api)
        stop_all(daemon.api)
    try:
        writing = contextlib.ExitStack()  # the lock, once taken for the writes, kept
        locked_for_writes = False

        def each_batch(method: str) -> contextlib.AbstractContextManager[object]:
            nonlocal locked_for_writes
            if method == "GET":  # reads: the database, /proc, tracefs files
                return contextlib.nullcontext()
            if args.lock and not locked_for_writes:
                writing.enter_context(held(args.lock))
                locked_for_writes = True
            return stopping_all(daemon.api)

        tokens = {"admin": daemon.admin, "viewer": viewer}
        report = fuzz(
            daemon.url,
            tokens,
            known_ids,
            sleeper.pid,
            args.scale,
            progress=print,
            each_batch=each_batch,
            seed=args.seed,
        )
        print(report.summary())
        for failure in report.failures[:20]:
            print(f"  {failure}")
        with writing, held(None if locked_for_writes else args.lock):
            states = stop_all(daemon.api)
            deadline = time.monotonic() + 30
            while children(daemon.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = {
                "active sessions": sorted(states & {"starting", "running", "stopping"}),
                "worker processes": children(daemon.pid),
                "tracefs instances": instances(daemon_id),
            }
            print(f"left after stopping every session: {left}")
            daemon.__exit__(None, None, None)
    finally:
        sleeper.kill()
        sleeper.wait()
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.__exit__(None, None, None)
    print(f"requests: {report.requests} ({'' if report.requests >= 10_000 else 'not '}>= 10,000)")
    if report.failures or any(left.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
