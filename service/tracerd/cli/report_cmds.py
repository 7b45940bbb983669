"""CLI: `tracerd report ID` (aligned tables, strace's -c table, BCC-style histograms) and
`tracerd export ID --format F -o FILE` (streamed, with a progress bar on stderr)."""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

from . import add_client_options, client, print_json
from .client import Client
from .table import human_duration, table

KINDS = ("summary", "syscalls", "latency", "timeline", "top", "sched")
FORMATS = ("jsonl", "csv", "chrome", "perfetto", "text", "pcap", "pcapng")
HIST_WIDTH = 40
SPARKS = " ▁▂▃▄▅▆▇█"
PROGRESS_WIDTH = 30
PROGRESS_INTERVAL_S = 0.2


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="summaries of a stored session (computed by the daemon)")
    p.add_argument("id")
    p.add_argument("--kind", "-k", choices=KINDS, default="summary")
    p.add_argument("--field", "-f", help="latency/top: a column (dur_ns, comm...) or fields path")
    p.add_argument("--syscall", help="latency: one syscall's durations")
    p.add_argument("--limit", type=int, help="top: how many values")
    p.add_argument("--bucket", type=float, help="timeline: bucket width in seconds")
    p.add_argument("--width", type=float, help="latency: linear bucket width")
    p.add_argument("--linear", action="store_true", help="latency: print the linear histogram")
    p.add_argument("--exact", action="store_true", help="latency: exact percentiles")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_filter_options(p)
    add_client_options(p)
    p.set_defaults(handler=cmd_report)
    e = sub.add_parser("export", help="export a session's events to a file")
    e.add_argument("id")
    e.add_argument("--format", "-F", choices=FORMATS, default="jsonl")
    e.add_argument("-o", "--output", required=True, help="file, or - for stdout")
    e.add_argument("--gzip", action="store_true", help="write a .gz file")
    e.add_argument("--progress", action="store_true", help="progress bar even if not a tty")
    add_filter_options(e)
    add_client_options(e)
    e.set_defaults(handler=cmd_export)


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=float, help="seconds after the session's first event")
    p.add_argument("--until", type=float, help="seconds after the session's first event")
    p.add_argument("--pid", type=int, action="append")
    p.add_argument("--comm", action="append")
    p.add_argument("--name", action="append", help="event name (report syscalls: or syscall)")


