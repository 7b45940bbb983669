"""render/bpf.py: lines as the BCC tools print them, histograms as print_log2_hist."""

from __future__ import annotations

from tracerd.render import bpf as render
from tracerd.types import WireEvent


def test_log2_hist_matches_bccs_layout() -> None:
    buckets = [
        {"low": 0, "high": 0, "count": 1},
        {"low": 1, "high": 1, "count": 2},
        {"low": 2, "high": 3, "count": 0},
        {"low": 4, "high": 7, "count": 6},
    ]
    assert render.log2_hist(buckets, "usecs") == "\n".join(
        [
            "     usecs               : count     distribution",
            "         0 -> 1          : 3        |********************                    |",
            "         2 -> 3          : 0        |                                        |",
            "         4 -> 7          : 6        |****************************************|",
        ]
    )
    assert render.log2_hist([], "usecs") == ""


def test_event_lines() -> None:
    ev = {
        "name": "opensnoop",
        "pid": 812,
        "comm": "cat",
        "fields": {"ret": 3, "fd": 3, "err": 0, "flags": 0, "path": "/etc/hostname"},
    }
    assert render.render_event(ev) == "812    cat                 3   0 /etc/hostname"
    exec_ev = WireEvent(
        0,
        0,
        9,
        9,
        "echo",
        "execsnoop",
        {
            "pcomm": "echo",
            "pid": 9,
            "ppid": 1,
            "ret": 0,
            "args": ["echo", "hi"],
            "truncated": False,
        },
    )
    assert render.render_event(exec_ev) == "echo             9       1         0 echo hi"
    killed = {
        "name": "exitsnoop",
        "fields": {
            "pcomm": "sleep",
            "pid": 5,
            "ppid": 1,
            "tid": 5,
            "age_s": 0.25,
            "exit_code": None,
            "signal": "SIGKILL",
            "core": False,
            "status": 9,
        },
    }
    assert render.render_event(killed).endswith("0.25    signal 9 (KILL)")
    assert render.render_event({"name": "printf", "fields": {"text": "a b\n"}}) == "a b\n"
    assert render.render_event({"name": "lost", "fields": {"source": "bpf", "count": 4}}) == (
        "Possibly lost 4 samples"
    )
    assert (
        render.header(
            "opensnoop",
        )
        == "PID    COMM               FD ERR PATH"
    )


def test_maps() -> None:
    syscount = {
        "counts": {
            "type": "map",
            "entries": [
                {"key": {"syscall": "getppid", "nr": 110}, "value": {"count": 5, "total_ns": 2500}}
            ],
        }
    }
    assert render.render_maps(syscount, "syscount") == (
        "SYSCALL                   COUNT        TIME (us)\n"
        "getppid                       5            2.500"
    )
    keyed = {
        "dist": {
            "type": "hist",
            "unit": "msecs",
            "entries": [{"key": {"disk": "vda"}, "buckets": [{"low": 0, "high": 0, "count": 1}]}],
        }
    }
    assert render.render_maps(keyed).startswith("disk = vda\n     msecs")
    stacks = {"counts": {"type": "stacks", "entries": [], "folded": ["a;b 3"]}}
    assert render.render_maps(stacks, "profile") == "a;b 3"
    bt = {
        "@c": {"type": "map", "entries": [{"key": "cat", "value": 3}]},
        "@n": {"type": "value", "value": 7},
        "@h": {"type": "hist", "unit": "", "buckets": [{"low": 4, "high": 7, "count": 2}]},
    }
    assert render.render_maps(bt) == (
        "@c[cat]: 3\n@n: 7\n@h: \n[4, 8)                 2 |" + "@" * 52 + "|\n"
    )
    # as bpftrace 0.17 printed them: K/M labels for hist, plain numbers for lhist
    log2 = [{"low": 0, "high": 0, "count": 2}, {"low": 1, "high": 1, "count": 0}]
    log2 += [{"low": 1 << k, "high": (2 << k) - 1, "count": 0} for k in range(1, 19)]
    log2.append({"low": 1 << 19, "high": (1 << 20) - 1, "count": 29})
    lines = render.bpftrace_hist("@h", log2).splitlines()
    assert lines[0] == "@h: "
    assert lines[1] == "[0]                    2 |@@@" + " " * 49 + "|"
    assert lines[11].startswith("[512, 1K)              0 |")
    assert lines[-1] == "[512K, 1M)            29 |" + "@" * 52 + "|"
    linear = [{"low": 0, "high": 99, "count": 31}, {"low": 100, "high": 199, "count": 1}]
    assert render.bpftrace_hist("@l", linear).splitlines()[1:] == [
        "[0, 100)              31 |" + "@" * 52 + "|",
        "[100, 200)             1 |@" + " " * 51 + "|",
    ]


def test_bpftrace_session_events_render_as_bpftrace_printed_them() -> None:
    text = {"name": "text", "fields": {"text": "ab\n"}}
    assert render.render_event(text) == "ab\n"
    printf = {
        "name": "printf",
        "fields": {"data": "a", "json": '{"type": "printf", "data": "a"}', "text": "a"},
    }
    assert render.render_event(printf) == "a"
    line = '{"type": "map", "data": {"@x": {"a": 2}}}'
    record = {"name": "map", "fields": {"data": {"@x": {"a": 2}}, "json": line}}
    assert render.render_event(record) == "@x[a]: 2"
    raw = {"name": "raw", "fields": {"json": '{"type": "map", "data": {"@t": 12:00}}'}}
    assert render.render_event(raw) == raw["fields"]["json"]
