from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracerd.engines.ptrace.syscalls import SyscallTable, build_table

DATA = Path(__file__).resolve().parents[3] / "data" / "ptrace"


@pytest.fixture(scope="session")
def table() -> SyscallTable:
    """The syscall table built from the prototypes captured on a 6.18 kernel."""
    raw = json.loads((DATA / "syscall_prototypes_6.18.json").read_text())
    return build_table({name: tuple(tuple(a) for a in args) for name, args in raw.items()})
