"""Stream throughput: events/s delivered to one WebSocket client, and `from_seq` replay.

  sudo PYTHONPATH=service .venv/bin/python bench/ws_stream.py [--calls N] [--replay N]
      [--only live|replay|hub] [--format events|columns] [--rounds R]

Live: a getppid() flood (bench/bpf_events.py's, on CPU 1) traced by a per-event BPF program
(32-byte ring-buffer records) in a real daemon; one WebSocket client (its own process,
orjson) reads the session's stream until `end` and checks that delivered events + the seqs
its `lost` messages cover are every seq. In the same run, the same flood into the worker
alone (the engine in this process: the in-worker path) and bpftrace printing the same
events (the peer).
Replay: a tracefs session records `syscalls:sys_enter_getppid` of a launched loop (all
stored, 1 M by default); a client then reads it with `?from_seq=0` until `end` (ranges
encoded by SQLite), beside the bare read (the same ranges encoded by SQLite in the bench,
one thread, nothing sent: the peer) and paging with `GET /v1/sessions/{id}/events`.
Live runs R rounds (3 by default) per stream format (both unless --format is given): the
rate of a round swings by ±15 % with what else the two CPUs run (the flood, worker, daemon
and client share them), so every round's rate is printed and the median round in full.
Printed: events, loss and events/s of each, and the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from bpf_events import PER_EVENT_SPEC, build_flood, gated_flood, release, run_bpftrace, run_engine
from harness import Daemon, build_c, profiled, ratio
from tracefs_drain import LOAD_C
from websockets.sync.client import unix_connect

from tracerd.api.stream import COLUMNS_PAGE, STORED_PAGE, stored_messages
from tracerd.columns import COLUMNS_FORMAT, EVENTS_FORMAT, FORMATS
from tracerd.storage import db as storage_db
from tracerd.storage.queries import EventFilter
from tracerd.storage.replay import Escaped, last_stored_seq
from tracerd.stream.hub import StreamHub
from tracerd.types import LOST_EVENT_NAME

BPFTRACE_GETPPID = (
    'tracepoint:syscalls:sys_enter_getppid /pid == FLOODPID/ { printf("%d %d\\n", pid, tid); }'
)
QUIET_S = 1.0
EVENTS_MESSAGE = b'{"type":"events"'
COLUMNS_MESSAGE = b'{"type":"columns"'
SEQ_COLUMN = b'"seq":['
COLUMNS_TEXT = '{"type":"columns","count":'
SEQ = re.compile(rb'\{"seq":(\d+)')  # each event object starts so (strings escape quotes)


def client(socket: str, path: str) -> None:
    """The WebSocket client (run as `ws_stream.py --client SOCKET PATH`): reads until `end`,
    prints one JSON line of what it got."""
    seqs: list[int] = []
    covered: set[int] = set()
    lost: dict[str, int] = {}
    first = last = end = 0.0
    nbytes = messages = 0
    cpu0, connect = time.process_time(), time.monotonic()
    with unix_connect(socket, "ws://tracerd" + path, max_size=None) as ws:
        print("ready", flush=True)
        while True:
            raw = ws.recv(decode=False)
            nbytes += len(raw)
            messages += 1
            if raw.startswith(EVENTS_MESSAGE):  # the client's own cost kept small: no parse
                last = time.monotonic()
                first = first or last
                seqs += map(int, SEQ.findall(raw))
                continue
            if raw.startswith(COLUMNS_MESSAGE):  # the seq array only (the message's first)
                last = time.monotonic()
                first = first or last
                start = raw.index(SEQ_COLUMN) + len(SEQ_COLUMN)
                seqs += orjson.loads(raw[start - 1 : raw.index(b"]", start) + 1])
                continue
            msg = orjson.loads(raw)
            if msg["type"] == "lost":
                lost[msg["source"]] = lost.get(msg["source"], 0) + int(msg["count"] or 0)
                if msg["seq"] is not None:  # (before the fix subscriber loss had none)
                    covered.update(range(msg["seq"], msg.get("last_seq", msg["seq"]) + 1))
            elif msg["type"] == "end":
                end = time.monotonic()
                break
    delivered = set(seqs)
    top = max(delivered | covered, default=-1)
    out = {
        "events": len(seqs),
        "distinct": len(delivered),
        "top": top,
        "covered": len(covered - delivered),
        "missing": top + 1 - len(delivered | covered),
        "lost": lost,
        "first": first,
        "last": last,
        "bytes": nbytes,
        "messages": messages,
        "client_cpu_s": time.process_time() - cpu0,
        "connect": connect,  # (CLOCK_MONOTONIC: the same clock as the bench's)
        "end": end,
    }
    print(json.dumps(out), flush=True)


def start_client(daemon: Daemon, path: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--client", daemon.socket, path],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def client_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=600)
    return dict(json.loads(out.strip().splitlines()[-1]))


def check_coverage(r: dict[str, Any], what: str) -> str:
    """Every seq accounted for: delivered (once) or covered by a `lost` message."""
    if r["distinct"] == r["events"] and r["missing"] == 0:
        return f"{what}: every seq accounted for (delivered or announced lost)"
    return (
        f"{what}: {r['missing']:,} seqs neither delivered nor announced, "
        f"{r['events'] - r['distinct']:,} delivered twice"
    )


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    return cpu_s_of(Path(f"/proc/{pid}/stat"))


def cpu_s_of(stat: Path) -> float:
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds each thread of the process has used so far, by thread id."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out[int(task.name)] = cpu_s_of(task / "stat")
    return out


def cpu_split(pid: int, before: dict[int, float]) -> dict[str, float]:
    """The process's CPU since `before`: its main thread (the event loop) and the rest."""
    after = thread_cpu(pid)
    main = after.get(pid, 0.0) - before.get(pid, 0.0)
    rest = sum(v - before.get(tid, 0.0) for tid, v in after.items() if tid != pid)
    return {"loop": main, "threads": rest}