def filter_params(api: Client, args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.since is not None or args.until is not None:
        first = api.get(f"/v1/sessions/{args.id}/report").get("first_ts_ns") or 0
        if args.since is not None:
            params["since_ns"] = first + int(args.since * 1e9)
        if args.until is not None:
            params["until_ns"] = first + int(args.until * 1e9)
    for key in ("pid", "comm", "name"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    return params


def cmd_report(args: argparse.Namespace) -> None:
    api = client(args)
    params = filter_params(api, args)
    extra = {
        "field": args.field,
        "syscall": args.syscall,
        "limit": args.limit,
        "width": args.width,
        "bucket_ns": int(args.bucket * 1e9) if args.bucket else None,
        "exact": "true" if args.exact else None,
    }
    params.update({k: v for k, v in extra.items() if v is not None})
    if args.kind == "top" and "field" not in params:
        params["field"] = "comm"
    path = f"/v1/sessions/{args.id}/report" + ("" if args.kind == "summary" else f"/{args.kind}")
    data = api.get(path, params=params)
    if args.json:
        print_json(data)
        return
    printer = {
        "summary": print_summary,
        "syscalls": print_syscalls,
        "latency": lambda d: print_latency(d, args.linear),
        "timeline": print_timeline,
        "top": print_top,
        "sched": print_sched,
    }[args.kind]
    printer(data)


def sparkline(counts: Sequence[int]) -> str:
    top = max(counts, default=0)
    if not top:
        return ""
    return "".join(SPARKS[0 if not c else 1 + (c * (len(SPARKS) - 2)) // top] for c in counts)


def print_summary(d: dict[str, Any]) -> None:
    scope = d["scope"]
    lost = ", ".join(f"{k} {v}" for k, v in sorted(d["lost"].items()) if v) or "none"
    counted = ", ".join(f"{k} {v}" for k, v in sorted(d["lost_counters"].items()) if v) or "none"
    rate = d["rate"]
    print(f"session {scope['session_id']} ({scope['kind']}, {d['state']}) {d['name'] or ''}")
    print(f"duration {human_duration(d['duration_s'])}, events over {human_duration(d['span_s'])}")
    print(f"events {d['events']}; lost in-band: {lost}; lost (counters): {counted}")
    per_s = rate["bucket_ns"] / 1e9
    print(
        f"rate (per {per_s:g}s, max {max(rate['counts'], default=0)}): {sparkline(rate['counts'])}"
    )
    print()
    print(table([[n["name"], n["count"], f"{n['percent']:.2f}"] for n in d["names"]],
                ["name", "count", "%"], right=(1, 2)))  # fmt: skip
    print()
    print(table([[p["pid"], p["comm"], p["count"]] for p in d["top_pids"]],
                ["pid", "comm", "events"], right=(0, 2)))  # fmt: skip
    print()
    print(table([[c["comm"], c["count"]] for c in d["top_comms"]], ["comm", "events"], right=(1,)))


def strace_table(rows: list[dict[str, Any]], total: dict[str, Any]) -> str:
    """strace -c's layout: columns sized like strace's (at least its header widths)."""

    def cells(r: dict[str, Any]) -> list[str]:
        return [
            f"{r['percent_time']:.2f}" if r["percent_time"] is not None else "",
            f"{r['seconds']:.6f}" if r["seconds"] is not None else "",
            str(r["usecs_per_call"]) if r["usecs_per_call"] is not None else "",
            str(r["calls"]),
            str(r["errors"]) if r["errors"] else "",
            r["syscall"],
        ]

    body = [cells(r) for r in rows]
    foot = cells(total)
    foot[0] = "100.00" if total["seconds"] is not None else ""
    heads = ["% time", "seconds", "usecs/call", "calls", "errors", "syscall"]
    widths = [max(6, len(heads[0])), 11, 11, 9, 9, 16]
    for line in [*body, foot]:
        widths = [max(w, len(c)) for w, c in zip(widths, line, strict=True)]

    def fmt(line: list[str]) -> str:
        out = [c.rjust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)]
        return " ".join([*out, line[-1]]).rstrip()

    rule = " ".join("-" * w for w in widths)
    return "\n".join([fmt(heads), rule, *map(fmt, body), rule, fmt(foot)])


def print_syscalls(d: dict[str, Any]) -> None:
    print(strace_table(d["rows"], d["total"]))
    if d.get("note"):
        print(f"note: {d['note']}", file=sys.stderr)


def histogram(buckets: list[dict[str, Any]], unit: str) -> str:
    """BCC print_log2_hist's layout: `low -> high : count |****   |`."""
    top = max((b["count"] for b in buckets), default=0)
    rows = [f"{unit:>22} : count     distribution"]
    first = next((i for i, b in enumerate(buckets) if b["count"]), len(buckets))
    for b in buckets[first:]:  # leading empty buckets left out (BCC's strip_leading_zero)
        low, high, count = _num(b["low"]), _num(b["high"]), b["count"]
        stars = "*" * (count * HIST_WIDTH // top) if top else ""
        rows.append(f"{low:>10} -> {high:<10}: {count:<9} |{stars:<{HIST_WIDTH}}|")
    return "\n".join(rows)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def print_latency(d: dict[str, Any], linear: bool) -> None:
    unit = {"ns": "nsecs"}.get(d["unit"] or "", d["unit"] or d["field"])
    p = d["percentiles"]
    approx = " (from a log-linear histogram, ±1.6 %)" if d["approximate"] else ""
    print(
        f"{d['field']}: count {d['count']}, min {_fmt(d['min'])}, mean {_fmt(d['mean'])}, "
        f"max {_fmt(d['max'])}"
    )
    print(f"p50 {_fmt(p['p50'])}  p90 {_fmt(p['p90'])}  p99 {_fmt(p['p99'])}{approx}")
    if d["negative"]:
        print(f"{d['negative']} negative values are not in the histogram")
    print()
    print(histogram(d["linear"] if linear else d["log2"], unit))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.9g}"


def print_timeline(d: dict[str, Any]) -> None:
    names = d["names"][:6]
    start = d["start_ns"] or 0
    rows = [
        [
            f"+{(b['start_ns'] - start) / 1e9:.3f}s",
            b["total"],
            *(b["counts"].get(n, 0) for n in names),
        ]
        for b in d["buckets"]
    ]
    print(f"bucket {d['bucket_ns'] / 1e9:g}s")
    print(table(rows, ["time", "total", *names], right=tuple(range(0, len(names) + 2))))


def print_top(d: dict[str, Any]) -> None:
    rows = [[r["value"], r["count"], f"{r['percent']:.2f}"] for r in d["rows"]]
    if d["other"]:
        rows.append(["(other)", d["other"], f"{100 * d['other'] / d['total']:.2f}"])
    print(table(rows, [d["field"], "count", "%"], right=(1, 2)))


def print_sched(d: dict[str, Any]) -> None:
    rows = [
        [t["tid"], t["comm"], f"{t['oncpu_ns'] / 1e6:.3f}", t["switches"], t["preempted"],
         f"{t['wait_ns'] / 1e6:.3f}", t["waits"],
         f"{(t['wait_avg_ns'] or 0) / 1e3:.1f}", f"{t['wait_max_ns'] / 1e3:.1f}"]
        for t in d["tasks"]
    ]  # fmt: skip
    heads = ["tid", "comm", "on-cpu ms", "switches", "preempted", "wait ms", "waits",
             "avg wait us", "max wait us"]  # fmt: skip
    print(table(rows, heads, right=(0, 2, 3, 4, 5, 6, 7, 8)))


class Progress:
    """`[#####     ] 45%  4.5k/10k events` on stderr, redrawn at most every 0.2 s."""

    def __init__(self, total: int, out: IO[str], enabled: bool) -> None:
        self.total, self.out, self.enabled = total, out, enabled and total > 0
        self.done = 0
        self._drawn = 0.0

    def add(self, events: int) -> None:
        self.done += events
        now = time.monotonic()
        if self.enabled and now - self._drawn >= PROGRESS_INTERVAL_S:
            self._drawn = now
            self.draw()

    def draw(self) -> None:
        done = min(self.done, self.total)  # a few lines are not events (chrome metadata)
        frac = done / self.total
        bar = "#" * int(frac * PROGRESS_WIDTH)
        self.out.write(
            f"\r[{bar:<{PROGRESS_WIDTH}}] {frac * 100:3.0f}%  {done}/{self.total} events"
        )
        self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.done = max(self.done, self.total)
            self.draw()
            self.out.write("\n")


def partial_file(output: str) -> IO[bytes]:
    """A new file in `output`'s directory, to be renamed to it."""
    folder, name = os.path.split(os.path.abspath(output))
    return tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".part", delete=False)


def cmd_export(args: argparse.Namespace) -> None:
    api = client(args)
    params = {"format": args.format, **filter_params(api, args)}
    session = api.get(f"/v1/sessions/{args.id}")
    progress = Progress(
        int(session["counters"]["stored"]), sys.stderr, args.progress or sys.stderr.isatty()
    )
    # a file is written beside its name and renamed when complete: an error (unknown
    # session, a 4xx, a dropped connection) leaves no empty or half-written file behind
    part = None if args.output == "-" else partial_file(args.output)
    raw: IO[bytes] = sys.stdout.buffer if part is None else part
    out: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb") if args.gzip else raw  # type: ignore[assignment]
    size = 0
    done = False
    try:
        # the daemon gzips on the wire (Accept-Encoding); lines are counted decoded
        for chunk in api.stream_bytes(f"/v1/sessions/{args.id}/export", params):
            out.write(chunk)
            size += len(chunk)
            progress.add(chunk.count(b"\n"))
        done = True
    finally:
        if out is not raw:
            out.close()
        if part is not None:
            part.close()
            if done:
                mask = os.umask(0o022)
                os.umask(mask)
                os.chmod(part.name, 0o666 & ~mask)  # as open() would have made it
                os.replace(part.name, args.output)
            else:
                os.unlink(part.name)
    progress.finish()
    if args.output != "-":
        print(f"wrote {args.output} ({size} bytes of {args.format})", file=sys.stderr)
