"""render/funcgraph.py: the kernel's function_graph text layout, from stored events."""

from __future__ import annotations

from typing import Any

from tracerd.render.funcgraph import (
    HEADER,
    FuncgraphRenderer,
    duration_column,
    duration_text,
    overhead_mark,
    render_funcgraph,
    task_label,
)

ENTRY, EXIT = "ftrace:funcgraph_entry", "ftrace:funcgraph_exit"


def entry(func: str, depth: int, cpu: int = 0, tid: int = 100, comm: str = "tracee") -> Any:
    return {
        "name": ENTRY,
        "cpu": cpu,
        "tid": tid,
        "comm": comm,
        "fields": {"func": hash(func) & 0xFFFF, "func_sym": func, "depth": depth},
    }


def ret(func: str, depth: int, dur_ns: int, cpu: int = 0, tid: int = 100) -> Any:
    return {
        "name": EXIT,
        "cpu": cpu,
        "tid": tid,
        "comm": "tracee",
        "fields": {
            "func": hash(func) & 0xFFFF,
            "func_sym": func,
            "depth": depth,
            "calltime": 1000,
            "rettime": 1000 + dur_ns,
        },
    }


def test_duration_text_follows_the_kernel_widths() -> None:
    assert duration_text(561) == "0.561 us    "
    assert duration_text(12_345) == "12.345 us   "
    assert duration_text(1_234_567) == "1234.567 us "
    assert duration_text(12_345_678) == "12345.67 us "
    assert duration_text(123_456_789) == "123456.7 us "
    assert duration_text(1_234_567_890) == "1234567 us  "
    assert duration_text(12_345_678_901) == "12345678 us "
    assert {len(duration_text(n)) for n in (1, 999, 10**6, 10**7)} == {12}


def test_overhead_marks() -> None:
    assert [overhead_mark(n) for n in (10_000, 10_001, 100_001, 1_000_001)] == [" ", "+", "!", "#"]
    assert [overhead_mark(n) for n in (10_000_001, 100_000_001, 1_000_000_001)] == ["*", "@", "$"]
    assert duration_column(561) == "  0.561 us    |  "


def test_nested_calls_leaves_and_closing_braces() -> None:
    events = [
        entry("__do_sys_getpid", 0),
        entry("__task_pid_nr_ns", 1),
        ret("__task_pid_nr_ns", 1, 561),
        ret("__do_sys_getpid", 0, 15_170),
    ]
    assert render_funcgraph(events) == [
        *HEADER,
        " 0)               |  __do_sys_getpid() {",
        " 0)   0.561 us    |    __task_pid_nr_ns();",
        " 0) + 15.170 us   |  }",
    ]


def test_a_return_without_its_entry_gets_the_tail_comment() -> None:
    lines = render_funcgraph([ret("vfs_read", 1, 2000)], header=False)
    assert lines == [" 0)   2.000 us    |    } /* vfs_read */"]


def test_cpus_are_looked_ahead_separately() -> None:
    events = [
        entry("a", 0, cpu=0),
        entry("b", 0, cpu=1, tid=200),
        ret("a", 0, 1000, cpu=0),
        ret("b", 0, 2000, cpu=1, tid=200),
    ]
    lines = render_funcgraph(events, header=False)
    assert lines == [" 0)   1.000 us    |  a();", " 1)   2.000 us    |  b();"]


def test_a_task_switch_on_a_cpu_is_marked() -> None:
    events = [
        entry("a", 0, tid=100, comm="first"),
        ret("a", 0, 1000, tid=100),
        entry("b", 0, tid=200, comm="second"),
        ret("b", 0, 1000, tid=200),
    ]
    lines = render_funcgraph(events, header=False)
    assert lines[1] == " ------------------------------------------"
    assert lines[2] == " 0)   first-100    =>   second-200"
    assert lines[5].endswith("|  b();")


def test_other_events_become_comments_and_streaming_holds_one_entry() -> None:
    r = FuncgraphRenderer()
    assert r.feed(entry("a", 0)) == []  # held back: a leaf or not?
    lines = r.feed({"name": "sched:sched_switch", "cpu": 0, "fields": {"prev_pid": 1}})
    assert lines == [
        " 0)               |  a() {",
        " 0)               |  /* sched_switch: prev_pid=1 */",
    ]
    assert r.flush() == []


def test_task_label_is_centred_and_cut() -> None:
    assert task_label("python3", 812) == " python3-812  "
    assert task_label("averylongname", 1) == "  averylo-1   "


def test_text_export_of_a_function_graph_session_nests_like_the_tracer() -> None:
    import orjson

    from tracerd.reports.export.rows import Row
    from tracerd.reports.export.text import Text

    events = [entry("outer", 0), entry("inner", 1), ret("inner", 1, 2_000), ret("outer", 0, 9_000)]
    rows = [
        Row(
            i,
            1000 + i,
            e["cpu"],
            e["tid"],
            e["tid"],
            e["comm"],
            e["name"],
            orjson.dumps(e["fields"]).decode(),
            None,
            None,
            None,
        )
        for i, e in enumerate(events)
    ]
    text = Text("tracefs", 0, 0, {}, tracer="function_graph")
    out = text.header() + text.encode(rows[:2]) + text.encode(rows[2:]) + text.footer()
    lines = out.decode().splitlines()
    assert lines[: len(HEADER)] == list(HEADER)
    body = [line for line in lines[len(HEADER) :] if line.strip()]
    assert body == render_funcgraph(events, header=False)
    assert body[0].rstrip().endswith("outer() {")
    assert body[1].rstrip().endswith("inner();")
    assert body[2].rstrip().endswith("}")
