"""Read BTF (BPF Type Format) blobs such as the kernel's own, `/sys/kernel/btf/vmlinux`.

Mechanism: a blob is a 24-byte header (magic 0xEB9F, version, flags, hdr_len, then the
offsets and lengths of the type and string sections, relative to the end of the header),
a type section and a string section. Types are numbered from 1 (0 is `void`) in the order
they appear; each is a 12-byte `btf_type` (name_off, info = vlen | kind << 24 | kind_flag
<< 31, size-or-type) followed by kind-specific data whose length depends on the kind and
`vlen` (Linux `Documentation/bpf/btf.rst` "2. BTF Type and String Encoding"). So finding
an id means walking the type section from the start.

Requirements: none (pure parsing); `/sys/kernel/btf/vmlinux` needs CONFIG_DEBUG_INFO_BTF.
Cost: vmlinux BTF of 6.18 is 5.5 MB, 126,699 types; one lookup walks them as a `u32`
memoryview in ~0.1 s on the development VM, so `vmlinux_type_id` caches each answer.
`Btf` indexes a blob once to answer struct member offsets (`offsets`): BCC compiles against
whatever kernel headers it finds, and on our machines those are another kernel's (6.12
headers, 6.18 kernel), so the BPF catalogue's programs read `base + offset` with
bpf_probe_read_kernel(), with offsets from here passed in as `#define`s.
Caveats: only blobs in the machine's byte order are read (the kernel exports its own);
split BTF (kernel modules, `/sys/kernel/btf/<module>`) numbers its types after vmlinux's
and is not handled; a kind newer than ENUM64 (19) stops the walk with `BtfError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from ..errors import CapabilityMissing

BTF_MAGIC = 0xEB9F
VMLINUX_BTF_PATH = "/sys/kernel/btf/vmlinux"
TYPE_HEADER_WORDS = 3
"""sizeof(struct btf_type) in u32 words"""

_HEADER = struct.Struct("=HBBIIIII")
_SWAPPED_MAGIC = 0x9FEB


class BtfError(ValueError):
    """The blob is not BTF this module can read."""


class BtfKind(IntEnum):
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


# Bytes after the 12-byte btf_type: a fixed part plus `vlen` records of a kind's size.
_FIXED_BYTES = {BtfKind.INT: 4, BtfKind.ARRAY: 12, BtfKind.VAR: 4, BtfKind.DECL_TAG: 4}
_PER_VLEN_BYTES = {
    BtfKind.STRUCT: 12,
    BtfKind.UNION: 12,
    BtfKind.ENUM: 8,
    BtfKind.FUNC_PROTO: 8,
    BtfKind.DATASEC: 12,
    BtfKind.ENUM64: 12,
}
_MAX_KIND = max(BtfKind)
# Extra u32 words per kind as (fixed, per vlen) tuples indexed by kind number, for the walk.
_EXTRA_WORDS: tuple[tuple[int, int], ...] = tuple(
    (_FIXED_BYTES.get(BtfKind(k), 0) // 4, _PER_VLEN_BYTES.get(BtfKind(k), 0) // 4) if k else (0, 0)
    for k in range(_MAX_KIND + 1)
)


@dataclass(frozen=True, slots=True)
class BtfHeader:
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int

    @property
    def types_start(self) -> int:
        return self.hdr_len + self.type_off

    @property
    def strings_start(self) -> int:
        return self.hdr_len + self.str_off


@dataclass(frozen=True, slots=True)
class BtfType:
    """One type's common part; kind-specific records (members, params...) are skipped."""

    type_id: int
    kind: BtfKind
    name: str
    vlen: int
    kind_flag: bool
    size_or_type: int


def parse_header(blob: bytes) -> BtfHeader:
    """The header, checked against the blob's length."""
    if len(blob) < _HEADER.size:
        raise BtfError(f"BTF blob too short ({len(blob)} bytes)")
    magic, version, flags, hdr_len, *offsets = _HEADER.unpack_from(blob)
    if magic != BTF_MAGIC:
        swapped = magic == _SWAPPED_MAGIC
        raise BtfError(
            "BTF in the other byte order is not supported"
            if swapped
            else f"not a BTF blob: bad BTF magic {magic:#06x}"
        )
    header = BtfHeader(version, flags, hdr_len, *offsets)
    for start, length in (
        (header.types_start, header.type_len),
        (header.strings_start, header.str_len),
    ):
        if start + length > len(blob) or start % 4:
            raise BtfError(f"BTF section {start}+{length} outside a {len(blob)}-byte blob")
    if header.type_len % 4:
        raise BtfError(f"BTF type section length {header.type_len} not a multiple of 4")
    return header