def run_live(
    binary: str, calls: int, profile: Path | None = None, query: str = ""
) -> dict[str, Any]:
    with (
        Daemon() as daemon,
        gated_flood(binary, calls, "g") as flood,
        profiled(daemon.pid, profile),
    ):
        session = daemon.create("bpf", {**PER_EVENT_SPEC, "pid": flood.pid})
        sid = session["id"]
        reader = start_client(daemon, f"/v1/sessions/{sid}/stream" + (f"?{query}" if query else ""))
        t0 = time.monotonic()
        cpu0, threads0 = cpu_s(daemon.pid), thread_cpu(daemon.pid)
        flood_s = release(flood)
        seen, since = -1, time.monotonic()
        while time.monotonic() - since < QUIET_S:
            counters = daemon.api.get(f"/v1/sessions/{sid}").json()["counters"]
            now = counters["events"] + counters["lost"].get("bpf", 0)
            if now != seen:
                seen, since = now, time.monotonic()
            if now >= calls:
                break
            time.sleep(0.05)
        final = daemon.api.post(f"/v1/sessions/{sid}/stop").json()
        r = client_result(reader)
        r["daemon_cpu_s"] = cpu_s(daemon.pid) - cpu0
        r["daemon_split"] = cpu_split(daemon.pid, threads0)
        r["storage_records"] = sum(
            1
            for e in daemon.events(sid, name=LOST_EVENT_NAME)
            if e["fields"]["source"] == "storage"
        )
    r["wall_s"] = max(r["last"] - t0, flood_s)
    r["flood_s"] = flood_s
    r["kernel_lost"] = final["counters"]["lost"].get("bpf", 0)
    return r


def run_replay(
    n: int, profile: Path | None = None, fmt: str = EVENTS_FORMAT
) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp, Daemon() as daemon:
        exe = build_c(LOAD_C, f"tdload{uuid.uuid4().hex[:6]}", Path(tmp))
        session = daemon.create(
            "tracefs",
            {"events": ["syscalls:sys_enter_getppid"], "command": [exe, str(n)]},
        )
        sid = session["id"]
        final = daemon.wait_final(sid)
        cpu0, threads0 = cpu_s(daemon.pid), thread_cpu(daemon.pid)
        with profiled(daemon.pid, profile):
            path = f"/v1/sessions/{sid}/stream?from_seq=0&format={fmt}"
            r = client_result(start_client(daemon, path))
        # from the client's connect to its `end` (its process start and imports, ~0.5 s
        # under load, are not the stream's)
        r["wall_s"] = r["end"] - r["connect"]
        r["daemon_cpu_s"] = cpu_s(daemon.pid) - cpu0
        r["daemon_split"] = cpu_split(daemon.pid, threads0)
        bare = bare_read(daemon.dir / "state" / "tracerd.db", sid, fmt)
        t0 = time.monotonic()
        paged = sum(1 for _ in daemon.events(sid))
        rest = {"events": float(paged), "wall_s": time.monotonic() - t0}
    r["stored"] = final["counters"]["stored"]
    return r, rest, bare


