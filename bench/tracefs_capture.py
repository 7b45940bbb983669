"""End-to-end capture: a tracefs session of the real daemon vs `trace-cmd record`.

Usage (root): PYTHONPATH=service python bench/tracefs_capture.py [N] [--buffer-kb KB] [--profile F]
The load makes N getppid() calls and prints its own loop time. Both tools trace
`syscalls:sys_enter_getppid` of the launched load with the same per-CPU buffer. Printed:
events stored (tracerd: in its database; trace-cmd: in its report), events lost, the
load's slowdown against an untraced run, the time until everything is stored, bytes per
stored event (trace.dat as trace-cmd 3 writes it, compressed, and converted to an
uncompressed file: the kernel's records) and the peak RSS of the daemon plus its workers;
then the ratios. `--profile F` samples the daemon
and its workers with py-spy into F (collapsed stacks: where the time goes).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import Daemon, PeakRss, build_c, profiled
from tracefs_drain import LOAD_C, run_trace_cmd, run_untraced


def events_bytes(path: Path) -> int:
    """Bytes of the database pages that hold events (the table, its indexes, its blocks)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema "
            "WHERE tbl_name IN ('events', 'event_blocks'))"
        ).fetchone()
    finally:
        con.close()
    return int(row[0] or 0)


def run_daemon(exe: str, n: int, buffer_kb: int, profile: Path | None) -> dict[str, float]:
    with Daemon() as daemon, PeakRss(daemon.pid) as rss, profiled(daemon.pid, profile):
        started = time.monotonic()
        session = daemon.create(
            "tracefs",
            {
                "events": ["syscalls:sys_enter_getppid"],
                "command": [exe, str(n)],
                "buffer_size_kb": buffer_kb,
                "follow_forks": False,
            },
        )
        final = daemon.wait_final(session["id"])
        stored_after = time.monotonic() - started
        out = list(daemon.events(session["id"], name="stdout"))
        stored_bytes = events_bytes(daemon.dir / "state" / "tracerd.db")
    loop = int(out[0]["fields"]["text"]) / 1e9 if out else float("nan")
    return {
        "events": final["counters"]["stored"] - len(out),
        "lost": sum(final["counters"]["lost"].values()),
        "loop_s": loop,
        "until_all_out_s": stored_after,
        "bytes_per_event": stored_bytes / max(1, final["counters"]["stored"]),
        "peak_rss_mib": rss.peak_kib / 1024,
        "peak_daemon_mib": rss.peak_daemon_kib / 1024,
        "peak_workers_mib": rss.peak_workers_kib / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=2_000_000)
    ap.add_argument("--buffer-kb", type=int, default=1408)
    ap.add_argument("--profile", type=Path, help="py-spy's collapsed stacks of the daemon here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        exe = build_c(LOAD_C, f"tdload{uuid.uuid4().hex[:6]}", Path(tmp))
        base = run_untraced(exe, args.n)
        ours = run_daemon(exe, args.n, args.buffer_kb, args.profile)
        peer = run_trace_cmd(exe, args.n, args.buffer_kb, tmp)
    print(f"untraced load: {base:.3f} s for {args.n} getppid()")
    for label, r in (("tracerd", ours), ("trace-cmd", peer)):
        extra = (
            f"  peak RSS daemon+workers {r['peak_rss_mib']:.0f} MiB (daemon "
            f"{r['peak_daemon_mib']:.0f}, workers {r['peak_workers_mib']:.0f})"
            if "peak_rss_mib" in r
            else ""
        )
        print(
            f"{label:9s}: stored {r['events']:>9.0f}  lost {r['lost']:>7.0f}  "
            f"load {r['loop_s']:.3f} s (x{r['loop_s'] / base:.2f})  "
            f"all stored after {r['until_all_out_s']:.1f} s  "
            f"{r['bytes_per_event']:.1f} B/event{extra}"
        )
    print(
        f"ratios tracerd/trace-cmd: stored {ours['events'] / max(1, peer['events']):.3f}  "
        f"load slowdown {ours['loop_s'] / peer['loop_s']:.2f}  "
        f"time to stored {ours['until_all_out_s'] / peer['until_all_out_s']:.2f}  "
        f"bytes/event {ours['bytes_per_event'] / peer['bytes_per_event']:.2f} (trace.dat "
        f"uncompressed: {peer['plain_bytes_per_event']:.1f} B/event, ratio "
        f"{ours['bytes_per_event'] / peer['plain_bytes_per_event']:.2f})"
    )


if __name__ == "__main__":
    main()