def _type_words(blob: bytes, header: BtfHeader) -> memoryview:
    section = memoryview(blob)[header.types_start : header.types_start + header.type_len]
    return section.cast("I")


def _walk(words: memoryview) -> Iterator[tuple[int, int]]:
    """(type id, word index of its btf_type) for every type, in order."""
    index, end, type_id = 0, len(words), 1
    while index < end:
        if index + TYPE_HEADER_WORDS > end:
            raise BtfError(f"BTF type {type_id} truncated")
        info = words[index + 1]
        kind = (info >> 24) & 0x1F
        if not 0 < kind <= _MAX_KIND:
            raise BtfError(f"unknown BTF kind {kind} at type {type_id}")
        yield type_id, index
        fixed, per_vlen = _EXTRA_WORDS[kind]
        index += TYPE_HEADER_WORDS + fixed + per_vlen * (info & 0xFFFF)
        type_id += 1
    if index != end:
        raise BtfError("BTF type section ends inside a type")


def string_at(blob: bytes, header: BtfHeader, offset: int) -> str:
    """The NUL-terminated string at `offset` of the string section."""
    if not 0 <= offset < header.str_len:
        raise BtfError(f"BTF string offset {offset} outside the string section")
    start = header.strings_start + offset
    end = blob.find(b"\0", start, header.strings_start + header.str_len)
    if end < 0:
        raise BtfError(f"BTF string at {offset} is not terminated")
    return blob[start:end].decode("utf-8", "replace")


def iter_types(blob: bytes) -> Iterator[BtfType]:
    """Every type of the blob with its id and name, in id order."""
    header = parse_header(blob)
    words = _type_words(blob, header)
    for type_id, index in _walk(words):
        name_off, info, size_or_type = words[index : index + TYPE_HEADER_WORDS]
        yield BtfType(
            type_id,
            BtfKind((info >> 24) & 0x1F),
            string_at(blob, header, name_off) if name_off else "",
            info & 0xFFFF,
            bool(info >> 31),
            size_or_type,
        )


def _name_offsets(blob: bytes, header: BtfHeader, name: str) -> set[int]:
    """Every string-section offset whose string is `name` (a suffix of a longer one too)."""
    needle = name.encode() + b"\0"
    start, end = header.strings_start, header.strings_start + header.str_len
    found: set[int] = set()
    pos = blob.find(needle, start, end)
    while pos >= 0:
        found.add(pos - start)
        pos = blob.find(needle, pos + 1, end)
    return found


def find_type_id(blob: bytes, name: str, kind: BtfKind) -> int | None:
    """The id of the first type of `kind` named `name`, or None."""
    if not name:
        raise ValueError("a type name is required")
    header = parse_header(blob)
    offsets = _name_offsets(blob, header, name)
    if not offsets:
        return None
    words = _type_words(blob, header)
    for type_id, index in _walk(words):
        if words[index] in offsets and (words[index + 1] >> 24) & 0x1F == kind:
            return type_id
    return None


def vmlinux_type_id(
    name: str, kind: BtfKind = BtfKind.FUNC, path: str = VMLINUX_BTF_PATH
) -> int | None:
    """The running kernel's BTF id of `name` (a function by default), cached per name.

    Raises OSError when `path` cannot be read (no CONFIG_DEBUG_INFO_BTF), BtfError when it
    cannot be parsed."""
    stat = os.stat(path)
    return _cached_type_id(path, stat.st_size, stat.st_mtime_ns, name, kind)


@lru_cache(maxsize=64)
def _cached_type_id(path: str, size: int, mtime_ns: int, name: str, kind: BtfKind) -> int | None:
    with open(path, "rb") as f:
        blob = f.read()
    return find_type_id(blob, name, kind)


KIND_INT, KIND_PTR, KIND_ARRAY = BtfKind.INT, BtfKind.PTR, BtfKind.ARRAY
KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64 = (
    BtfKind.STRUCT,
    BtfKind.UNION,
    BtfKind.ENUM,
    BtfKind.ENUM64,
)
KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST = BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST
KIND_RESTRICT, KIND_TYPE_TAG = BtfKind.RESTRICT, BtfKind.TYPE_TAG
_MODIFIERS = (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG)


@dataclass(frozen=True, slots=True)
class Member:
    offset: int
    """bytes from the start of the outer struct"""
    size: int
    """bytes (0 when unknown)"""


