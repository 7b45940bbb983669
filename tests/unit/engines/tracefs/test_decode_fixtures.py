"""The page decoder against the captured 6.18 sub-buffers and their expected.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.registry import EventRegistry, PageLayout, dynamic_event_kinds
from tracerd.types import WireEvent

DATA = Path(__file__).resolve().parents[3] / "data" / "ftrace"
EXPECTED: dict[str, Any] = json.loads((DATA / "expected.json").read_text())
DISPLAY = {"ftrace/print": "ftrace:print", "refdoc/target": "uprobes:target"}


def registry() -> EventRegistry:
    events = DATA / "events"
    formats = [(p.parent.parent.name, p.read_text()) for p in sorted(events.glob("*/*/format"))]
    kinds = {("refdoc", "target"): "uprobes"}
    return EventRegistry.build((events / "header_page").read_text(), formats, kinds)


def decode(name: str) -> tuple[PageDecoder, list[WireEvent], Any]:
    dec = PageDecoder(registry())
    out: list[WireEvent] = []
    info = dec.decode((DATA / name).read_bytes(), 1, out)
    return dec, out, info


def expected_events(name: str) -> list[dict[str, Any]]:
    return [e for e in EXPECTED[name]["events"] if e["kind"] == "data"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_record_matches_expected(name: str) -> None:
    dec, out, info = decode(name)
    exp = EXPECTED[name]
    assert info.ts_ns == exp["page_ts"]
    assert info.length == exp["size"]
    data = [e for e in out if e.name != "lost"]
    want = expected_events(name)
    assert len(data) == len(want) == info.records
    for got, e in zip(data, want, strict=True):
        assert got.ts_ns == e["ts"]
        assert got.cpu == 1
        assert got.tid == e["fields"]["common_pid"]
        assert got.name == DISPLAY.get(e["event"], e["event"].replace("/", ":"))
        assert got.fields == {k: v for k, v in e["fields"].items() if not k.startswith("common_")}
    assert dec.errors == 0
    assert dec.unknown == 0


def test_overrun_page_places_a_loss_record_first() -> None:
    _, out, info = decode("overrun_cpu1_page0.bin")
    assert info.lost == 678
    assert out[0].name == "lost"
    assert out[0].fields == {"source": "kernel", "count": 678}
    assert out[0].ts_ns == EXPECTED["overrun_cpu1_page0.bin"]["page_ts"] == out[1].ts_ns
    assert out[0].cpu == 1
    assert out[1].fields["buf"] == "marker 0678\n"
    assert out[-1].fields["buf"] == "marker 0790\n"


def test_pages_without_flags_have_no_loss_record() -> None:
    for name in ("basic_cpu1_page0.bin", "nooverwrite_cpu1_page2.bin"):
        _, out, info = decode(name)
        assert info.lost is None
        assert all(e.name != "lost" for e in out)


def test_padding_page_ends_on_the_padding_record() -> None:
    _, out, _ = decode("nooverwrite_cpu1_page2.bin")
    assert len(out) == 113
    assert out[-1].fields["buf"] == "marker 0338\n"


def test_basic_page_special_records() -> None:
    _, out, _ = decode("basic_cpu1_page0.bin")
    by_pos = {e["pos"]: e for e in EXPECTED["basic_cpu1_page0.bin"]["events"]}
    assert by_pos[164]["type_len"] == 0  # the type_len 0 record
    long_marker = out[4]
    assert long_marker.fields["buf"] == "L" * 150 + "\n"
    exit_after_extend = out[3]  # follows the TIME_EXTEND of the `sleep 0.2`
    assert exit_after_extend.ts_ns == by_pos[116]["ts"] == 1012789309970
    uprobes = [e for e in out if e.name == "uprobes:target"]
    assert [(u.fields["a"], u.fields["s"], u.fields["comm"]) for u in uprobes] == [
        (42, "hello-uprobe", "target"),
        (7, "second call", "target"),
    ]
    assert uprobes[0].fields["__probe_ip"] == 94895513329993


def test_timestamps_match_the_kernel_text_to_the_microsecond() -> None:
    _, out, _ = decode("basic_cpu1_page0.bin")
    lines = [
        ln for ln in (DATA / "basic_trace.txt").read_text().splitlines() if not ln.startswith("#")
    ]
    stamps = [ln.split("  ")[-1].split(":")[0] for ln in lines]
    text = [float(ln.split("]")[1].split()[1].rstrip(":")) for ln in lines]
    assert len(text) == len(out) == len(stamps)
    for ev, secs in zip(out, text, strict=True):
        assert round(ev.ts_ns / 1e9, 6) == pytest.approx(secs, abs=1e-6)


def test_header_page_layout() -> None:
    lay = PageLayout.from_header_page((DATA / "events" / "header_page").read_text())
    assert lay == PageLayout(ts_offset=0, commit_offset=8, commit_size=8, data_offset=16)


def test_dynamic_event_kinds() -> None:
    text = (
        "p:refdoc/target /tmp/x/target:0x1149 a=%di:s32\n"
        "r:tracerd_ab_7/ret /usr/bin/bash:0x20\n"
        "p:kprobes/open do_sys_open+0x0\n"
        "r10:mygrp/oret do_sys_open\n"
        "e:eprobes/x syscalls/sys_enter_openat\n"
    )
    assert dynamic_event_kinds(text) == {
        ("refdoc", "target"): "uprobes",
        ("tracerd_ab_7", "ret"): "uprobes",
        ("kprobes", "open"): "kprobes",
        ("mygrp", "oret"): "kprobes",
    }


def test_print_fmts_by_display_name() -> None:
    fmts = registry().print_fmts()
    assert fmts["uprobes:target"].startswith('"(%lx) a=%d')
    assert set(fmts) == {
        "ftrace:print",
        "uprobes:target",
        "sched:sched_process_exec",
        "sched:sched_process_fork",
        "sched:sched_process_exit",
    }
