"""TaskResolver: session map first, then saved_cmdlines/saved_tgids, then /proc (tmp trees)."""

from __future__ import annotations

import os
from pathlib import Path

from tracerd.engines.tracefs.tasks import TaskResolver
from tracerd.types import WireEvent


def tree(tmp_path: Path) -> tuple[Path, Path]:
    tfs, proc = tmp_path / "tracing", tmp_path / "proc"
    tfs.mkdir()
    (tfs / "saved_cmdlines").write_text("100 saved-comm\n7 <...>\n")
    (tfs / "saved_tgids").write_text("100 90\n101 90\n")
    (proc / "200").mkdir(parents=True)
    (proc / "200" / "comm").write_text("proc-comm\n")
    (proc / "200" / "status").write_text("Name:\tproc-comm\nTgid:\t199\nPid:\t200\n")
    return tfs, proc


def test_resolution_order(tmp_path: Path) -> None:
    tfs, proc = tree(tmp_path)
    r = TaskResolver(str(tfs), str(proc))
    assert r.lookup(100) == (90, "saved-comm")
    assert r.lookup(200) == (199, "proc-comm")
    assert r.lookup(7) == (None, None)  # "<...>" is the kernel's "unknown"
    assert r.lookup(0) == (0, "<idle>")
    assert r.cache[100] == (90, "saved-comm")
    assert r.cache[7] == (None, None)  # negative answers are cached too


def test_hooks_keep_the_session_map(tmp_path: Path) -> None:
    tfs, proc = tree(tmp_path)
    r = TaskResolver(str(tfs), str(proc))
    hooks = r.hooks()
    hooks["sched:sched_process_fork"](
        100, {"parent_comm": "bash", "parent_pid": 100, "child_comm": "bash", "child_pid": 300}, 0
    )
    assert r.cache[300] == (None, "bash")
    hooks["sched:sched_process_exec"](
        300, {"filename": "/usr/bin/a-very-long-program-name", "pid": 300, "old_pid": 300}, 0
    )
    assert r.cache[300] == (300, "a-very-long-pro")  # TASK_COMM_LEN - 1
    hooks["sched:sched_switch"](
        300,
        {
            "prev_comm": "x",
            "prev_pid": 300,
            "prev_prio": 120,
            "prev_state": 1,
            "next_comm": "y",
            "next_pid": 301,
            "next_prio": 120,
        },
        0,
    )
    assert r.cache[300] == (300, "x")
    assert r.cache[301][1] == "y"
    hooks["task:task_newtask"](
        300, {"pid": 302, "comm": "x", "clone_flags": 0x10000, "oom_score_adj": 0}, 0
    )
    assert r.cache[302] == (300, "x")  # a thread: tgid of its creator
    hooks["task:task_rename"](
        302, {"pid": 302, "oldcomm": "x", "newcomm": "worker", "oom_score_adj": 0}, 0
    )
    assert r.cache[302] == (300, "worker")


def test_maps_are_bounded(tmp_path: Path) -> None:
    tfs, proc = tree(tmp_path)
    r = TaskResolver(str(tfs), str(proc), max_entries=10)
    for tid in range(1000, 1100):
        r.set_comm(tid, "c", tid)
    assert len(r.cache) <= 10
    assert r.cache[1099] == (1099, "c")


def test_live_proc_of_this_process() -> None:
    r = TaskResolver(proc_root="/proc", tracefs_root="/nonexistent")
    pid, comm = r.lookup(os.getpid())
    assert pid == os.getpid()
    assert comm == Path(f"/proc/{os.getpid()}/comm").read_text().strip()


def ev(ts: int, tid: int, comm: str | None) -> WireEvent:
    return WireEvent(ts, 0, tid, tid, comm, "syscalls:sys_enter_read", {})


def test_comm_follows_exec_in_time_order_across_cpus(tmp_path: Path) -> None:
    """The exec (CPU 1, t=15) is decoded after CPU 0's page with t=10 and t=20 (both got
    the old comm), then a later CPU 0 page with t=12 that was resolved with the new one."""
    tfs, proc = tree(tmp_path)
    r = TaskResolver(str(tfs), str(proc))
    r.set_comm(400, "bash", 400)
    decoded = [ev(10, 400, "bash"), ev(20, 400, "bash")]
    r.hooks()["sched:sched_process_exec"](400, {"filename": "/bin/ls", "pid": 400}, 15)
    decoded.append(ev(12, 400, "ls"))
    exec_ev = WireEvent(15, 1, 400, 400, "ls", "sched:sched_process_exec", {})
    merged = sorted([*decoded, exec_ev], key=lambda e: e.ts_ns)
    fixed = r.in_time_order(merged, merged[-1].ts_ns)
    assert [(e.ts_ns, e.comm) for e in fixed] == [
        (10, "bash"),
        (12, "bash"),
        (15, "ls"),
        (20, "ls"),
    ]
    assert r.in_time_order([ev(30, 400, "ls"), ev(31, 9, "x")], 31)[0].comm == "ls"
    r.hooks()["task:task_rename"](400, {"pid": 400, "oldcomm": "ls", "newcomm": "worker"}, 40)
    later = r.in_time_order([ev(35, 400, "worker"), ev(45, 400, "ls")], 45)
    assert [e.comm for e in later] == ["ls", "worker"]
