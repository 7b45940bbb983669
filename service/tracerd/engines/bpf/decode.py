"""Pure decoding for BPF sessions: C layouts, ring-buffer records -> WireEvents, map contents.

Mechanism: a record's fields (plan.FieldSpec) are laid out with C's natural alignment, once
for the C side (`c_struct`, so the program and the decoder can never disagree) and once as
a `struct` format. Ring-buffer records are fixed-size, so a run of committed records is
decoded with one `Struct.iter_unpack` over the (double-mapped, hence contiguous) data area,
8-byte record header included: the generated loop stops at the first header that is not a
committed record of the expected length (busy, discarded, or another size) and lets the
reader handle it. The per-record loop is generated Python source (as `collections.namedtuple`
does) because a dict literal costs a third of `dict(zip(...))`: ~1 µs per event here.
Caveats: identifiers in generated source are checked against IDENT; field values reach it
only as tuple items. Strings are decoded through bounded caches (comm, file names repeat).
"""

from __future__ import annotations

import errno as errno_mod
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...types import WireEvent
from .plan import HEADER_FIELDS, FieldSpec, MapSpec

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# (struct code, size, C type) of each scalar type; str/bytes are char/u8 arrays.
SCALARS: dict[str, tuple[str, int, str]] = {
    "u8": ("B", 1, "u8"),
    "u16": ("H", 2, "u16"),
    "u32": ("I", 4, "u32"),
    "u64": ("Q", 8, "u64"),
    "s8": ("b", 1, "s8"),
    "s16": ("h", 2, "s16"),
    "s32": ("i", 4, "s32"),
    "s64": ("q", 8, "s64"),
}
STR_CACHE_MAX = 4096
RINGBUF_HDR_BYTES = 8
BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
LOG2_SLOTS = 64

Decoder = Callable[[memoryview, list[WireEvent]], int]


def _check(spec: FieldSpec) -> None:
    if not IDENT.match(spec.name):
        raise ValueError(f"bad field name {spec.name!r}")
    if spec.type not in SCALARS and spec.type not in ("str", "bytes"):
        raise ValueError(f"field {spec.name}: unknown type {spec.type!r}")
    if spec.type in ("str", "bytes") and spec.size < 1:
        raise ValueError(f"field {spec.name}: {spec.type} needs a size")


def _unit(spec: FieldSpec) -> tuple[str, int, int]:
    """(struct code, size, alignment) of one element."""
    if spec.type in SCALARS:
        code, size, _ = SCALARS[spec.type]
        return code, size, size
    return f"{spec.size}s", spec.size, 1


class Layout:
    """C natural-alignment layout of a field list (what clang does for x86-64 and arm64)."""

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        self.fields = tuple(fields)
        parts: list[str] = []
        offset = 0
        align_max = 1
        self.offsets: dict[str, int] = {}
        for spec in self.fields:
            _check(spec)
            code, size, align = _unit(spec)
            pad = -offset % align
            if pad:
                parts.append(f"{pad}x")
            offset += pad
            self.offsets[spec.name] = offset
            parts.extend([code] * spec.count)
            offset += size * spec.count
            align_max = max(align_max, align)
        tail = -offset % align_max
        self.end = offset
        """bytes up to the end of the last field (no tail padding)"""
        self.size = offset + tail
        self.items_format = "".join(parts)
        self.format = "=" + self.items_format + (f"{tail}x" if tail else "")
        self.struct = struct.Struct(self.format)
        if self.struct.size != self.size:
            raise AssertionError(f"layout mismatch {self.struct.size} != {self.size}")

    def decode(self, raw: bytes | memoryview) -> dict[str, Any]:
        """One record as a dict (strings decoded, bytes as hex, arrays as lists)."""
        values = iter(self.struct.unpack_from(raw, 0))
        out: dict[str, Any] = {}
        for spec in self.fields:
            items = [_plain(spec, next(values)) for _ in range(spec.count)]
            out[spec.name] = items if spec.count > 1 else items[0]
        return out


def _plain(spec: FieldSpec, value: Any) -> Any:
    if spec.type == "str":
        return cstr(value)
    if spec.type == "bytes":
        return bytes(value).hex()
    return value


