"""Speed of the `text` export for tracefs sessions: lines per second through the export's
encoder (stored rows -> `trace-cmd report`-like lines), with each event type's print fmt
evaluated (render/printfmt.py) versus the `name=value` bodies used before it.

Usage: PYTHONPATH=service python bench/ftrace_render.py [--repeat N] [--profile]
No kernel needed: the events are the 180 event types of tests/data/ftrace/peer/cases.jsonl
(decoded on a real kernel by bench/tracecmd_fidelity.py --corpus), each repeated N times in
one export, as stored rows (fields as JSON). Printed: lines/s of both and their ratio, and
whether every print-fmt line still equals trace-cmd's. --profile: the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path
from typing import Any

import orjson

from tracerd.reports.export.rows import Row
from tracerd.reports.export.text import Text

CASES = Path(__file__).resolve().parent.parent / "tests/data/ftrace/peer/cases.jsonl"


def load() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in CASES.read_bytes().splitlines() if line.strip()]


def rows(cases: list[dict[str, Any]], repeat: int) -> list[Row]:
    out: list[Row] = []
    for _ in range(repeat):
        for c in cases:
            e = c["event"]
            fields = orjson.dumps(e["fields"]).decode()
            out.append(
                Row(
                    len(out),
                    e["ts_ns"],
                    e["cpu"],
                    None,
                    e["tid"],
                    e["comm"],
                    e["name"],
                    fields,
                    None,
                    None,
                    None,
                )
            )
    return out


def export(text: Text, batch: list[Row]) -> list[str]:
    """The export's loop: batches of 1,000 rows, as the stream encoder is called."""
    out: list[str] = []
    for i in range(0, len(batch), 1000):
        out += text.encode(batch[i : i + 1000]).decode().splitlines()
    return out


def timed(text: Text, batch: list[Row]) -> tuple[float, list[str]]:
    began = time.perf_counter()
    lines = export(text, batch)
    return time.perf_counter() - began, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    cases = load()
    fmts = {c["event"]["name"]: c["print_fmt"] for c in cases}
    widths = {c["event"]["name"]: c["widths"] for c in cases}
    symbols = {int(k): tuple(v) for c in cases for k, v in c["symbols"].items()}

    def lookup(addr: int) -> tuple[str, int] | None:
        return symbols.get(addr)  # type: ignore[return-value]

    batch = rows(cases, args.repeat)
    fmt_text = Text("tracefs", 0, 0, fmts, arrays=widths, symbols=lookup)
    pairs_text = Text("tracefs", 0, 0, {}, symbols=lookup)
    export(fmt_text, batch[: len(cases)])  # compiled once per event type, not timed
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        export(fmt_text, batch)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    t_fmt, lines = timed(fmt_text, batch)
    t_pairs, _ = timed(pairs_text, batch)
    want = [c["line"] for c in cases]
    same = sum(a == b for a, b in zip(lines[: len(cases)], want, strict=True))
    n = len(batch)
    print(f"events: {n} ({len(cases)} event types x {args.repeat})")
    print(f"print fmt bodies: {n / t_fmt:,.0f} lines/s ({t_fmt:.2f} s)")
    print(f"name=value bodies: {n / t_pairs:,.0f} lines/s ({t_pairs:.2f} s)")
    print(f"print fmt / name=value time: {t_fmt / t_pairs:.2f}x")
    print(f"lines equal to trace-cmd's: {same}/{len(cases)}")


if __name__ == "__main__":
    main()
