from __future__ import annotations

from tracerd.render.strace import (
    StraceRenderer,
    SummaryRow,
    align,
    format_summary,
    render_events,
    summary_rows,
)
from tracerd.types import WireEvent


def call(tid: int, ts: int, name: str, text: str, ret: int | None, **extra: object) -> WireEvent:
    fields = {"args": [], "raw_args": [], "ret": ret, "errno": None, "duration_ns": 10,
              "text": text, **extra}  # fmt: skip
    return WireEvent(ts, None, 100, tid, "p", name, fields, 10, ret, None)


def test_align_pads_like_strace() -> None:
    assert align("close(3) = 0") == "close(3)" + " " * 31 + " = 0"
    long = 'openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3'
    assert align(long) == long


def test_pid_prefix_only_with_several_tracees() -> None:
    r = StraceRenderer(follow=True)
    assert r.feed(call(100, 1, "getpid", "getpid() = 100", 100)) == [
        "getpid()" + " " * 31 + " = 100"
    ]
    lines = r.feed(call(101, 2, "gettid", "gettid() = 101", 101))
    assert lines[0].startswith("[pid   101] gettid()")
    exit_101 = WireEvent(3, None, 100, 101, "p", "exit", {"text": "+++ exited with 0 +++"})
    assert r.feed(exit_101) == ["[pid   101] +++ exited with 0 +++"]
    assert r.feed(call(100, 4, "getpid", "getpid() = 100", 100))[0].startswith("getpid()")


def test_pid_column_in_a_file_like_strace_f_o() -> None:
    r = StraceRenderer(follow=True, pid_column=True)
    assert r.feed(call(100, 1, "getpid", "getpid() = 100", 100)) == [
        "100   getpid()".ljust(39) + " = 100"  # strace counts the pid column in its 40
    ]
    exit_101 = WireEvent(3, None, 100, 101, "p", "exit", {"text": "+++ exited with 0 +++"})
    assert r.feed(exit_101) == ["101   +++ exited with 0 +++"]


def test_unfinished_and_resumed_split_by_time() -> None:
    slow = call(
        100, 10, "read", 'read(3, "x", 1) = 1', 1, resumed=True,
        entry_text="read(3, ", resumed_text='<... read resumed>"x", 1) = 1', duration_ns=100,
    )  # fmt: skip
    early = call(101, 0, "gettid", "gettid() = 101", 101)
    quick = call(101, 20, "getpid", "getpid() = 100", 100)
    late = call(101, 200, "getpid", "getpid() = 100", 100)
    lines = render_events([early, quick, slow, late], follow=True)
    assert lines[1] == "[pid   100] read(3,  <unfinished ...>"
    assert lines[2].startswith("[pid   101] getpid()")
    assert lines[3].startswith('[pid   100] <... read resumed>"x", 1)')


def test_summary_table() -> None:
    rows = [SummaryRow("openat", 8, 3, 0.000298), SummaryRow("close", 5, 0, 0.000167)]
    text = format_summary(rows).splitlines()
    assert text[0] == "% time     seconds  usecs/call     calls    errors syscall"
    assert text[1] == "------ ----------- ----------- --------- --------- ----------------"
    assert text[2] == " 64.09    0.000298          37         8         3 openat"
    assert text[3] == " 35.91    0.000167          33         5           close"
    assert text[-1] == "100.00    0.000465          35        13         3 total"


def test_summary_rows_skip_unfinished_and_lifecycle() -> None:
    events = [
        call(1, 1, "read", "read() = 1", 1),
        call(1, 2, "exit_group", "exit_group(0) = ?", None),
        WireEvent(3, None, 1, 1, "p", "exit", {"text": "+++ exited with 0 +++"}),
    ]
    assert summary_rows(events) == [SummaryRow("read", 1, 0, 10 / 1e9)]


def test_command_output_is_marked_apart_from_trace_lines() -> None:
    """Text export (show_output): the command's stdout never passes for a trace line."""
    out = WireEvent(1, None, 100, 100, "p", "stdout", {"text": "write(1) = 3"})
    assert StraceRenderer().feed(out) == ["[stdout] write(1) = 3"]
    assert StraceRenderer(show_output=False).feed(out) == []


def test_line_options_stamps_durations_quiet_signals() -> None:
    from tracerd.render.strace import LineOptions

    opts = LineOptions(stamps="ttt", durations=True, quiet_exits=True, signals=frozenset())
    r = StraceRenderer(options=opts)
    event = call(100, 2_000_000_000, "getpid", "getpid() = 100", 100, duration_ns=1500)
    line = r.feed(event)[0]
    assert line.startswith("2.000000 getpid()")
    assert line.endswith("= 100 <0.000001>")
    assert len(line.split(" = ")[0]) == 39  # the stamp counts in strace's 40 columns
    gone = WireEvent(3, None, 100, 100, "p", "exit", {"text": "+++ exited with 0 +++"})
    assert r.feed(gone) == []
    sig = WireEvent(3, None, 100, 100, "p", "signal", {"signal": "SIGCHLD", "text": "--- x ---"})
    assert r.feed(sig) == []


def test_exec_from_a_thread_supersedes_the_leader() -> None:
    # strace -f on a thread that execs while its leader waits in futex
    r = StraceRenderer(follow=True)
    r.feed(call(100, 1, "getpid", "getpid() = 100", 100))
    r.feed(call(100, 2, "clone3", "clone3({...}, 88) = 101", 101))
    execve = {"unfinished": True, "text": 'execve("/bin/true", ["/bin/true"], 0x1 /* 0 vars */'}
    assert r.feed(WireEvent(3, None, 100, 101, "p", "execve", execve)) == [
        '[pid   101] execve("/bin/true", ["/bin/true"], 0x1 /* 0 vars */ <unfinished ...>'
    ]
    futex = call(
        100, 1, "futex", "futex(0x1, FUTEX_WAIT, 101, NULL) = ?", None, resumed=True,
        entry_text="futex(0x1, FUTEX_WAIT, 101, NULL", resumed_text="<... futex resumed>) = ?",
        announced=True,
    )  # fmt: skip
    assert r.feed(futex) == ["[pid   100] <... futex resumed>)".ljust(39) + " = ?"]
    gone = WireEvent(4, None, 100, 100, "p", "superseded", {"former": 101, "text": (
        "+++ superseded by execve in pid 101 +++")})  # fmt: skip
    assert r.feed(gone) == ["+++ superseded by execve in pid 101 +++"]
    resumed = call(
        100, 3, "execve", "execve(...) = 0", 0, resumed=True, entry_text="execve(",
        resumed_text="<... execve resumed>) = 0", announced=True,
    )  # fmt: skip
    assert r.feed(resumed) == ["<... execve resumed>)".ljust(39) + " = 0"]


def test_entry_tails_detached_and_pid_changed() -> None:
    r = StraceRenderer(follow=True)
    detached = {"unfinished": True, "text": "read(0, ", "tail": "<detached ...>"}
    assert r.feed(WireEvent(1, None, 100, 100, "p", "read", detached)) == [
        "read(0,  <detached ...>"
    ]
    changed = {"unfinished": True, "text": "execve(", "tail": "<pid changed to 100 ...>"}
    assert r.feed(WireEvent(2, None, 100, 100, "p", "execve", changed)) == [
        "execve( <pid changed to 100 ...>"
    ]
