"""kernel/trace_pipe: lines of the text pipe as the kernel prints them."""

from __future__ import annotations

from tracerd.kernel.trace_pipe import PipeLine, ProbeHit, parse_line, parse_probe_body


def test_a_uprobe_line_with_the_flags_column() -> None:
    line = "  my-prog-1234   [001] ..... 5021.123456: bp0_main: (0x401136) arg1=0x1 arg2=0x7ffd"
    record = parse_line(line)
    assert record == PipeLine(
        "my-prog", 1234, 1, 5021_123_456_000, "bp0_main", "(0x401136) arg1=0x1 arg2=0x7ffd"
    )
    assert parse_probe_body(record.body) == ProbeHit(0x401136, [1, 0x7FFD])


def test_a_line_without_the_flags_column() -> None:
    record = parse_line("cat-7 [0] 12.5: sched_switch: prev_comm=cat")
    assert record == PipeLine("cat", 7, 0, 12_500_000_000, "sched_switch", "prev_comm=cat")
    assert parse_probe_body(record.body) is None


def test_other_lines_are_not_records() -> None:
    assert parse_line("CPU:1 [LOST 3 EVENTS]") is None
    assert parse_line("") is None
