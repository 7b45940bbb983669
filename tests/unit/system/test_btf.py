"""tracerd.kernel.btf against a real BTF blob (tests/data/btf, read independently by bpftool)
and against small blobs built here by the format spec (Documentation/bpf/btf.rst)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from tracerd.kernel import btf
from tracerd.kernel.btf import BtfError, BtfKind

DATA = Path(__file__).parents[2] / "data" / "btf"
TINY = (DATA / "tiny.btf").read_bytes()
# "[9] STRUCT 'probe_point' size=64 vlen=6" or "[10] PTR '(anon)' type_id=12"
DUMP_LINE = re.compile(
    r"^\[(?P<id>\d+)\] (?P<kind>\w+) '(?P<name>[^']*)'"
    r"(?:.*?\b(?:size|type_id|ret_type_id)=(?P<st>\d+))?(?:.*\bvlen=(?P<vlen>\d+))?"
)


def bpftool_types() -> list[tuple[int, str, str, int, int | None]]:
    """(id, kind, name, vlen, size-or-type) of every type in bpftool's dump of tiny.btf."""
    found = []
    for line in (DATA / "tiny.btf.txt").read_text().splitlines():
        m = DUMP_LINE.match(line)
        if m:
            name = "" if m["name"] == "(anon)" else m["name"]
            # an ARRAY's type_id is its element's (struct btf_array), not size_or_type
            size = int(m["st"]) if m["st"] and m["kind"] != "ARRAY" else None
            found.append((int(m["id"]), m["kind"], name, int(m["vlen"] or 0), size))
    return found


def build_blob(types: list[bytes], strings: bytes, magic: int = btf.BTF_MAGIC) -> bytes:
    section = b"".join(types)
    header = struct.pack("<HBBIIIII", magic, 1, 0, 24, 0, len(section), len(section), len(strings))
    return header + section + strings


def btf_type(name_off: int, kind: int, vlen: int = 0, size_or_type: int = 0) -> bytes:
    return struct.pack("<III", name_off, kind << 24 | vlen, size_or_type)


def test_header_of_the_fixture() -> None:
    header = btf.parse_header(TINY)
    assert (header.version, header.hdr_len, header.type_off) == (1, 24, 0)
    assert header.strings_start + header.str_len == len(TINY)


def test_types_match_bpftool() -> None:
    expected = bpftool_types()
    assert len(expected) == 20
    got = list(btf.iter_types(TINY))
    assert [(t.type_id, t.kind.name, t.name, t.vlen) for t in got] == [e[:4] for e in expected]
    for t, (*_, size_or_type) in zip(got, expected, strict=True):
        if size_or_type is not None:
            assert t.size_or_type == size_or_type, t


def test_bitfield_struct_sets_kind_flag() -> None:
    kinds = {t.name: t for t in btf.iter_types(TINY)}
    assert kinds["probe_point"].kind_flag  # 'flags' is a 3-bit field
    assert not kinds["probe_color"].kind_flag


@pytest.mark.parametrize(
    ("name", "kind", "type_id"),
    [
        ("do_nanosleep", BtfKind.FUNC, 18),
        ("probe_visit", BtfKind.FUNC, 20),
        ("probe_point", BtfKind.STRUCT, 9),
        ("int", BtfKind.INT, 6),
        ("probe_u64", BtfKind.TYPEDEF, 3),
        ("probe_point", BtfKind.FUNC, None),  # right name, wrong kind
        ("nanosleep", BtfKind.FUNC, None),  # only a suffix of a used name
        ("no_such_function", BtfKind.FUNC, None),
    ],
)
def test_find_type_id(name: str, kind: BtfKind, type_id: int | None) -> None:
    assert btf.find_type_id(TINY, name, kind) == type_id


def test_vmlinux_type_id_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vmlinux"
    path.write_bytes(TINY)
    assert btf.vmlinux_type_id("do_nanosleep", path=str(path)) == 18
    assert btf.vmlinux_type_id("do_nanosleep", path=str(path)) == 18  # cached
    assert btf.vmlinux_type_id("probe_point", BtfKind.STRUCT, str(path)) == 9
    with pytest.raises(FileNotFoundError):
        btf.vmlinux_type_id("do_nanosleep", path=str(tmp_path / "missing"))


def test_name_stored_as_a_suffix_of_another_string() -> None:
    strings = b"\0hrtimer_do_nanosleep\0"
    suffix_off = strings.index(b"do_nanosleep")
    blob = build_blob(
        [btf_type(0, BtfKind.FUNC_PROTO), btf_type(suffix_off, BtfKind.FUNC, 0, 1)], strings
    )
    assert btf.find_type_id(blob, "do_nanosleep", BtfKind.FUNC) == 2
    assert [t.name for t in btf.iter_types(blob)] == ["", "do_nanosleep"]


def test_kind_records_are_skipped_by_vlen() -> None:
    strings = b"\0s\0a\0b\0f\0"
    members = struct.pack("<III", 3, 3, 0) + struct.pack("<III", 5, 3, 32)
    blob = build_blob(
        [
            btf_type(1, BtfKind.STRUCT, 2, 8) + members,
            btf_type(0, BtfKind.INT, 0, 4) + struct.pack("<I", 32),
            btf_type(7, BtfKind.FUNC, 0, 2),
        ],
        strings,
    )
    assert [(t.type_id, t.kind, t.name) for t in btf.iter_types(blob)] == [
        (1, BtfKind.STRUCT, "s"),
        (2, BtfKind.INT, ""),
        (3, BtfKind.FUNC, "f"),
    ]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x9f\xeb", "too short"),
        (build_blob([], b"\0", magic=0x1234), "bad BTF magic 0x1234"),
        (build_blob([], b"\0", magic=0x9FEB), "other byte order"),
        (build_blob([btf_type(0, 31)], b"\0"), "unknown BTF kind 31 at type 1"),
        (build_blob([btf_type(0, BtfKind.STRUCT, 2)], b"\0"), "ends inside a type"),
        (build_blob([btf_type(9, BtfKind.INT, 0, 4) + b"\0" * 4], b"\0"), "string offset 9"),
        (build_blob([btf_type(0, BtfKind.PTR)], b"\0")[:-4], "outside a"),
    ],
)
def test_malformed_blobs_raise(blob: bytes, message: str) -> None:
    with pytest.raises(BtfError, match=re.escape(message)):
        list(btf.iter_types(blob))
