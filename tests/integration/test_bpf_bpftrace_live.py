"""bpftrace scripts as a managed child of the worker: printf lines as events, maps and
histograms as snapshots, syntax errors as CompileError, no feedback on its own writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tracerd.errors import CompileError

from .bpf_fakes import (
    EngineRun,
    getppid_looper,
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    prog_ids_loaded,
    wait_until,
)

pytestmark = [pytest.mark.root, pytest.mark.bpf]

if shutil.which("bpftrace") is None:
    pytestmark.append(pytest.mark.skip(reason="probed: bpftrace is not installed"))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_classic_openat_example_streams_the_right_lines(tmp_path: Path, short_tmp: Path) -> None:
    name = f"trd{uuid.uuid4().hex[:8]}"
    cat = tmp_path / name
    shutil.copy("/bin/cat", cat)
    target = short_tmp / "hello.txt"  # bpftrace's str() keeps 64 bytes by default
    target.write_text("hi\n")
    script = (
        f'tracepoint:syscalls:sys_enter_openat /comm == "{name}"/ '
        '{ printf("%s %s\\n", comm, str(args->filename)); }'
    )
    with EngineRun(tmp_path, {"bpftrace": script}) as run:
        child = run.handle.info["bpftrace_pid"]
        assert run.prog_ids
        assert prog_ids_loaded(run.prog_ids) == run.prog_ids
        assert [r[0] for r in run.ledger.live()] == ["bpftrace_child"]
        assert run.ledger.live()[0][2]["pid"] == child
        subprocess.run([str(cat), str(target)], check=True, capture_output=True)
        line = f"{name} {target}\n"
        assert wait_until(lambda: line in [e.fields["text"] for e in run.sink.named("printf")])
    assert not _alive(child)
    texts = [e.fields["text"] for e in run.sink.named("printf")]
    assert all(t.startswith(f"{name} ") for t in texts)
    assert run.sink.lost == {"bpf": 0}


def test_syntax_error_is_a_compile_error_with_bpftraces_text(tmp_path: Path) -> None:
    run = EngineRun(tmp_path, {"bpftrace": 'BEGIN { printf("x" }'})
    with pytest.raises(CompileError) as info:
        run.__enter__()
    message = info.value.message
    assert "syntax error" in message
    assert "RLIMIT" not in message
    rows = list(run.ledger.rows.values())
    assert [r[0] for r in rows] == ["bpftrace_child"]
    assert run.ledger.live() == []
    assert not _alive(rows[0][2]["pid"])


def test_no_feedback_on_its_own_writes(tmp_path: Path) -> None:
    """Every write bpftrace makes would print a line, which is a write: the injected
    predicate keeps it (and this worker) out, so only the writer child is seen."""
    script = (
        'tracepoint:syscalls:sys_enter_write { printf("%d %d\\n", pid, args->count); '
        "@writes[pid] = count(); }"
    )
    with EngineRun(tmp_path, {"bpftrace": script}) as run:
        bt_pid = run.handle.info["bpftrace_pid"]
        writer = subprocess.run(
            ["sh", "-c", "for i in 1 2 3; do echo x >/dev/null; done"], check=True
        )
        assert writer.returncode == 0
        time.sleep(1.0)
        seen_lines = len(run.sink.named("printf"))
    pids = {int(e.fields["text"].split()[0]) for e in run.sink.named("printf")}
    assert bt_pid not in pids
    assert os.getpid() not in pids
    assert seen_lines < 5000, "a feedback loop would print without end"
    writes = run.sink.map_snapshots[-1][1]["@writes"]
    assert writes["type"] == "map"
    assert bt_pid not in {int(e["key"]) for e in writes["entries"]}


def test_maps_histograms_periodic_and_final(tmp_path: Path) -> None:
    script = (
        "tracepoint:syscalls:sys_enter_getppid { @calls = count(); "
        "@sizes = hist(args->__syscall_nr); @by[comm] = count(); }"
    )
    with EngineRun(tmp_path, {"bpftrace": script, "map_interval_s": 0.2}) as run:
        for _ in range(3):
            subprocess.run(
                ["python3", "-c", "import os\nfor _ in range(10): os.getppid()"], check=True
            )
        assert wait_until(lambda: len(run.sink.map_snapshots) >= 2)
        live = run.engine.read_maps(run.handle)
        assert "@calls" in live
    final = run.sink.map_snapshots[-1][1]
    assert final == run.engine.read_maps(run.handle)
    assert final["@calls"]["type"] == "value"
    assert final["@calls"]["value"] >= 30
    sizes = final["@sizes"]
    assert sizes["type"] == "hist"
    assert sum(b["count"] for b in sizes["buckets"]) == final["@calls"]["value"]
    assert any(
        b["low"] == 64 and b["high"] == 127 and b["count"] >= 30 for b in sizes["buckets"]
    )  # getppid is syscall 110
    by = {e["key"]: e["value"] for e in final["@by"]["entries"]}
    assert by.get("python3", 0) >= 30


def test_exit_in_script_ends_the_session(tmp_path: Path) -> None:
    with EngineRun(tmp_path, {"bpftrace": 'BEGIN { printf("bye\\n"); exit(); }'}) as run:
        assert wait_until(lambda: bool(run.sink.ended_calls))
    assert [e.fields["text"] for e in run.sink.named("printf")] == ["bye\n"]
    assert run.sink.ended_calls[0][2] is False  # status 0: not a failure


def test_pid_filter_is_injected(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(
        ["sh", "-c", "read _; for i in 1 2 3; do echo; done >/dev/null"],
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        script = 'tracepoint:syscalls:sys_enter_write { printf("%d\\n", pid); }'
        with EngineRun(tmp_path, {"bpftrace": script, "pid": sleeper.pid}) as run:
            subprocess.run(["sh", "-c", "echo other >/dev/null"], check=True)
            sleeper.communicate("go\n", timeout=10)
            assert wait_until(lambda: len(run.sink.named("printf")) >= 3)
            time.sleep(0.3)
        assert {int(e.fields["text"]) for e in run.sink.named("printf")} == {sleeper.pid}
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("same_process", [True, False])
def test_exclusion_is_by_pid_and_start_time(tmp_path: Path, same_process: bool) -> None:
    """An excluded (pid, start time) hides that process only: a process with the same pid
    but another start time (one that reused a dead worker's pid) is traced."""
    with getppid_looper(same_process) as (pid, key):
        script = f'tracepoint:syscalls:sys_enter_getppid /pid == {pid}/ {{ printf("seen\\n"); }}'
        with EngineRun(tmp_path, {"bpftrace": script}, exclude_procs=(key,)) as run:
            if same_process:
                time.sleep(1.0)  # the looper calls getppid every 10 ms
            else:
                assert wait_until(lambda: bool(run.sink.named("printf")))
    assert bool(run.sink.named("printf")) is not same_process


def test_json_records_are_typed_events(tmp_path: Path) -> None:
    script = (
        'BEGIN { printf("a"); printf("b\\n"); @t = (1, "x"); @s = stats(3); @h = hist(5); exit(); }'
    )
    with EngineRun(tmp_path, {"bpftrace": script}) as run:
        assert wait_until(lambda: bool(run.sink.ended_calls))
    by_name = {e.name: e.fields for e in run.sink.events if e.name != "printf"}
    assert [e.fields["text"] for e in run.sink.named("printf")] == ["a", "b\n"]
    assert by_name["attached_probes"]["data"] == {"probes": 1}
    datas = [e.fields["data"] for e in run.sink.events if e.name in ("map", "stats", "hist")]
    assert {"@t": [1, "x"]} in datas
    assert {"@s": {"count": 1, "average": 3, "total": 3}} in datas
    assert {"@h": [{"min": 4, "max": 7, "count": 1}]} in datas
    records = [e for e in run.sink.events if "json" in e.fields]
    assert all(json.loads(e.fields["json"])["data"] == e.fields["data"] for e in records)
    assert [e.fields["text"] for e in run.sink.named("text")] == ["\n", "\n"]  # as -f json


def test_text_format_is_bpftraces_stdout(tmp_path: Path) -> None:
    script = 'BEGIN { printf("a"); printf("b\\n"); @t = (1, "x"); exit(); }'
    spec = {"bpftrace": script, "bpftrace_options": {"format": "text"}}
    with EngineRun(tmp_path, spec) as run:
        assert wait_until(lambda: bool(run.sink.ended_calls))
    text = "".join(e.fields["text"] for e in run.sink.named("text"))
    peer = subprocess.run(["bpftrace", "-e", script], capture_output=True, text=True, check=True)
    assert text == peer.stdout
    assert "ab\n" in text


def test_failure_after_attaching_is_a_compile_error(tmp_path: Path) -> None:
    run = EngineRun(tmp_path, {"bpftrace": "hardware:cache-misses:1000000 { @ = count(); }"})
    with pytest.raises(CompileError) as info:
        run.__enter__()
    assert "Error attaching probe" in info.value.message
    assert run.ledger.live() == []


def test_text_session_has_live_and_final_maps(tmp_path: Path) -> None:
    """Without map_interval_s, a `text` session's maps are readable while it runs (the
    snapshots are taken out of its text) and after it (parsed from bpftrace's exit print,
    which stays in the text exactly as bpftrace prints it)."""
    script = (
        'tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { @calls = count(); '
        "@by[comm] = count(); @h = hist(5); }"
    )
    spec = {"bpftrace": script, "bpftrace_options": {"format": "text"}}
    with EngineRun(tmp_path, spec) as run:
        subprocess.run(["python3", "-c", "import os\nfor _ in range(7): os.getppid()"], check=True)
        # a snapshot taken while python3 was in its loop holds fewer: wait for the whole 7
        calls = lambda: run.engine.read_maps(run.handle).get("@calls", {}).get("value", 0)  # noqa: E731
        assert wait_until(lambda: calls() >= 7)
        live = run.engine.read_maps(run.handle)
        assert live["@calls"] == {"type": "value", "value": 7}
        assert live["@by"]["entries"] == [{"key": "python3", "value": 7}]
        assert live["@h"]["buckets"][0] == {"low": 4, "high": 7, "count": 7}
        assert run.sink.map_snapshots == []  # kept for GET .../maps, not streamed
        subprocess.run(["python3", "-c", "import os\nfor _ in range(3): os.getppid()"], check=True)
        time.sleep(0.3)
    text = "".join(e.fields["text"] for e in run.sink.named("text"))
    assert "@@tracerd" not in text
    assert text.startswith("Attaching 1 probe...\n")
    assert "@calls: 10\n" in text
    assert "@by[python3]: 10\n" in text
    final = run.sink.map_snapshots[-1][1]
    assert final == run.engine.read_maps(run.handle)
    assert final["@calls"] == {"type": "value", "value": 10}
    assert final["@h"]["buckets"] == [{"low": 4, "high": 7, "count": 10}]
