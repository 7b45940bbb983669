"""btf.py on a hand-built BTF blob; kernel.py's pure helpers (clang diagnostics, perf
event names, fdinfo, BCC's tracefs leftovers on a fake tracefs directory)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from tracerd.engines.bpf import kernel
from tracerd.errors import CapabilityMissing
from tracerd.kernel import btf


def _blob() -> bytes:
    strings = b"\0int\0long\0task\0pid\0next\0a\0b\0u64_t\0flags\0bit\0"

    def off(name: str) -> int:
        return strings.index(name.encode() + b"\0")

    def t(name: int, kind: int, vlen: int, size: int, kflag: int = 0) -> bytes:
        return struct.pack("<III", name, (kflag << 31) | (kind << 24) | vlen, size)

    def m(name: int, type_id: int, offset: int) -> bytes:
        return struct.pack("<III", name, type_id, offset)

    types = b"".join(
        [
            t(off("int"), btf.KIND_INT, 0, 4) + struct.pack("<I", 32),  # 1
            t(off("long"), btf.KIND_INT, 0, 8) + struct.pack("<I", 64),  # 2
            t(0, btf.KIND_PTR, 0, 4),  # 3 -> task
            t(off("task"), btf.KIND_STRUCT, 3, 32)
            + m(off("pid"), 1, 0)
            + m(0, 6, 64)
            + m(off("next"), 3, 192),  # 4
            t(0, btf.KIND_CONST, 0, 6),  # 5 const union
            t(0, btf.KIND_UNION, 2, 8) + m(off("a"), 1, 0) + m(off("b"), 7, 0),  # 6
            t(off("u64_t"), btf.KIND_TYPEDEF, 0, 2),  # 7
            t(off("flags"), btf.KIND_STRUCT, 1, 4, kflag=1) + m(off("bit"), 1, (3 << 24) | 13),
        ]
    )
    header = struct.pack(
        "<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strings)
    )
    return header + types + strings


def test_members_through_anonymous_unions_typedefs_and_bitfields() -> None:
    parsed = btf.Btf(_blob())
    assert parsed.member("task", "pid") == btf.Member(0, 4)
    assert parsed.member("task", "b") == btf.Member(8, 8)
    assert parsed.member("task", "next") == btf.Member(24, 8)
    assert parsed.member("flags", "bit") == btf.Member(1, 4)
    assert parsed.member("task", "nope") is None
    assert parsed.member("nope", "pid") is None


def test_offsets_with_alternatives_and_macro_names() -> None:
    parsed = btf.Btf(_blob())
    got = btf.offsets(("task.__state|task.pid", "task.next"), parsed)
    assert got == {"task.__state": btf.Member(0, 4), "task.next": btf.Member(24, 8)}
    with pytest.raises(CapabilityMissing, match=r"task\.missing"):
        btf.offsets(("task.missing",), parsed)
    assert btf.offset_macro("task_struct.__state") == "TRACERD_OFF_task_struct__state"
    with pytest.raises(ValueError, match="not a BTF"):
        btf.Btf(b"\0" * 32)


CLANG = """In file included from <built-in>:4:
arch/x86/include/asm/ibt.h:77:8: warning: 'nocf_check' attribute ignored [-Wignored-attributes]
extern __noendbr u64 ibt_save(bool disable);
       ^
arch/x86/include/asm/ibt.h:32:34: note: expanded from macro '__noendbr'
program.c:3:12: error: use of undeclared identifier 'x'
    return x + 1;
           ^
program.c:1:5: note: previous definition is here
2 warnings and 1 error generated.
"""


def test_clang_errors_keep_errors_and_their_notes_only() -> None:
    assert kernel.clang_errors(CLANG) == (
        "program.c:3:12: error: use of undeclared identifier 'x'\n    return x + 1;\n"
        "           ^\nprogram.c:1:5: note: previous definition is here\n1 error generated."
    )


def test_perf_event_targets() -> None:
    assert kernel.perf_event_spec("cpu-clock") == (1, 0, {"sample_freq": 49})
    assert kernel.perf_event_spec("cpu-clock:freq=99") == (1, 0, {"sample_freq": 99})
    assert kernel.perf_event_spec("instructions:period=1000") == (0, 1, {"sample_period": 1000})
    for bad in ("nope", "cpu-clock:freq=0", "cpu-clock:rate=5"):
        with pytest.raises(ValueError, match="perf event"):
            kernel.perf_event_spec(bad)


def test_fdinfo_of_a_plain_fd(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert "flags" in kernel.fdinfo(fd)
    finally:
        os.close(fd)
    assert kernel.fdinfo(999_999) == {}


def test_tracefs_leftovers_are_removed_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "uprobe_events").write_text(
        "p:uprobes/p__bin_bash_0x1_bcc_42 /bin/bash:0x1\np:uprobes/other /bin/sh:0x2\n"
    )
    assert kernel.remove_tracefs_probes("_bcc_42", str(tmp_path)) == [
        "uprobes/p__bin_bash_0x1_bcc_42"
    ]
    assert (tmp_path / "uprobe_events").read_text().endswith("-:uprobes/p__bin_bash_0x1_bcc_42\n")
