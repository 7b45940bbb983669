"""tracers.py without a kernel: where a tracer runs, which spec combinations are refused,
which files it writes (a directory tree stands in for tracefs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.tracefs.tracers import (
    TracerSetup,
    filter_hints,
    needs_top_level,
    tracer_where,
)
from tracerd.errors import BadRequest, KernelRejected, ResourceBusy
from tracerd.kernel.tracefs import Tracefs
from tracerd.specs import BpfSpec, TracefsSpec

from .test_toplevel import FakeLedger

CAPS_6_1 = {
    "tracefs": {
        "function": {"usable": True, "where": "instance", "reason": None},
        "function_graph": {"usable": True, "where": "top_level", "reason": "EINVAL"},
    }
}
CAPS_HOST = {"tracefs": {"function": {"usable": False, "where": None, "reason": "EPERM"}}}
TOP_FILES = {
    "current_tracer": "nop",
    "tracing_on": "1",
    "trace_clock": "[local] global mono",
    "max_graph_depth": "0",
    "set_graph_function": "",
    "set_ftrace_filter": "",
    "set_ftrace_pid": "",
    "set_ftrace_notrace_pid": "",
    "error_log": "",
    "available_filter_functions": "__do_sys_getpid\nksys_write\n__task_pid_nr_ns\n",
}


def test_where_and_top_level_need() -> None:
    assert tracer_where("function", CAPS_6_1) == "instance"
    assert tracer_where("function_graph", CAPS_6_1) == "top_level"
    assert tracer_where("function", CAPS_HOST) is None
    assert tracer_where("nop", CAPS_6_1) is None
    assert needs_top_level(TracefsSpec(tracer="function_graph"), CAPS_6_1)
    assert not needs_top_level(TracefsSpec(tracer="function"), CAPS_6_1)
    assert not needs_top_level(BpfSpec(tool="execsnoop"), CAPS_6_1)


@pytest.fixture
def fs(tmp_path: Path) -> Tracefs:
    (tmp_path / "options").mkdir()
    (tmp_path / "options/function-fork").write_text("0")
    for file, text in TOP_FILES.items():
        (tmp_path / file).write_text(text)
    inst = tmp_path / "instances/s1"
    inst.mkdir(parents=True)
    for file in ("current_tracer", "set_ftrace_filter", "error_log", "set_ftrace_notrace_pid"):
        (inst / file).write_text("nop" if file == "current_tracer" else "")
    return Tracefs(tmp_path)


def setup(fs: Tracefs, ledger: FakeLedger, **spec: Any) -> TracerSetup:
    return TracerSetup(fs, fs.instance("s1"), TracefsSpec(**spec), CAPS_6_1, ledger)


def test_function_in_the_instance_touches_nothing_at_the_top(fs: Tracefs) -> None:
    ledger = FakeLedger()
    tracer = setup(fs, ledger, tracer="function", functions=["ksys_write"])
    tracer.configure()
    tracer.exclude([7, 8])
    tracer.enable()
    inst = fs.root / "instances/s1"
    assert (inst / "set_ftrace_filter").read_text().split() == ["ksys_write"]
    assert (inst / "set_ftrace_notrace_pid").read_text().split() == ["7", "8"]
    assert (inst / "current_tracer").read_text() == "function_graph".replace("_graph", "")
    assert tracer.buffer_dir == inst
    assert tracer.event_names == ("ftrace:function",)
    assert ledger.rows == {}
    tracer.release()
    assert (inst / "current_tracer").read_text() == "nop"


def test_function_graph_at_the_top_level_is_recorded_and_undone(fs: Tracefs) -> None:
    ledger = FakeLedger()
    tracer = setup(
        fs, ledger, tracer="function_graph", graph_functions=["__do_sys_getpid"], max_graph_depth=2
    )
    tracer.configure()
    tracer.set_pids([812], follow=True)
    tracer.enable()
    tracer.start()
    root = fs.root
    assert (root / "current_tracer").read_text() == "function_graph"
    assert (root / "trace_clock").read_text() == "mono"
    assert (root / "max_graph_depth").read_text() == "2"
    assert (root / "options/function-fork").read_text() == "1"
    assert tracer.buffer_dir == root
    assert {name for _, name, _ in ledger.rows.values()} >= {"current_tracer", "trace_clock"}
    tracer.pause()
    assert (root / "tracing_on").read_text() == "0"
    tracer.release()
    assert (root / "current_tracer").read_text() == "nop"
    assert (root / "tracing_on").read_text() == "1"
    assert (root / "trace_clock").read_text() == "local"
    assert (root / "max_graph_depth").read_text() == "0"
    assert (root / "options/function-fork").read_text() == "0"
    assert ledger.rows == {}


def test_a_top_level_tracer_set_by_someone_else_is_busy(fs: Tracefs) -> None:
    (fs.root / "current_tracer").write_text("function")
    ledger = FakeLedger()
    with pytest.raises(ResourceBusy, match="function"):
        setup(fs, ledger, tracer="function_graph").configure()
    assert ledger.rows == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"tracer": "function", "graph_functions": ["a"]},
        {"tracer": "function", "max_graph_depth": 3},
        {"events": ["sched:sched_switch"], "functions": ["a"]},
    ],
)
def test_graph_options_need_function_graph(fs: Tracefs, spec: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        setup(fs, FakeLedger(), **spec).configure()


def test_missing_file_is_a_kernel_refusal(fs: Tracefs) -> None:
    (fs.root / "max_graph_depth").unlink()
    with pytest.raises(KernelRejected, match="no max_graph_depth"):
        setup(fs, FakeLedger(), tracer="function_graph", max_graph_depth=1).configure()


def test_filter_hints_find_the_listed_alias(fs: Tracefs) -> None:
    assert filter_hints(fs.root, ["__x64_sys_getpid"]) == ["__do_sys_getpid"]
    assert filter_hints(fs.root, ["nothing_like_it"]) == []
