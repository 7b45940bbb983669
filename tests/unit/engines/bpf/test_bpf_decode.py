"""py: C layouts, the generated record decoder, histograms and map contents."""

from __future__ import annotations

import struct

import pytest

from tracerd.engines.bpf.decode import (
    BUSY_BIT,
    DISCARD_BIT,
    Layout,
    c_struct,
    compile_decoder,
    decode_map,
    generic_contents,
    log2_buckets,
    record_stride,
    sum_percpu,
)
from tracerd.engines.bpf.plan import FieldSpec as F
from tracerd.engines.bpf.plan import MapSpec

HDR = struct.Struct("=I4x")


def test_layout_follows_c_alignment_and_matches_the_generated_struct() -> None:
    fields = (F("a", "u8"), F("b", "u64"), F("c", "u16"), F("s", "str", 5), F("d", "u32"))
    layout = Layout(fields)
    assert layout.offsets == {"a": 0, "b": 8, "c": 16, "s": 18, "d": 24}
    assert layout.size == 32  # tail padding to the 8-byte alignment of b
    assert c_struct("x", fields) == (
        "struct x {\n    u8 a;\n    u64 b;\n    u16 c;\n    char s[5];\n    u32 d;\n};"
    )
    grid = c_struct("g", (F("args", "str", 128, 20), F("raw", "bytes", 4)))
    assert "char args[20][128];" in grid
    assert "u8 raw[4];" in grid


def test_layout_rejects_bad_names_and_types() -> None:
    with pytest.raises(ValueError, match="bad field name"):
        Layout((F("x-y", "u8"),))
    with pytest.raises(ValueError, match="unknown type"):
        Layout((F("x", "u128"),))
    with pytest.raises(ValueError, match="needs a size"):
        Layout((F("x", "str"),))


def _records(layout: Layout, rows: list[tuple[object, ...]], length: int | None = None) -> bytes:
    stride = record_stride(layout.size)
    out = b""
    for row in rows:
        rec = HDR.pack(layout.size if length is None else length) + layout.struct.pack(*row)
        out += rec + b"\0" * (stride - len(rec))
    return out


def test_decoder_with_the_standard_header_and_promotion() -> None:
    fields = (F("ret", "s32"), F("path", "str", 16), F("args", "str", 4, 2))
    decode, layout = compile_decoder("opensnoop", fields, True, {"ret": "ret", "errno": "ret"})
    rows = [
        (10, 7, 8, 1, b"cat", 3, b"/etc/x", b"ab", b"c"),
        (20, 7, 9, 0, b"cat", -2, b"/missing\0junk", b"", b""),
    ]
    data = _records(layout, rows)
    out: list = []
    assert decode(memoryview(data), out) == len(data)
    first, second = out
    assert (first.ts_ns, first.pid, first.tid, first.cpu, first.comm) == (10, 7, 8, 1, "cat")
    assert first.name == "opensnoop"
    assert first.fields == {"ret": 3, "path": "/etc/x", "args": ["ab", "c"]}
    assert (first.ret, first.errno) == (3, None)
    assert (second.ret, second.errno, second.fields["path"]) == (-2, "ENOENT", "/missing")


def test_decoder_stops_at_busy_discarded_or_foreign_records() -> None:
    decode, layout = compile_decoder("t", (F("v", "u32"),), False)
    good = _records(layout, [(1,)])
    for length in (layout.size | BUSY_BIT, layout.size | DISCARD_BIT, 8):
        out: list = []
        assert decode(memoryview(good + _records(layout, [(2,)], length) + good), out) == len(good)
        assert [e.fields["v"] for e in out] == [1]