def c_struct(name: str, fields: Sequence[FieldSpec]) -> str:
    """The C definition matching `Layout(fields)` (natural alignment, same order)."""
    lines = [f"struct {name} {{"]
    for spec in fields:
        _check(spec)
        dims = f"[{spec.count}]" if spec.count > 1 else ""
        if spec.type in SCALARS:
            lines.append(f"    {SCALARS[spec.type][2]} {spec.name}{dims};")
        else:
            ctype = "char" if spec.type == "str" else "u8"
            lines.append(f"    {ctype} {spec.name}{dims}[{spec.size}];")
    lines.append("};")
    return "\n".join(lines)


def cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def cstr_cached(raw: bytes, cache: dict[bytes, str]) -> str:
    if len(cache) >= STR_CACHE_MAX:
        cache.clear()
    text = cache[raw] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return text


def record_stride(size: int) -> int:
    """Bytes one committed ring-buffer record of `size` occupies (8-byte header, 8-aligned)."""
    return RINGBUF_HDR_BYTES + ((size + 7) & ~7)


def compile_decoder(
    name: str,
    fields: Sequence[FieldSpec],
    header: bool,
    promote: dict[str, str] | None = None,
    now_ns: Callable[[], int] | None = None,
) -> tuple[Decoder, Layout]:
    """A function decoding a run of ring-buffer records (header included) into WireEvents.

    It returns the bytes consumed; it stops at the first record that is not a committed
    record of this layout's size. With `header`, the record starts with HEADER_FIELDS
    (ts_ns, pid, tid, cpu, comm: the event's columns); without, fields named like those
    columns are promoted and ts_ns defaults to `now_ns()` at decoding time.
    """
    promote = promote or {}
    all_fields = (*HEADER_FIELDS, *fields) if header else tuple(fields)
    layout = Layout(all_fields)
    stride = record_stride(layout.size)
    fmt = "=I4x" + layout.items_format + f"{stride - RINGBUF_HDR_BYTES - layout.end}x"
    source, ns = _decoder_source(name, layout, header, promote, layout.size)
    ns.update(
        {
            "_iter": struct.Struct(fmt).iter_unpack,
            "_now": now_ns or (lambda: 0),
            "_new": tuple.__new__,
            "_WE": WireEvent,
            "_cstr": cstr_cached,
            "_errc": errno_mod.errorcode.get,
            "_STRIDE": stride,
        }
    )
    if struct.calcsize(fmt) != stride:
        raise AssertionError("record format does not match its stride")
    exec(compile(source, f"<decoder {name}>", "exec"), ns)
    return ns["decode"], layout


def _decoder_source(
    name: str, layout: Layout, header: bool, promote: dict[str, str], size: int
) -> tuple[str, dict[str, Any]]:
    targets: list[str] = ["hlen"]
    body: list[str] = []
    exprs: dict[str, str] = {}
    ns: dict[str, Any] = {}
    for i, spec in enumerate(layout.fields):
        names = [f"v{i}_{k}" for k in range(spec.count)]
        targets.extend(names)
        decoded = []
        for var in names:
            if spec.type == "str":
                ns[f"_c{i}"] = {}
                body.append(f"        s_{var} = _c{i}.get({var})")
                body.append(f"        if s_{var} is None: s_{var} = _cstr({var}, _c{i})")
                decoded.append(f"s_{var}")
            elif spec.type == "bytes":
                decoded.append(f"{var}.hex()")
            else:
                decoded.append(var)
        exprs[spec.name] = decoded[0] if spec.count == 1 else "[" + ", ".join(decoded) + "]"
    cols = {c: exprs.get(c, "None") for c in ("ts_ns", "cpu", "pid", "tid", "comm")}
    if cols["ts_ns"] == "None":
        cols["ts_ns"] = "_now()"
    skip = {"ts_ns", "pid", "tid", "cpu", "comm"} if header else set()
    fields_src = ", ".join(f"{n!r}: {e}" for n, e in exprs.items() if n not in skip)
    ret = exprs.get(promote.get("ret", "ret"), "None")
    dur = exprs.get(promote.get("dur_ns", "dur_ns"), "None")
    err = "None"
    if promote.get("errno") in exprs:
        v = exprs[promote["errno"]]
        err = f"(_errc(-{v}) if {v} < 0 else None)"
    src = [
        "def decode(view, out):",
        "    start = len(out)",
        "    append = out.append",
        "    for (" + ", ".join(targets) + ",) in _iter(view):",
        f"        if hlen != {size}: break",
        *body,
        f"        append(_new(_WE, ({cols['ts_ns']}, {cols['cpu']}, {cols['pid']},"
        f" {cols['tid']}, {cols['comm']}, {name!r}, {{{fields_src}}}, {dur}, {ret}, {err})))",
        "    return (len(out) - start) * _STRIDE",
    ]
    return "\n".join(src) + "\n", ns


