"""Lines `trace-cmd report` printed, replayed through the text renderer without a kernel.

tests/data/ftrace/peer/cases.jsonl is written by `bench/tracecmd_fidelity.py --corpus`: one
case per event type (175 types over sched, syscalls, irq, timer, signal, block, net, skb,
sock, tcp, kmem, workqueue, writeback, filemap, jbd2, markers, a uprobe and uretprobe ...)
with the event's print fmt, its decoded fields, the kernel symbols its addresses resolved to
on the recording machine, and trace-cmd's line for the same record (its comm in the event).
holdout.jsonl is written by `--holdout --corpus`: the event sets recorded after that work
(raw_syscalls, exceptions, lock, cgroup, filelock, fib/fib6, icmp, iomap, ext4, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tracerd.render.ftrace import FtraceRenderer

PEER = Path(__file__).resolve().parents[2] / "data" / "ftrace" / "peer"
CASES = PEER / "cases.jsonl"
HOLDOUT = PEER / "holdout.jsonl"


def load(path: Path = CASES) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.mark.parametrize("case", load() + load(HOLDOUT), ids=lambda c: str(c["event"]["name"]))
def test_line_equals_trace_cmd_report(case: dict[str, Any]) -> None:
    name = case["event"]["name"]
    symbols = {int(k): tuple(v) for k, v in case["symbols"].items()}
    strings = {int(k): v for k, v in case.get("strings", {}).items()}
    renderer = FtraceRenderer(
        {name: case["print_fmt"]},
        {name: case["widths"]},
        lambda addr: symbols.get(addr),
        lambda addr: strings.get(addr),
    )
    assert renderer.line(case["event"]) == case["line"]


def test_corpus_covers_many_event_types() -> None:
    cases = load()
    systems = {c["event"]["name"].split(":")[0] for c in cases}
    assert len(cases) >= 80
    assert {"sched", "syscalls", "irq", "timer", "kmem", "block", "net", "ftrace"} <= systems


def test_holdout_covers_the_new_event_sets() -> None:
    systems = {c["event"]["name"].split(":")[0] for c in load(HOLDOUT)}
    assert {"raw_syscalls", "exceptions", "filelock", "cgroup", "ext4", "iomap"} <= systems
