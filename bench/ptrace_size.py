"""Bytes a ptrace session stores per traced call vs `strace -f -o FILE` on the same command.

Usage (root): PYTHONPATH=service python bench/ptrace_size.py [--rounds N]
The command (a shell listing /usr/share/doc recursively with `ls -laR` and reading a few
files, N times, output to /dev/null: stat, xattr, getdents, open, read, write calls) runs
under strace (`-f -o FILE`, every syscall, default 32-byte strings) and as a ptrace session
of a real daemon (`follow_forks`, every syscall, the same string limit). Printed: events
(strace's lines; the session's stored events), bytes (strace's file; the database pages of
the events table and its zone map) and bytes per event of each, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Daemon
from tracefs_capture import events_bytes

SCRIPT = (
    "for i in $(seq {rounds}); do ls -laR /usr/share/doc; "
    "cat /etc/services /etc/protocols /etc/passwd; done >/dev/null 2>&1"
)


def command(rounds: int) -> list[str]:
    return ["/bin/sh", "-c", SCRIPT.format(rounds=rounds)]


def run_strace(argv: list[str], tmp: str) -> tuple[int, int]:
    out = Path(tmp) / "strace.txt"
    subprocess.run(["strace", "-f", "-qq", "-o", str(out), *argv], check=True)
    with out.open("rb") as f:
        lines = sum(1 for _ in f)
    return lines, out.stat().st_size


def run_daemon(argv: list[str]) -> tuple[int, int]:
    with Daemon() as daemon:
        session = daemon.create("ptrace", {"command": argv, "follow_forks": True})
        final = daemon.wait_final(session["id"])
        stored = int(final["counters"]["stored"])
        size = events_bytes(daemon.dir / "state" / "tracerd.db")
    return stored, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    argv = command(args.rounds)
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        s_events, s_bytes = run_strace(argv, tmp)
    t_events, t_bytes = run_daemon(argv)
    for label, n, b in (("tracerd", t_events, t_bytes), ("strace -o", s_events, s_bytes)):
        print(f"{label:9s}: {n:>9,} events  {b:>12,} bytes  {b / max(1, n):7.1f} B/event")
    print(
        f"ratio tracerd/strace: bytes {t_bytes / max(1, s_bytes):.2f}  "
        f"bytes/event {(t_bytes / max(1, t_events)) / (s_bytes / max(1, s_events)):.2f}  "
        f"events {t_events / max(1, s_events):.3f}"
    )


if __name__ == "__main__":
    main()