def log2_buckets(slots: Sequence[int]) -> list[dict[str, int]]:
    """`bpf_log2l` slots as buckets: slot 0 holds 0, slot i holds [2^(i-1), 2^i - 1]."""
    last = max((i for i, c in enumerate(slots) if c), default=-1)
    out = []
    for i in range(last + 1):
        low = 0 if i == 0 else 1 << (i - 1)
        high = 0 if i == 0 else (1 << i) - 1
        out.append({"low": low, "high": high, "count": int(slots[i])})
    return out


def sum_percpu(raw: bytes, layout: Layout, ncpus: int) -> dict[str, Any]:
    """Per-CPU values (each rounded up to 8 bytes by the kernel) summed field by field."""
    step = (layout.size + 7) & ~7
    total: dict[str, Any] = {}
    for cpu in range(min(ncpus, len(raw) // step)):
        one = layout.decode(raw[cpu * step : cpu * step + layout.size])
        for key, value in one.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif not total.get(key):  # strings: the first CPU that set one
                total[key] = value
    return total


def decode_map(
    spec: MapSpec, items: Iterable[tuple[bytes, bytes]], ncpus: int = 1
) -> dict[str, Any]:
    """Raw (key, value) pairs of one map -> its JSON-able contents (see the engine docstring)."""
    value_layout = Layout(spec.value)
    if spec.kind == "hist":
        return _decode_hist(spec, items, value_layout, ncpus)
    key_layout = Layout(spec.key) if spec.key else Layout((FieldSpec("index", "u32"),))
    entries = []
    for raw_key, raw_value in items:
        value = (
            sum_percpu(raw_value, value_layout, ncpus)
            if spec.percpu
            else value_layout.decode(raw_value)
        )
        if spec.kind == "counter" and not any(value.values()):
            continue
        key = key_layout.decode(raw_key)
        entries.append({"key": key if spec.key else key["index"], "value": value})
    return {"type": "stacks" if spec.kind == "stacks" else "map", "entries": entries}


def _decode_hist(
    spec: MapSpec, items: Iterable[tuple[bytes, bytes]], value_layout: Layout, ncpus: int
) -> dict[str, Any]:
    key_fields = (*spec.key, FieldSpec("slot", "u64")) if spec.key else (FieldSpec("slot", "u32"),)
    key_layout = Layout(key_fields)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for raw_key, raw_value in items:
        key = key_layout.decode(raw_key)
        slot = int(key.pop("slot"))
        value = (
            sum_percpu(raw_value, value_layout, ncpus)
            if spec.percpu
            else value_layout.decode(raw_value)
        )
        if 0 <= slot < LOG2_SLOTS:
            group = groups.setdefault(tuple(key.items()), [0] * LOG2_SLOTS)
            group[slot] += int(value["count"])
    if not spec.key:
        return {"type": "hist", "unit": spec.unit, "buckets": log2_buckets(groups.get((), []))}
    entries = [{"key": dict(k), "buckets": log2_buckets(v)} for k, v in sorted(groups.items())]
    return {"type": "hist", "unit": spec.unit, "entries": entries}


def generic_contents(items: Sequence[tuple[Any, Any]], hist: bool) -> dict[str, Any]:
    """A custom program's map from BCC-decoded Python values; BPF_HISTOGRAM maps (int slot
    keys, or struct keys with a `slot` member) become log2 histograms."""
    if not hist:
        return {"type": "map", "entries": [{"key": k, "value": v} for k, v in items]}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for key, value in items:
        rest = {k: v for k, v in key.items() if k != "slot"} if isinstance(key, dict) else {}
        slot = key.get("slot", 0) if isinstance(key, dict) else key
        if isinstance(slot, int) and 0 <= slot < LOG2_SLOTS:
            group = groups.setdefault(tuple(rest.items()), [0] * LOG2_SLOTS)
            group[slot] += int(value)
    if set(groups) <= {()}:
        return {"type": "hist", "unit": "", "buckets": log2_buckets(groups.get((), []))}
    return {
        "type": "hist",
        "unit": "",
        "entries": [
            {"key": dict(k), "buckets": log2_buckets(v)} for k, v in sorted(groups.items())
        ],
    }
