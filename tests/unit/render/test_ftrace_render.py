"""ftrace-like text lines: columns, print-fmt bodies, fallbacks."""

from __future__ import annotations

from pathlib import Path

from tracerd.kernel.formats import parse_format
from tracerd.render.ftrace import FtraceRenderer, compile_print_fmt, render_line, timestamp

EVENTS = Path(__file__).resolve().parents[2] / "data" / "ftrace" / "events"
OPENAT_FMT = (
    '"dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", '
    "((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), "
    "((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))"
)


def fmt_of(path: str) -> str:
    return parse_format((EVENTS / path / "format").read_text()).print_fmt


def test_exec_line_like_trace_cmd() -> None:
    r = FtraceRenderer({"sched:sched_process_exec": fmt_of("sched/sched_process_exec")})
    ev = {
        "seq": 1,
        "ts_ns": 12345678901234,
        "cpu": 1,
        "pid": 1234,
        "tid": 1234,
        "comm": "bash",
        "name": "sched:sched_process_exec",
        "fields": {"filename": "/usr/bin/ls", "pid": 1234, "old_pid": 1234},
    }
    assert r.line(ev) == (
        "            bash-1234  [001] 12345.678901: sched_process_exec:   "
        "filename=/usr/bin/ls pid=1234 old_pid=1234"
    )


def test_casts_hex_and_unsigned_views() -> None:
    body = compile_print_fmt(OPENAT_FMT)
    assert body is not None
    fields = {
        "__syscall_nr": 257,
        "dfd": 2**64 - 100,
        "filename": 0x7FFD1000,
        "flags": 0x80000,
        "mode": 0,
    }
    assert body(fields) == (
        "dfd: 0xffffffffffffff9c, filename: 0x7ffd1000, flags: 0x00080000, mode: 0x00000000"
    )


def test_uprobe_and_negative_values() -> None:
    r = FtraceRenderer({"uprobes:target": fmt_of("refdoc/target")})
    ev = {
        "ts_ns": 1,
        "cpu": 0,
        "tid": 5,
        "comm": "target",
        "name": "uprobes:target",
        "fields": {"__probe_ip": 0x564E955CE149, "a": -42, "s": "hi", "comm": "target"},
    }
    assert r.line(ev).endswith(': target:               (564e955ce149) a=-42 s="hi" comm="target"')


def test_unreadable_print_fmt_falls_back_to_pairs() -> None:
    unknown = '"x=%s", some_kernel_helper(REC->x)'
    assert compile_print_fmt(unknown) is None
    line = render_line(
        {
            "ts_ns": 0,
            "cpu": 0,
            "tid": 0,
            "comm": None,
            "name": "a:b",
            "fields": {"x": 3, "arr": [1, 2]},
        },
        {"a:b": unknown},
    )
    assert line.endswith("[000]     0.000000: b:                    x=3 arr={1,2}")
    assert "<...>-0" in line


def test_marker_and_loss_lines() -> None:
    marker = {
        "ts_ns": 1012588304819,
        "cpu": 1,
        "tid": 28743,
        "comm": "bash",
        "name": "ftrace:print",
        "fields": {"ip": 1, "buf": "hello marker\n"},
    }
    assert (
        render_line(marker) == "            bash-28743 [001]  1012.588305: print:                "
        "tracing_mark_write: hello marker"
    )
    lost = {"ts_ns": 1, "cpu": 1, "name": "lost", "fields": {"source": "kernel", "count": 678}}
    assert render_line(lost) == "CPU:1 [LOST 678 EVENTS]"
    assert timestamp(1_000_000_499) == "1.000000"
    assert timestamp(1_000_000_500) == "1.000001"  # rounded, as trace-cmd rounds


def test_sched_events_as_trace_cmd_plugins_print_them() -> None:
    """Lines trace-cmd report printed on this machine (its sched plugin)."""
    switch = {
        "ts_ns": 17388_003883_000, "cpu": 1, "tid": 23416, "comm": "trace-cmd",
        "name": "sched:sched_switch",
        "fields": {"prev_comm": "trace-cmd", "prev_pid": 23416, "prev_prio": 120,
                   "prev_state": 1, "next_comm": "qemu-system-x86", "next_pid": 20656,
                   "next_prio": 120},
    }  # fmt: skip
    assert render_line(switch) == (
        "       trace-cmd-23416 [001] 17388.003883: sched_switch:         "
        "trace-cmd:23416 [120] S ==> qemu-system-x86:20656 [120]"
    )
    switch["fields"]["prev_state"] = 0
    assert "[120] R ==> " in render_line(switch)
    switch["fields"]["prev_state"] = 0x3
    assert "[120] S|D ==> " in render_line(switch)
    wakeup = {
        "ts_ns": 1_000, "cpu": 0, "tid": 7, "comm": "x", "name": "sched:sched_wakeup",
        "fields": {"comm": "qemu-system-x86", "pid": 20664, "prio": 120, "target_cpu": 1},
    }  # fmt: skip
    assert render_line(wakeup).endswith("sched_wakeup:         qemu-system-x86:20664 [120] CPU:001")


def test_print_fmt_with_a_newline_in_its_string() -> None:
    """ext4_fsmap_*'s print fmt has a newline inside its string literal: the format file
    wraps there, and the rest of the file is still the print fmt (libtraceevent reads on)."""
    text = (
        "name: ext4_fsmap_low_key\nID: 7\nformat:\n"
        "\tfield:unsigned int agno;\toffset:8;\tsize:4;\tsigned:0;\n\n"
        'print fmt: "agno %u end\n", REC->agno\n'
    )
    fmt = parse_format(text, "ext4").print_fmt
    assert fmt == '"agno %u end\n", REC->agno'
    piece = compile_print_fmt(fmt)
    assert piece is not None
    assert piece({"agno": 3}) == "agno 3 end\n"
