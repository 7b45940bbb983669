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


SNAP = bt.Snapshots("n0", 250)
BEGIN_P, END_P, EXIT_P = (
    'printf("@@tracerd:n0:maps@@\\n");',
    'printf("@@tracerd:n0:done@@\\n");',
    'printf("@@tracerd:n0:exit@@\\n");',
)


def test_snapshot_probes_print_every_map_between_markers() -> None:
    script = "k:f { @x = count(); @ = hist(1); }"
    out = bt.rewrite(script, "", SNAP)
    assert out == (
        script
        + f"\ninterval:ms:250 {{ {BEGIN_P} print(@); print(@x); {END_P} }}\n"
        + f"END {{ {EXIT_P} }}\n"
    )
    assert bt.added_probes(script, SNAP) == 2
    # a script's own END block prints the exit marker last (bpftrace allows one END)
    for end, inside in [
        ("END { clear(@x) }", "END { clear(@x); " + EXIT_P + " }"),
        ("END { if (1) { } }", "END { if (1) { } " + EXIT_P + " }"),
        ("END { }", "END { " + EXIT_P + " }"),
        ('END { printf("}") // c }\n}', 'END { printf("}"); ' + EXIT_P + " // c }\n}"),
    ]:
        out = bt.rewrite(script + " " + end, "", SNAP)
        assert inside in out
        assert out.count("END") == 1
        assert bt.added_probes(script + " " + end, SNAP) == 1
    # nothing to snapshot, or a script bpftrace will refuse: nothing added
    assert bt.rewrite('BEGIN { printf("x"); }', "", SNAP) == 'BEGIN { printf("x"); }'
    assert bt.rewrite("BEGIN { @x = 1; ", "", SNAP) == "BEGIN { @x = 1; "
    assert bt.added_probes("BEGIN { @x = 1; ", SNAP) == 0


def test_text_maps_parse_as_bpftrace_prints_them() -> None:
    text = (
        "\n\n@: 5\n@c: 1\n@h: \n"
        "[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[2K, 4K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "\n@k[q]: \n(..., 0)               1 |@@@@@@|\n[100, ...)             3 |@@@@|\n"
        "\n@l: \n[5]                    1 |@@@|\n\n"
        "@m[1, x]: 2\n@m[2, y]: -3\n@s: count 1, average 3, total 3\n"
        "@st[\n    foo+1\n    bar+2\n]: 3\n\n@t: (1, a)\nnot a map line\n"
    )
    assert bt.parse_text_maps(text) == {
        "@": {"type": "value", "value": 5},
        "@c": {"type": "value", "value": 1},
        "@h": {
            "type": "hist",
            "unit": "",
            "buckets": [
                {"low": 4, "high": 7, "count": 1},
                {"low": 2048, "high": 4095, "count": 2},
            ],
        },
        "@k": {
            "type": "hist",
            "unit": "",
            "entries": [
                {
                    "key": "q",
                    "buckets": [
                        {"low": None, "high": -1, "count": 1},
                        {"low": 100, "high": None, "count": 3},
                    ],
                }
            ],
        },
        "@l": {"type": "hist", "unit": "", "buckets": [{"low": 5, "high": 5, "count": 1}]},
        "@m": {
            "type": "map",
            "entries": [{"key": "1, x", "value": 2}, {"key": "2, y", "value": -3}],
        },
        "@s": {"type": "value", "value": {"count": 1, "average": 3, "total": 3}},
        "@st": {"type": "map", "entries": [{"key": "    foo+1\n    bar+2", "value": 3}]},
        "@t": {"type": "value", "value": "(1, a)"},
    }


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


def test_errors_about_the_snapshot_probes_are_left_out() -> None:
    script = 'BEGIN { @x[1] = 1; @x["a"] = 2; }'
    theirs = bt.rewrite(script, "", SNAP).split("\n")
    message = (
        f"stdin:1:20-32: ERROR: Argument mismatch for @x\n{theirs[0]}\n"
        + " " * 19
        + "~~~~~~~~~~~~\n"
        + f"stdin:2:30-38: ERROR: something about @x\n{theirs[1]}\n"
        + " " * 29
        + "~~~~~~~~\n"
    )
    assert bt.original_message(message, script, "", SNAP) == (
        f"stdin:1:20-32: ERROR: Argument mismatch for @x\n{script}\n" + " " * 19 + "~" * 12 + "\n"
    )
