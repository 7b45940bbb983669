"""Bytes a ptrace session stores per traced call vs `strace -f -o FILE` on the same command.

Usage (root): PYTHONPATH=service python bench/ptrace_size.py [--rounds N] [--breakdown]
    [--keep DB]  (--breakdown: pages per table and index, column and fields-key sizes)
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
import shutil
import sqlite3
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


def run_daemon(argv: list[str], keep: Path | None) -> tuple[int, int]:
    with Daemon() as daemon:
        session = daemon.create("ptrace", {"command": argv, "follow_forks": True})
        final = daemon.wait_final(session["id"])
        stored = int(final["counters"]["stored"])
        db = daemon.dir / "state" / "tracerd.db"
        size = events_bytes(db)
        if keep is not None:
            src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            with sqlite3.connect(keep) as dst:
                src.backup(dst)
            src.close()
    return stored, size


def breakdown(path: Path) -> None:
    """Where a stored event's bytes go: pages per table and index (dbstat), the average
    length of each column, and of each key of the events' JSON `fields`."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    (rows,) = con.execute("SELECT count(*) FROM events").fetchone()
    print(f"pages per table/index (bytes per event of {rows:,} rows):")
    for name, size in con.execute(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 12"
    ):
        print(f"  {name:28s} {size:>12,}  {size / max(1, rows):7.1f}")
    columns = [r[1] for r in con.execute("PRAGMA table_info(events)")]
    lengths = ", ".join(f"avg(length(CAST({c} AS BLOB)))" for c in columns)
    print("average column lengths (as stored text/blob):")
    for c, n in zip(columns, con.execute(f"SELECT {lengths} FROM events").fetchone(), strict=True):
        print(f"  {c:28s} {n or 0:7.1f}")
    print("average length of each JSON key's value in `fields` (per row that has it):")
    for key, n, length in con.execute(
        "SELECT j.key, count(*), avg(length(CAST(j.value AS BLOB)) + length(j.key) + 4) "
        "FROM events, json_each(events.fields) AS j WHERE json_valid(events.fields) "
        "GROUP BY j.key ORDER BY 3 * 2 DESC"
    ):
        print(f"  {key:28s} {n:>9,} rows  {length or 0:7.1f}")
    n, length = con.execute(
        "SELECT count(*), avg(length(CAST(fields AS BLOB))) FROM events WHERE fields GLOB '~*'"
    ).fetchone()
    print(f"compact syscalls (`fields` not JSON): {n:,} rows, {length or 0:.1f} B each")
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="copy the daemon's database here")
    ap.add_argument("--breakdown", action="store_true", help="print where the bytes go")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    argv = command(args.rounds)
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        s_events, s_bytes = run_strace(argv, tmp)
    keep = args.keep
    if args.breakdown and keep is None:
        keep = Path(tempfile.mkdtemp(prefix="tracerd-bench-")) / "tracerd.db"
    t_events, t_bytes = run_daemon(argv, keep)
    for label, n, b in (("tracerd", t_events, t_bytes), ("strace -o", s_events, s_bytes)):
        print(f"{label:9s}: {n:>9,} events  {b:>12,} bytes  {b / max(1, n):7.1f} B/event")
    print(
        f"ratio tracerd/strace: bytes {t_bytes / max(1, s_bytes):.2f}  "
        f"bytes/event {(t_bytes / max(1, t_events)) / (s_bytes / max(1, s_events)):.2f}  "
        f"events {t_events / max(1, s_events):.3f}"
    )
    if args.breakdown and keep is not None:
        breakdown(keep)
        if args.keep is None:
            shutil.rmtree(keep.parent)


if __name__ == "__main__":
    main()
