"""Events/s delivered to a WebSocket client: `opensnoop` through the daemon vs bpftrace.

Usage (root): PYTHONPATH=service python bench/bpf_ws.py [--calls N]
The same openat() flood (bench/bpf_events.py's, on CPU 1) is traced by an `opensnoop`
session of a real daemon whose stream a WebSocket client reads (counting events and
`lost` messages until the flood's events stop coming), and by bpftrace printing the same
events with printf. Printed: delivered, lost (kernel + subscriber), events/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bpf_events import build_flood, gated_flood, release, run_bpftrace
from harness import Daemon, ratio
from websockets.sync.client import unix_connect

BPFTRACE_OPENAT = (
    "tracepoint:syscalls:sys_enter_openat /pid == FLOODPID/ "
    '{ printf("%d %s %s\\n", pid, comm, str(args->filename)); }'
)
QUIET_S = 1.0


def ws_count(daemon: Daemon, sid: str, result: dict[str, Any], stop: threading.Event) -> None:
    path = f"ws://tracerd/v1/sessions/{sid}/stream"
    with unix_connect(daemon.socket, path, max_size=None) as ws:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(timeout=0.2))
            except TimeoutError:
                continue
            if message["type"] == "events":
                result["events"] += sum(1 for e in message["events"] if e["comm"] == "tdflood")
                result["last"] = time.monotonic()
            elif message["type"] == "lost":
                result["lost"] += int(message.get("count") or 0)
            elif message["type"] == "end":
                return


def run_daemon(binary: str, calls: int) -> dict[str, float]:
    with Daemon() as daemon:
        session = daemon.create("bpf", {"tool": "opensnoop", "comm": "tdflood"})
        result: dict[str, Any] = {"events": 0, "lost": 0, "last": time.monotonic()}
        stop = threading.Event()
        reader = threading.Thread(target=ws_count, args=(daemon, session["id"], result, stop))
        reader.start()
        time.sleep(0.5)  # the client is subscribed
        with gated_flood(binary, calls, "o") as flood:
            start = time.monotonic()
            flood_s = release(flood)
            while (
                time.monotonic() - result["last"] < QUIET_S
                and result["events"] + result["lost"] < calls
            ):
                time.sleep(0.05)
        wall = max(result["last"] - start, flood_s)
        final = daemon.api.post(f"/v1/sessions/{session['id']}/stop?wait=true").json()
        stop.set()
        reader.join()
    kernel = final["counters"]["lost"]["bpf"]
    return {
        "events": result["events"],
        "lost": result["lost"] + kernel,
        "wall_s": wall,
        "flood_s": flood_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        binary = build_flood(Path(tmp))
        ours = run_daemon(binary, args.calls)
        peer = run_bpftrace(BPFTRACE_OPENAT, binary, args.calls, "o", True)
    for label, r in (("tracerd ws", ours), ("bpftrace", peer)):
        rate = r["events"] / r["wall_s"] if r["wall_s"] else 0.0
        print(
            f"{label:10s}: delivered {r['events']:>8.0f}  lost {r['lost']:>8.0f}  "
            f"{rate / 1e6:.3f} M events/s  (flood {r['flood_s']:.2f} s)"
        )
    ours_rate = ours["events"] / ours["wall_s"]
    peer_rate = peer["events"] / peer["wall_s"]
    print(f"ratio tracerd-to-WebSocket / bpftrace printf: {ratio(ours_rate, peer_rate)}")


if __name__ == "__main__":
    main()