def bare_read(path: Path, sid: int, fmt: str = EVENTS_FORMAT) -> dict[str, float]:
    """The peer of replay: the same stored ranges read and encoded by SQLite in this process
    (one thread, no WebSocket, nothing sent)."""
    engine = storage_db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            escaped, last = Escaped.read(conn, sid), last_stored_seq(conn, sid) or 0
            t0 = time.monotonic()
            events = 0
            page = COLUMNS_PAGE if fmt == COLUMNS_FORMAT else STORED_PAGE
            for first in range(0, last + 1, page):
                stop = min(first + page - 1, last)
                for data in stored_messages(conn, sid, EventFilter(), first, stop, escaped, fmt):
                    if data.startswith(COLUMNS_TEXT):  # its count, not parsed whole
                        events += int(data[len(COLUMNS_TEXT) : data.index(",", len(COLUMNS_TEXT))])
                    else:
                        events += data.count('{"seq":')
        return {"events": float(events), "wall_s": time.monotonic() - t0}
    finally:
        engine.dispose()


def hub_capacity(
    subscribers: int, fmt: str = EVENTS_FORMAT, batches: int = 200, size: int = 2000
) -> float:
    """Events per CPU-second through the hub alone (encode, queue, merge into messages)
    for `subscribers` readers that keep up: getppid-record-shaped events, as the ingest
    hands them over."""
    hub = StreamHub()
    subs = [hub.subscribe(1, format=fmt) for _ in range(subscribers)]
    fields = orjson.dumps({"ts_ns": 123456789012345, "pid": 4242, "tid": 4242, "nr": 110}).decode()
    batch = [
        [10**13 + i, 1, 4242, 4242, "tdflood", "calls", fields, None, None, None]
        for i in range(size)
    ]
    cpu0 = time.process_time()
    for n in range(batches):
        hub.publish_events(1, n * size, batch)
        for sub in subs:
            for data in hub.take(sub):
                data.encode()  # as the WebSocket server's send does
    return batches * size / (time.process_time() - cpu0)


