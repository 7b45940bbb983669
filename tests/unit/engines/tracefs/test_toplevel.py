"""toplevel.py: reading, comparing and putting back top-level settings (a directory tree
stands in for tracefs; list files are only compared as text here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.tracefs.toplevel import (
    TopLevel,
    holds,
    list_entries,
    normalize,
    restore_setting,
)


class FakeLedger:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.n = 0

    def record(self, type: str, name: str, data: Any = None) -> str:
        self.n += 1
        self.rows[str(self.n)] = (type, name, dict(data or {}))
        return str(self.n)

    def cross_off(self, key: str) -> None:
        del self.rows[key]


def test_placeholders_and_module_tags() -> None:
    assert list_entries("#### all functions enabled ####\n") == []
    assert list_entries("no pid\n") == []
    assert list_entries("ksys_write\nkvm_func [kvm]\n") == ["ksys_write", "kvm_func"]


def test_normalize_value_files() -> None:
    assert normalize("trace_clock", "[local] global counter uptime\n") == "local"
    assert normalize("buffer_size_kb", "7 (expanded: 1408)\n") == "1408"
    assert normalize("buffer_size_kb", "2048\n") == "2048"
    assert normalize("set_graph_function", "b\na\n") == "b a"
    assert normalize("options/function-fork", "1\n") == "1"


def test_holds() -> None:
    assert holds("current_tracer", "function_graph", "function_graph")
    assert not holds("current_tracer", "function", "function_graph")
    assert holds("set_ftrace_filter", "vfs_read vfs_write", "vfs_*")
    assert not holds("set_ftrace_filter", "vfs_read ksys_read", "vfs_*")
    assert not holds("set_ftrace_filter", "", "vfs_*")  # cleared by someone
    assert holds("set_ftrace_filter", "", "")
    assert holds("set_ftrace_pid", "", "812")  # the kernel drops exited tasks itself


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "options").mkdir()
    for file, text in {
        "current_tracer": "nop\n",
        "tracing_on": "1\n",
        "trace_clock": "[local] global mono\n",
        "options/function-fork": "0\n",
    }.items():
        (tmp_path / file).write_text(text)
    return tmp_path


def test_set_records_before_writing_and_restore_undoes_newest_first(root: Path) -> None:
    ledger = FakeLedger()
    top = TopLevel(root, ledger)
    top.set("tracing_on", "0")
    top.set("trace_clock", "mono")
    top.set("current_tracer", "function_graph")
    top.set("tracing_on", "1")  # again: one row, first previous kept, written updated
    rows = [data for _, _, data in ledger.rows.values()]
    assert {"file": "tracing_on", "previous": "1", "written": "1"} in rows
    assert len(rows) == 3
    (root / "trace_clock").write_text("mono")
    top.restore(first="current_tracer")
    assert (root / "current_tracer").read_text() == "nop"
    assert (root / "tracing_on").read_text() == "1"
    assert (root / "trace_clock").read_text() == "local"
    assert ledger.rows == {}


def test_a_file_someone_changed_is_left_alone(root: Path) -> None:
    ledger = FakeLedger()
    top = TopLevel(root, ledger)
    top.set("current_tracer", "function_graph")
    (root / "current_tracer").write_text("function")  # someone else
    top.restore()
    assert (root / "current_tracer").read_text() == "function"
    assert ledger.rows == {}


def test_recovery_restores_from_the_ledger_row(root: Path) -> None:
    ledger = FakeLedger()
    TopLevel(root, ledger).set("options/function-fork", "1")
    [(_, _, data)] = ledger.rows.values()
    assert restore_setting(root, data)
    assert (root / "options/function-fork").read_text() == "0"
    assert not restore_setting(root, {**data, "file": "missing"})
