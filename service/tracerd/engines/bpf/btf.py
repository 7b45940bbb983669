"""Kernel struct member offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).

Why: BCC compiles against whatever kernel headers it finds, and on our machines those are
another kernel's (6.12 headers, 6.18 kernel): `task->tgid` compiles and reads garbage. The
catalogue's programs therefore never dereference kernel structs through headers; they read
`base + offset` with bpf_probe_read_kernel(), with offsets from this module, passed in as
`#define`s. The BTF format (include/uapi/linux/btf.h) is stable: a header, a type section
of variable-size records (12-byte `btf_type` + kind-specific data) and a string section.
Parsing the 5 MiB vmlinux BTF takes ~0.1 s here; results are cached per process.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from ...errors import CapabilityMissing

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F
KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM = 1, 2, 3, 4, 5, 6
KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT = 8, 9, 10, 11
KIND_TYPE_TAG, KIND_ENUM64 = 18, 19
# Bytes after the 12-byte btf_type: fixed per kind, plus vlen * per-item size.
_EXTRA = {1: 4, 3: 12, 14: 4, 17: 4}
_PER_ITEM = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}
_MODIFIERS = (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG)
_TYPE = struct.Struct("<III")


@dataclass(frozen=True, slots=True)
class Member:
    offset: int
    """bytes from the start of the outer struct"""
    size: int
    """bytes (0 when unknown)"""


class Btf:
    """A parsed BTF blob: type records indexed by id, names resolved lazily."""

    def __init__(self, data: bytes) -> None:
        magic, _ver, _flags, hdr_len, type_off, type_len, str_off, _str_len = struct.unpack_from(
            "<HBBIIIII", data, 0
        )
        if magic != BTF_MAGIC:
            raise ValueError("not a BTF blob")
        self._data = data
        self._strings = hdr_len + str_off
        self._offsets = [0]
        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            self._offsets.append(pos)
            _name, info, _size = _TYPE.unpack_from(data, pos)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            pos += 12 + _EXTRA.get(kind, 0) + _PER_ITEM.get(kind, 0) * vlen
        self._by_name: dict[tuple[str, int], int] | None = None

    def _name(self, off: int) -> str:
        end = self._data.index(b"\0", self._strings + off)
        return self._data[self._strings + off : end].decode()

    def _type(self, type_id: int) -> tuple[int, int, int, int, int]:
        """(kind, vlen, kind_flag, size_or_type, record offset)"""
        pos = self._offsets[type_id]
        _name, info, size = _TYPE.unpack_from(self._data, pos)
        return (info >> 24) & 0x1F, info & 0xFFFF, info >> 31, int(size), pos

    def find(self, name: str, kind: int) -> int | None:
        if self._by_name is None:
            index: dict[tuple[str, int], int] = {}
            for type_id in range(1, len(self._offsets)):
                name_off, info, _ = _TYPE.unpack_from(self._data, self._offsets[type_id])
                if name_off and (info >> 24) & 0x1F in (KIND_STRUCT, KIND_UNION, KIND_TYPEDEF):
                    index.setdefault((self._name(name_off), (info >> 24) & 0x1F), type_id)
            self._by_name = index
        return self._by_name.get((name, kind))

    def size_of(self, type_id: int) -> int:
        for _ in range(32):
            kind, _vlen, _kf, size, pos = self._type(type_id)
            if kind in _MODIFIERS:
                type_id = size
                continue
            if kind == KIND_PTR:
                return 8
            if kind == KIND_ARRAY:
                elem, _index, nelems = struct.unpack_from("<III", self._data, pos + 12)
                return self.size_of(int(elem)) * int(nelems)
            sized = (KIND_INT, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64)
            return size if kind in sized else 0
        return 0

    def member(self, struct_name: str, member: str) -> Member | None:
        """Offset and size of `member` in `struct struct_name`, looking through anonymous
        structs and unions as C does."""
        type_id = self.find(struct_name, KIND_STRUCT)
        return None if type_id is None else self._member_in(type_id, member, 0)

    def _member_in(self, type_id: int, member: str, base: int) -> Member | None:
        kind, vlen, kind_flag, _size, pos = self._type(type_id)
        if kind not in (KIND_STRUCT, KIND_UNION):
            return None
        for i in range(vlen):
            name_off, mtype, moff = struct.unpack_from("<III", self._data, pos + 12 + 12 * i)
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
            kind, _vlen, _kf, size, _pos = self._type(type_id)
            if kind not in _MODIFIERS:
                return type_id
            type_id = size
        return type_id


@lru_cache(maxsize=1)
def kernel_btf() -> Btf:
    try:
        with open(VMLINUX_BTF, "rb") as f:
            return Btf(f.read())
    except OSError as e:
        raise CapabilityMissing("bpf.btf", f"{VMLINUX_BTF}: {e.strerror}") from e


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