def rate(r: dict[str, Any]) -> float:
    return float(r["events"]) / r["wall_s"] if r["wall_s"] else 0.0


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median rate (the lower middle of an even count)."""
    return sorted(rounds, key=rate)[(len(rounds) - 1) // 2]


def print_live(calls: int, rounds: list[dict[str, Any]], worker: dict[str, Any], peer: Any) -> None:
    live = median_round(rounds)
    rates = ", ".join(f"{rate(r) / 1e6:.3f}" for r in rounds)
    loads = ", ".join(f"{r['load']:.1f}" for r in rounds)
    print(
        f"live: getppid() flood of {calls:,} calls, one WebSocket client ({live['format']}), "
        f"{len(rounds)} rounds: {rates} M ev/s (load average {loads} after each); "
        "the median round:"
    )
    sub_lost = live["lost"].get("subscriber", 0)
    print(
        f"  tracerd ws       delivered {live['events']:>9,}  lost to the client "
        f"{sub_lost:>9,} (announced)  kernel {live['kernel_lost']:,}  "
        f"{rate(live) / 1e6:.3f} M ev/s  ({live['messages']:,} messages, "
        f"{live['bytes'] / max(live['events'], 1):.0f} B/event)"
    )
    print(
        f"  in-worker        delivered {worker['events']:>9,}  lost {worker['lost']:>9,}  "
        f"{rate(worker) / 1e6:.3f} M ev/s"
    )
    print(
        f"  bpftrace printf  delivered {peer['events']:>9,.0f}  lost {peer['lost']:>9,.0f}  "
        f"{rate(peer) / 1e6:.3f} M ev/s"
    )
    print(
        f"  CPU: daemon {live['daemon_cpu_s']:.2f} s (event loop "
        f"{live['daemon_split']['loop']:.2f} s, other threads: writer, ... "
        f"{live['daemon_split']['threads']:.2f} s), client "
        f"{live['client_cpu_s']:.2f} s, over {live['wall_s']:.2f} s of wall time"
    )
    print(
        f"  {check_coverage(live, 'live client')}; the session stored "
        f"{live['storage_records']:,} `storage` loss records (streamed as `lost` messages too)"
    )
    print(
        f"  ratios: ws / in-worker {ratio(rate(live), rate(worker))}, "
        f"ws / bpftrace printf {ratio(rate(live), rate(peer))} (target >= 0.5 M ev/s)"
    )


def print_replay(replay: dict[str, Any], rest: dict[str, float], bare: dict[str, float]) -> None:
    print(
        f"replay: {replay['stored']:,} stored events read back ({replay['format']}) "
        f"(load average {replay['load']:.1f} after it)"
    )
    print(
        f"  ws ?from_seq=0   {replay['events']:>9,} events  {rate(replay) / 1e6:.3f} M ev/s "
        f"(until `end`; CPU: daemon {replay['daemon_cpu_s']:.2f} s (event loop "
        f"{replay['daemon_split']['loop']:.2f} s, threads "
        f"{replay['daemon_split']['threads']:.2f} s), client "
        f"{replay['client_cpu_s']:.2f} s over {replay['wall_s']:.2f} s)"
    )
    print(
        f"  bare SQLite read {bare['events']:>9,.0f} events  {rate(bare) / 1e6:.3f} M ev/s "
        f"(the same ranges encoded by SQLite, one thread, nothing sent)"
    )
    print(f"  GET /events      {rest['events']:>9,.0f} events  {rate(rest) / 1e6:.3f} M ev/s")
    print(f"  {check_coverage(replay, 'replay client')}")
    print(
        f"  ratios: replay / bare SQLite read {ratio(rate(replay), rate(bare))}, "
        f"replay / REST paging {ratio(rate(replay), rate(rest))} (target >= 1 M ev/s)"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000, help="live flood (getppid calls)")
    ap.add_argument("--replay", type=int, default=1_000_000, help="stored events to replay")
    ap.add_argument("--only", choices=("live", "replay", "hub"), help="one part only")
    ap.add_argument("--profile", type=Path, help="py-spy's raw stacks of the daemon here")
    ap.add_argument(
        "--format",
        choices=FORMATS,
        help="the stream's message format (?format=; `columns`: the opt-in columnar one); "
        "live: both unless given, replay: events unless given",
    )
    ap.add_argument("--rounds", type=int, default=3, help="live rounds per format")
    args = ap.parse_args()
    if args.only in (None, "live"):
        formats = FORMATS if args.format is None else (args.format,)
        with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
            binary = build_flood(Path(tmp))
            rounds: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in formats}
            for _ in range(args.rounds):  # formats alternate: a load change hits both
                for fmt in formats:
                    live = run_live(binary, args.calls, args.profile, f"format={fmt}")
                    live["load"], live["format"] = os.getloadavg()[0], fmt
                    rounds[fmt].append(live)
            worker = run_engine(Path(tmp), PER_EVENT_SPEC, binary, args.calls, "g")
            peer = run_bpftrace(BPFTRACE_GETPPID, binary, args.calls, "g", True)
        for fmt in formats:
            print_live(args.calls, rounds[fmt], worker, peer)
    if args.only in (None, "hub"):
        for fmt in FORMATS:
            hub_one, hub_fifty = hub_capacity(1, fmt), hub_capacity(50, fmt)
            print(
                f"hub alone, {fmt} (encode once, queue, merge): {hub_one / 1e6:.2f} M events "
                f"per CPU-second to 1 subscriber, {hub_fifty / 1e6:.2f} M with 50 (each event "
                "to all 50)"
            )
    if args.only in (None, "replay"):
        fmt = args.format or EVENTS_FORMAT
        replay, rest, bare = run_replay(args.replay, args.profile, fmt)
        replay["load"], replay["format"] = os.getloadavg()[0], fmt
        print_replay(replay, rest, bare)


if __name__ == "__main__":
    main()
