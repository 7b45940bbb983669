"""An `opensnoop` flood recorded by the daemon: stored events/s and loss by source, vs bpftrace.

Usage (root): PYTHONPATH=service python bench/bpf_store.py [--calls N] [--profile F]
The openat() flood of bench/bpf_events.py (a C loop on CPU 1, gated until both tools are
attached) is traced by an `opensnoop` session of a real daemon (recorded into its store) and
by bpftrace printing the same events. Printed for tracerd: the flood's own rate, events
stored, loss by source (`bpf`: the kernel ring; `storage`: batches the writer could not
take), the time from the flood's start until all were stored, the stored events/s and the
peak RSS of the daemon and its workers; for bpftrace: printed, lost, events/s. `--profile F`
samples the daemon and its workers with py-spy into F (collapsed stacks).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bpf_events import build_flood, gated_flood, release, run_bpftrace
from bpf_ws import BPFTRACE_OPENAT
from harness import Daemon, PeakRss, profiled, ratio

QUIET_S = 1.0


def run_daemon(binary: str, calls: int, profile: Path | None = None) -> dict[str, Any]:
    with Daemon() as daemon, PeakRss(daemon.pid) as rss, profiled(daemon.pid, profile):
        session = daemon.create("bpf", {"tool": "opensnoop", "comm": "tdflood"})
        sid = session["id"]
        with gated_flood(binary, calls, "o") as flood:
            start = time.monotonic()
            flood_s = release(flood)
            last, seen = time.monotonic(), -1
            while time.monotonic() - last < QUIET_S:  # until the counters stop moving
                counters = daemon.api.get(f"/v1/sessions/{sid}").json()["counters"]
                done = counters["stored"] + sum(counters["lost"].values())
                if done != seen:
                    seen, last = done, time.monotonic()
                if done >= calls:
                    break
                time.sleep(0.05)
            stored_after = last - start
        final = daemon.api.post(f"/v1/sessions/{sid}/stop?wait=true").json()
    lost = final["counters"]["lost"]
    return {
        "events": final["counters"]["stored"],
        "lost_bpf": lost.get("bpf", 0),
        "lost_storage": lost.get("storage", 0),
        "flood_s": flood_s,
        "wall_s": max(stored_after, flood_s),
        "peak_rss_mib": rss.peak_kib / 1024,
        "peak_daemon_mib": rss.peak_daemon_kib / 1024,
        "peak_workers_mib": rss.peak_workers_kib / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--profile", type=Path, help="py-spy's collapsed stacks of the daemon here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        binary = build_flood(Path(tmp))
        ours = run_daemon(binary, args.calls, args.profile)
        peer = run_bpftrace(BPFTRACE_OPENAT, binary, args.calls, "o", True)
    ours_rate = ours["events"] / ours["wall_s"]
    peer_rate = peer["events"] / peer["wall_s"] if peer["wall_s"] else 0.0
    print(
        f"tracerd  : flood {args.calls / ours['flood_s'] / 1e6:.3f} M calls/s  stored "
        f"{ours['events']:>8}  lost bpf {ours['lost_bpf']} storage {ours['lost_storage']}  "
        f"all stored after {ours['wall_s']:.2f} s = {ours_rate / 1e6:.3f} M ev/s stored  "
        f"peak RSS daemon+workers {ours['peak_rss_mib']:.0f} MiB (daemon "
        f"{ours['peak_daemon_mib']:.0f}, workers {ours['peak_workers_mib']:.0f})"
    )
    print(
        f"bpftrace : flood {args.calls / peer['flood_s'] / 1e6:.3f} M calls/s  printed "
        f"{peer['events']:>8.0f}  lost {peer['lost']:.0f}  {peer_rate / 1e6:.3f} M ev/s"
    )
    print(f"ratio tracerd stored / bpftrace printed (events/s): {ratio(ours_rate, peer_rate)}")


if __name__ == "__main__":
    main()