def test_decoder_without_header_promotes_named_fields() -> None:
    fields = (
        F("ts_ns", "u64"),
        F("pid", "u32"),
        F("comm", "str", 16),
        F("dur_ns", "u64"),
        F("blob", "bytes", 2),
    )
    decode, layout = compile_decoder("out", fields, False, {"dur_ns": "dur_ns"}, now_ns=lambda: 99)
    out: list = []
    decode(memoryview(_records(layout, [(5, 42, b"x", 1000, b"\x01\xff")])), out)
    (ev,) = out
    assert (ev.ts_ns, ev.pid, ev.tid, ev.comm, ev.dur_ns) == (5, 42, None, "x", 1000)
    assert ev.fields["blob"] == "01ff"
    decode2, layout2 = compile_decoder("out", (F("v", "u8"),), False, now_ns=lambda: 99)
    out = []
    decode2(memoryview(_records(layout2, [(1,)])), out)
    assert out[0].ts_ns == 99


def test_log2_buckets_are_bpf_log2l_slots() -> None:
    assert log2_buckets([1, 2, 0, 4]) == [
        {"low": 0, "high": 0, "count": 1},
        {"low": 1, "high": 1, "count": 2},
        {"low": 2, "high": 3, "count": 0},
        {"low": 4, "high": 7, "count": 4},
    ]
    assert log2_buckets([0, 0]) == []


def test_decode_hist_maps() -> None:
    spec = MapSpec("dist", "hist", unit="usecs")
    items = [(struct.pack("=I", i), struct.pack("=Q", c)) for i, c in ((0, 0), (1, 5), (3, 2))]
    assert decode_map(spec, items) == {
        "type": "hist",
        "unit": "usecs",
        "buckets": [
            {"low": 0, "high": 0, "count": 0},
            {"low": 1, "high": 1, "count": 5},
            {"low": 2, "high": 3, "count": 0},
            {"low": 4, "high": 7, "count": 2},
        ],
    }
    keyed = MapSpec("dist", "hist", key=(F("pid", "u32"),), unit="msecs")
    key = Layout((F("pid", "u32"), F("slot", "u64")))
    items = [
        (key.struct.pack(7, 2), struct.pack("=Q", 3)),
        (key.struct.pack(5, 1), struct.pack("=Q", 1)),
    ]
    out = decode_map(keyed, items)
    assert [e["key"] for e in out["entries"]] == [{"pid": 5}, {"pid": 7}]
    assert out["entries"][1]["buckets"][-1] == {"low": 2, "high": 3, "count": 3}


def test_decode_percpu_counters_sum_and_skip_zeroes() -> None:
    spec = MapSpec(
        "counts", "counter", value=(F("count", "u64"), F("total_ns", "u64")), percpu=True
    )
    two_cpus = struct.pack("=QQQQ", 1, 10, 2, 20)
    zero = bytes(32)
    out = decode_map(
        spec, [(struct.pack("=I", 39), two_cpus), (struct.pack("=I", 40), zero)], ncpus=2
    )
    assert out == {"type": "map", "entries": [{"key": 39, "value": {"count": 3, "total_ns": 30}}]}


def test_percpu_strings_come_from_a_cpu_that_set_them() -> None:
    layout = Layout((F("count", "u64"), F("comm", "str", 16)))
    raw = layout.struct.pack(0, b"") + layout.struct.pack(4, b"flood")
    assert sum_percpu(raw, layout, 2) == {"count": 4, "comm": "flood"}


def test_generic_contents_for_custom_maps() -> None:
    assert generic_contents([(1, 2)], hist=False) == {
        "type": "map",
        "entries": [{"key": 1, "value": 2}],
    }
    hist = generic_contents([(7, 3), (6, 0)], hist=True)
    assert hist["buckets"][-1] == {"low": 64, "high": 127, "count": 3}
    keyed = generic_contents([({"dev": 1, "slot": 1}, 2)], hist=True)
    assert keyed["entries"] == [
        {
            "key": {"dev": 1},
            "buckets": [{"low": 0, "high": 0, "count": 0}, {"low": 1, "high": 1, "count": 2}],
        }
    ]