class Btf:
    """A parsed BTF blob: type records indexed by id, names resolved lazily."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._header = parse_header(data)
        self._words = _type_words(data, self._header)
        self._index = [0, *(index for _type_id, index in _walk(self._words))]
        self._by_name: dict[tuple[str, int], int] | None = None

    def _name(self, off: int) -> str:
        return string_at(self._data, self._header, off)

    def _type(self, type_id: int) -> tuple[int, int, int, int, int]:
        """(kind, vlen, kind_flag, size_or_type, word index of the record)"""
        index = self._index[type_id]
        _name, info, size = self._words[index : index + TYPE_HEADER_WORDS]
        return (info >> 24) & 0x1F, info & 0xFFFF, info >> 31, int(size), index

    def _words_after(self, index: int, skip: int) -> tuple[int, int, int]:
        """The three u32 words `skip` words after a record's btf_type."""
        start = index + TYPE_HEADER_WORDS + skip
        first, second, third = self._words[start : start + 3]
        return int(first), int(second), int(third)

    def find(self, name: str, kind: int) -> int | None:
        if self._by_name is None:
            index: dict[tuple[str, int], int] = {}
            for type_id in range(1, len(self._index)):
                name_off, info = self._words[self._index[type_id] : self._index[type_id] + 2]
                if name_off and (info >> 24) & 0x1F in (KIND_STRUCT, KIND_UNION, KIND_TYPEDEF):
                    index.setdefault((self._name(name_off), (info >> 24) & 0x1F), type_id)
            self._by_name = index
        return self._by_name.get((name, kind))

    def size_of(self, type_id: int) -> int:
        for _ in range(32):
            kind, _vlen, _kf, size, index = self._type(type_id)
            if kind in _MODIFIERS:
                type_id = size
                continue
            if kind == KIND_PTR:
                return 8
            if kind == KIND_ARRAY:
                elem, _index, nelems = self._words_after(index, 0)
                return self.size_of(elem) * nelems
            sized = (KIND_INT, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64)
            return size if kind in sized else 0
        return 0

    def member(self, struct_name: str, member: str) -> Member | None:
        """Offset and size of `member` in `struct struct_name`, looking through anonymous
        structs and unions as C does."""
        type_id = self.find(struct_name, KIND_STRUCT)
        return None if type_id is None else self._member_in(type_id, member, 0)

    def _member_in(self, type_id: int, member: str, base: int) -> Member | None:
        kind, vlen, kind_flag, _size, index = self._type(type_id)
        if kind not in (KIND_STRUCT, KIND_UNION):
            return None
        for i in range(vlen):
            name_off, mtype, moff = self._words_after(index, 3 * i)
            bits = moff & 0xFFFFFF if kind_flag else moff
            if name_off and self._name(name_off) == member:
                return Member(base + bits // 8, self.size_of(mtype))
            if not name_off:
                found = self._member_in(self._strip(mtype), member, base + bits // 8)
                if found is not None:
                    return found
        return None

    def _strip(self, type_id: int) -> int:
        for _ in range(32):
            kind, _vlen, _kf, size, _index = self._type(type_id)
            if kind not in _MODIFIERS:
                return type_id
            type_id = size
        return type_id


@lru_cache(maxsize=1)
def kernel_btf() -> Btf:
    try:
        with open(VMLINUX_BTF_PATH, "rb") as f:
            return Btf(f.read())
    except OSError as e:
        raise CapabilityMissing("bpf.btf", f"{VMLINUX_BTF_PATH}: {e.strerror}") from e


def offsets(wanted: tuple[str, ...], btf: Btf | None = None) -> dict[str, Member]:
    """Resolve `struct.member` names (alternatives joined by `|`, first found wins, e.g.
    `task_struct.__state|task_struct.state`) to members; the key is the first alternative."""
    btf = btf or kernel_btf()
    out: dict[str, Member] = {}
    for spec in wanted:
        for alt in spec.split("|"):
            struct_name, _, member = alt.partition(".")
            found = btf.member(struct_name, member)
            if found is not None:
                out[spec.split("|")[0]] = found
                break
        else:
            raise CapabilityMissing("bpf.btf", f"{spec} not found in the kernel's BTF")
    return out


def offset_macro(name: str) -> str:
    """`task_struct.real_parent` -> `TRACERD_OFF_task_struct__real_parent`."""
    struct_name, _, member = name.partition(".")
    return f"TRACERD_OFF_{struct_name}__{member.lstrip('_')}"
