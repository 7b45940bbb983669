"""Parser of tracefs `format` files (events/<system>/<event>/format, header_page, header_event).

Pure: text in, dataclasses out. Used by the daemon's tracepoint catalogue and by the
worker's page decoder (engines/tracefs/registry.py). Trust `size:` and `signed:` over the
declared C type (kernel-interfaces.md 2.5: sys_enter_openat declares `int dfd` with size 8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD_RE = re.compile(
    r"^\s*field:\s*(?P<decl>[^;]+);\s*offset:\s*(?P<offset>\d+);\s*size:\s*(?P<size>\d+);"
    r"(?:\s*signed:\s*(?P<signed>-?\d+);)?"
)
_ARRAY_RE = re.compile(r"^(?P<head>.*?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\[(?P<len>[^\]]*)\]\s*$")
_NAME_RE = re.compile(r"^(?P<head>.*?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")


@dataclass(frozen=True, slots=True)
class FieldFormat:
    """One field of an event record. Offsets are from the payload start."""

    name: str
    c_type: str
    """the declared type, without the name and array suffix ("char", "unsigned long", "pid_t")"""
    offset: int
    size: int
    signed: bool
    array_len: int | None = None
    """element count of a fixed array; 0 for a flexible array (`char buf[]`); None for scalars"""
    loc: str | None = None
    """"data" for `__data_loc`, "rel" for `__rel_loc` (offset from the field's end), else None"""

    @property
    def is_common(self) -> bool:
        return self.name.startswith("common_")

    @property
    def is_string(self) -> bool:
        """char arrays and __data_loc/__rel_loc char[] are rendered as strings."""
        base = self.c_type.replace("const ", "").replace("unsigned ", "").replace("signed ", "")
        base = base.replace("[]", "")  # __data_loc types keep it: "__data_loc char[] filename"
        return base.strip() == "char" and (self.array_len is not None or self.loc is not None)

    @property
    def element_size(self) -> int:
        if self.array_len:
            return self.size // self.array_len
        return self.size


@dataclass(frozen=True, slots=True)
class EventFormat:
    system: str
    name: str
    id: int
    fields: tuple[FieldFormat, ...]
    print_fmt: str

    @property
    def full_name(self) -> str:
        return f"{self.system}:{self.name}"

    @property
    def common_fields(self) -> tuple[FieldFormat, ...]:
        return tuple(f for f in self.fields if f.is_common)

    @property
    def event_fields(self) -> tuple[FieldFormat, ...]:
        return tuple(f for f in self.fields if not f.is_common)

    def field(self, name: str) -> FieldFormat | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


class FormatError(ValueError):
    pass


def parse_field_line(line: str) -> FieldFormat | None:
    """One `field:...;` line, or None if the line is not a field."""
    m = _FIELD_RE.match(line)
    if m is None:
        return None
    decl = m.group("decl").strip()
    offset, size = int(m.group("offset")), int(m.group("size"))
    signed_text = m.group("signed")
    signed = signed_text is not None and int(signed_text) != 0
    loc: str | None = None
    for prefix, kind in (("__data_loc ", "data"), ("__rel_loc ", "rel")):
        if decl.startswith(prefix):
            decl, loc = decl[len(prefix) :].strip(), kind
    array_len: int | None = None
    am = _ARRAY_RE.match(decl)
    if am is not None:
        name, c_type = am.group("name"), am.group("head").strip()
        length = am.group("len").strip()
        if loc is not None:
            array_len = None
        elif length == "":
            array_len = 0
        elif length.isdigit():
            array_len = int(length)
        else:
            # e.g. `char comm[TASK_COMM_LEN]` in old kernels: derive from size (char = 1)
            array_len = size
    else:
        nm = _NAME_RE.match(decl)
        if nm is None:
            raise FormatError(f"cannot parse field declaration {decl!r}")
        name, c_type = nm.group("name"), nm.group("head").strip()
    return FieldFormat(
        name=name,
        c_type=c_type,
        offset=offset,
        size=size,
        signed=signed,
        array_len=array_len,
        loc=loc,
    )


def parse_format(text: str, system: str = "") -> EventFormat:
    """Parse an event's `format` file. `system` is its directory name under events/."""
    name: str | None = None
    event_id: int | None = None
    fields: list[FieldFormat] = []
    print_fmt = ""
    head, sep, tail = text.partition("print fmt:")
    if sep:  # the last entry; a string literal in it may hold a newline (ext4_fc_stats)
        text, print_fmt = head, tail.strip()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("name:"):
            name = stripped[5:].strip()
        elif stripped.startswith("ID:"):
            event_id = int(stripped[3:].strip())
        elif stripped.startswith("field:"):
            parsed = parse_field_line(stripped)
            if parsed is not None:
                fields.append(parsed)
    if name is None or event_id is None:
        raise FormatError("format file without name or ID")
    return EventFormat(
        system=system, name=name, id=event_id, fields=tuple(fields), print_fmt=print_fmt
    )


def parse_header(text: str) -> dict[str, FieldFormat]:
    """`events/header_page` (or header_event) as a name -> field map."""
    out: dict[str, FieldFormat] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("field:"):
            # header_page writes "field: u64 timestamp;" with a space after the colon
            parsed = parse_field_line(stripped)
            if parsed is not None:
                out[parsed.name] = parsed
    return out
