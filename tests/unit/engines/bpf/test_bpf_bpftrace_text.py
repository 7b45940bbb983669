"""bpftrace_text.py: the script rewrite (no feedback, filters, map prints) and the
classification of `-f json` records."""

from __future__ import annotations

from tracerd.engines.bpf import bpftrace_text as bt

SCRIPT = r"""
#include <linux/sched.h>
struct foo { int a; };
BEGIN { printf("start {\n"); }
// a comment with { braces }
tracepoint:syscalls:sys_enter_write /comm == "x{"/ { @w[pid] = count(); if (1) { @n++; } }
uprobe:/bin/bash:readline, tracepoint:a:b { /* } */ printf("%s\n", "}"); }
interval:s:1 { print(@w); }
END { clear(@n); }
"""


def test_blocks_skip_strings_comments_and_preprocessor_lines() -> None:
    headers = [b.header for b in bt.blocks(SCRIPT)]
    # headers keep code only: strings, comments and preprocessor lines are left out
    assert headers == [
        "struct foo",
        "BEGIN",
        "tracepoint:syscalls:sys_enter_write /comm == /",
        "uprobe:/bin/bash:readline, tracepoint:a:b",
        "interval:s:1",
        "END",
    ]
    assert [b.header for b in bt.blocks("// BEGIN\nk:f { }\n/* END */ BEGIN { }")] == [
        "k:f",
        "BEGIN",
    ]


def test_rewrite_guards_task_bound_probes_only() -> None:
    out = bt.rewrite(SCRIPT, "pid == 7")
    guard = " if (pid == 7) { return; } "
    assert out.count(guard) == 2
    assert f'/comm == "x{{"/ {{{guard} @w[pid]' in out
    assert f"tracepoint:a:b {{{guard} /* }} */" in out
    assert 'BEGIN { printf("start {\\n"); }' in out
    assert "struct foo { int a; };" in out
    assert bt.rewrite(SCRIPT, "") == SCRIPT


def test_guard_and_map_prints() -> None:
    assert bt.guard(((3, 5), (1, None), (3, 5)), 9, 'we"ird') == (
        'pid == 1 || pid == 3 || pid != 9 || comm != "we\\"ird"'
    )
    assert bt.guard(((3, 5), (1, None)), None, None, 10_000_000) == (
        "pid == 1 || (pid == 3 && curtask->group_leader->start_boottime / 10000000 == 5)"
    )
    assert bt.map_names(SCRIPT) == ["@n", "@w"]
    out = bt.rewrite("k:f { @x = count(); @ = hist(1); }", "", map_interval_s=0.25)
    assert out.endswith("interval:ms:250 { print(@); print(@x); }\n")


def test_classify_json_records() -> None:
    assert bt.classify({"type": "printf", "data": "a b\n"}) == bt.Record("text", "printf", "a b\n")
    assert bt.classify({"type": "lost_events", "data": {"events": 4}}) == bt.Record(
        "lost", "lost_events", 4
    )
    assert bt.classify({"type": "attached_probes", "data": {"probes": 2}}).kind == "attached"
    hist = bt.classify(
        {
            "type": "hist",
            "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 2}]},
        }
    )
    assert hist.data == {
        "@h": {
            "type": "hist",
            "unit": "",
            "buckets": [{"low": None, "high": -1, "count": 1}, {"low": 0, "high": 0, "count": 2}],
        }
    }
    keyed = bt.classify({"type": "map", "data": {"@k": {"a,2": 3}, "@x": 5}})
    assert keyed.data == {
        "@k": {"type": "map", "entries": [{"key": "a,2", "value": 3}]},
        "@x": {"type": "value", "value": 5},
    }
    stats = bt.classify({"type": "stats", "data": {"@s": {"count": 1, "average": 4, "total": 4}}})
    assert stats.data["@s"] == {"type": "value", "value": {"count": 1, "average": 4, "total": 4}}
    assert bt.classify([1]).kind == "other"
    tuple_value = bt.classify({"type": "value", "data": [1, "a"]})
    assert tuple_value == bt.Record("text", "value", '[1, "a"]')


def test_stderr_message_drops_the_memlock_noise() -> None:
    text = (
        "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. ...\n"
        "stdin:1:20-21: ERROR: syntax error, unexpected }\n"
    )
    assert bt.stderr_message(text) == "stdin:1:20-21: ERROR: syntax error, unexpected }"


def test_error_positions_are_the_users_columns() -> None:
    script = 'BEGIN { printf("a\\n"); } tracepoint:x:y { @x = foo(); }\nk:f { bar(); }'
    cond = "pid == 12345"
    rewritten = bt.rewrite(script, cond)
    line0 = rewritten.split("\n")[0]
    col = line0.index("foo(") + 1
    message = (
        f"stdin:1:{col}-{col + 3}: ERROR: Unknown function: foo\n{line0}\n"
        + " " * (col - 1)
        + "~~~\n"
    )
    want = script.index("foo(") + 1
    assert bt.original_message(message, script, cond) == (
        f"stdin:1:{want}-{want + 3}: ERROR: Unknown function: foo\n"
        + script.split("\n")[0]
        + "\n"
        + " " * (want - 1)
        + "~~~\n"
    )
    assert bt.original_message("stdin:1:1-6: ERROR: x", script, "") == "stdin:1:1-6: ERROR: x"
