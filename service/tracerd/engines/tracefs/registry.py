"""Decoding of trace_pipe_raw sub-buffers ("pages") into events: pure, no I/O.

Mechanism (kernel-interfaces.md section 2):
- `EventRegistry` maps each event's `common_type` id to a precompiled `DecodePlan` built
  from its `format` text: one `struct.Struct` covering every non-common field, so a record
  costs one `unpack_from`, one `dict(zip(...))` and, only for events that have strings or
  arrays, a few post-processing steps.
- `decode.PageDecoder` walks the records of one page with these plans.

Display names: `subsystem:event`; dynamic events are `uprobes:<event>` / `kprobes:<event>`
whatever their group (the caller says which group is which, see `dynamic_event_kinds`);
markers are `ftrace:print`.

Field values (JSON representation), as `trace-cmd report` shows them:
- scalars: int, signed or unsigned per the format's `signed:` (never the C type); pointers
  and `ip`s are unsigned ints (trace-cmd prints them in hex: the text renderer does too);
- char arrays, `__data_loc char[]`/`__rel_loc char[]` and `char buf[]`: str, cut at the first
  NUL, undecodable bytes as `\\xNN` (trace-cmd prints the raw bytes);
- other arrays (fixed, flexible, data_loc): list of ints by element size (from size/count, or
  from the C type for flexible and data_loc arrays; unknown element types give bytes 0..255).

Caveats: little-endian hosts only (x86_64, arm64); a plan skips fields that overlap an earlier
one (none do in 6.x format files).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...kernel.formats import EventFormat, FieldFormat, parse_format, parse_header
from ...types import WireEvent

RB_MISSED_EVENTS = 1 << 31
RB_MISSED_STORED = 1 << 30
COMMIT_LEN_MASK = (1 << 27) - 1
"""libtraceevent's mask of the commit length (the kernel caps sub-buffers at 1 MiB anyway)"""
TS_MSB_SHIFT = 59
TS_MSB_MASK = 0xF8 << 56
UNKNOWN_LOST = -1
"""count of a page whose missed-events count was not stored (no room left on the page)"""

TYPE_PADDING, TYPE_TIME_EXTEND, TYPE_TIME_STAMP = 29, 30, 31
_SCALAR_CODES = {
    (1, False): "B",
    (1, True): "b",
    (2, False): "H",
    (2, True): "h",
    (4, False): "I",
    (4, True): "i",
    (8, False): "Q",
    (8, True): "q",
}
_ELEMENT_SIZES = {
    **dict.fromkeys(("char", "u8", "__u8", "s8", "__s8", "bool", "uint8_t", "int8_t"), 1),
    **dict.fromkeys(("u16", "__u16", "s16", "__s16", "short", "uint16_t", "int16_t"), 2),
    **dict.fromkeys(
        (
            "int",
            "unsigned int",
            "unsigned",
            "u32",
            "__u32",
            "s32",
            "__s32",
            "uint32_t",
            "int32_t",
            "pid_t",
            "uid_t",
            "gid_t",
            "uint",
        ),
        4,
    ),
    **dict.fromkeys(
        ("u64", "__u64", "s64", "__s64", "long long", "unsigned long long", "uint64_t", "int64_t"),
        8,
    ),
}
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LONG_TYPES = frozenset({"long", "unsigned long", "size_t", "cpumask_t", "ssize_t"})


@dataclass(frozen=True, slots=True)
class PageLayout:
    """Where the sub-buffer header's fields are, from `events/header_page`."""

    ts_offset: int = 0
    commit_offset: int = 8
    commit_size: int = 8
    data_offset: int = 16

    @classmethod
    def from_header_page(cls, text: str) -> PageLayout:
        fields = parse_header(text)
        ts, commit, data = fields["timestamp"], fields["commit"], fields["data"]
        return cls(ts.offset, commit.offset, commit.size, data.offset)

    @property
    def long_size(self) -> int:
        return self.commit_size


@dataclass(frozen=True, slots=True)
class DecodePlan:
    """How to turn one event's payload into (name, fields)."""

    name: str
    names: tuple[str, ...]
    unpack: Callable[[Any, int], tuple[Any, ...]]
    post: dict[int, Post]
    """value index -> conversion (strings, arrays, odd-sized scalars)"""
    min_len: int
    """payload bytes the format needs"""


def display_name(fmt: EventFormat, dynamic_kind: str | None = None) -> str:
    """The name the session shows: `uprobes:x`/`kprobes:x` for dynamic events, else sys:event."""
    if dynamic_kind in ("uprobes", "kprobes"):
        return f"{dynamic_kind}:{fmt.name}"
    return fmt.full_name


def dynamic_event_kinds(text: str) -> dict[tuple[str, str], str]:
    """Parse `dynamic_events` (or uprobe_events/kprobe_events) into (group, event) -> kind.

    A definition is `p|r[N]:[GROUP/]EVENT PLACE ...`; PLACE `/path:offset` is a uprobe,
    anything else (symbol[+off], address) a kprobe. Other types (e:, s:, f:, t:) are skipped.
    """
    kinds: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0][:1] not in ("p", "r") or ":" not in parts[0]:
            continue
        spec = parts[0].split(":", 1)[1]
        group, _, event = spec.rpartition("/")
        kind = "uprobes" if parts[1].startswith("/") else "kprobes"
        kinds[(group or kind, event)] = kind
    return kinds


def _c_base(c_type: str) -> str:
    base = c_type.replace("const ", "").replace("volatile ", "").replace("[]", "").strip()
    return base.replace("signed ", "").strip() if base.startswith("signed ") else base


def _element_size(f: FieldFormat, long_size: int) -> int:
    """Element size of an array field (1 when unknown: the bytes are shown)."""
    if f.array_len and f.loc is None:
        return max(1, f.size // f.array_len)
    base = _c_base(f.c_type)
    if "*" in base or base in _LONG_TYPES:
        return long_size
    return _ELEMENT_SIZES.get(base, 1)


def _text(raw: bytes) -> str:
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("utf-8", "backslashreplace")


def _array_reader(elem: int, signed: bool) -> Callable[[bytes], list[int]]:
    code = _SCALAR_CODES.get((elem, signed))
    if code is None:
        return lambda raw: list(raw)
    cache: dict[int, struct.Struct] = {}

    def read(raw: bytes) -> list[int]:
        n = len(raw) // elem
        st = cache.get(n)
        if st is None:
            st = cache[n] = struct.Struct(f"<{n}{code}")
        return list(st.unpack_from(raw))

    return read


Post = Callable[[Any, int, int, Any], Any]
"""converts one unpacked value: (buf, payload offset, payload length, value) -> value"""
Make = Callable[[Any, int, int, int, int, int, tuple[int | None, str | None]], WireEvent | None]
"""(buf, payload offset, payload length, ts, cpu, tid, (pid, comm)) -> event, None if short"""
Hook = Callable[[int, dict[str, Any], int], None]
"""(tid, fields, ts) of an event that tells a task's comm/tgid"""
Resolve = Callable[[int], tuple[int | None, str | None]]


def _post_for(f: FieldFormat, long_size: int) -> Post:
    """The conversion of a field that is not a plain scalar."""
    conv: Callable[[bytes], Any] = (
        _text if f.is_string else _array_reader(_element_size(f, long_size), f.signed)
    )
    if f.loc is not None:
        rel_base = f.offset + f.size if f.loc == "rel" else 0

        def loc(buf: Any, poff: int, plen: int, word: int) -> Any:
            start = poff + rel_base + (word & 0xFFFF)
            return conv(bytes(buf[start : min(start + (word >> 16), poff + plen)]))

        return loc
    if f.array_len == 0 and f.size == 0:
        start_off = f.offset

        def flexible(buf: Any, poff: int, plen: int, _: bytes) -> Any:
            return conv(bytes(buf[poff + start_off : poff + plen]))

        return flexible
    if f.array_len is not None:
        return lambda buf, poff, plen, raw: conv(raw)
    signed = f.signed
    return lambda buf, poff, plen, raw: int.from_bytes(raw, "little", signed=signed)


def compile_plan(fmt: EventFormat, name: str, long_size: int = 8) -> DecodePlan:
    """Precompile the decoding of one event format: one struct over all its fields."""
    codes: list[str] = []
    names: list[str] = []
    post: dict[int, Post] = {}
    cursor = 0
    for f in sorted(fmt.event_fields, key=lambda x: x.offset):
        if f.offset < cursor or not _IDENT_RE.match(f.name):
            continue  # an aliased field cannot share the struct; odd names never reach code
        codes.append(f"{f.offset - cursor}x" if f.offset > cursor else "")
        scalar = f.array_len is None and f.loc is None
        code = "I" if f.loc is not None else _SCALAR_CODES.get((f.size, f.signed))
        if code is None or not scalar:
            post[len(names)] = _post_for(f, long_size)
        codes.append(code if code is not None and (scalar or f.loc) else f"{f.size}s")
        names.append(f.name)
        cursor = f.offset + f.size
    st = struct.Struct("<" + "".join(codes))
    return DecodePlan(name, tuple(names), st.unpack_from, post, cursor)


def build_maker(plan: DecodePlan, hook: Hook | None = None, resolve: Resolve | None = None) -> Make:
    """Generate the record -> `WireEvent` function of a plan (straight-line code: a dict
    display instead of dict(zip()) halves the cost per record). With a `hook`, the event's
    fields are handed to it and the task resolved again afterwards (exec changes the comm)."""
    env: dict[str, Any] = {
        "unpack": plan.unpack,
        "T": tuple.__new__,
        "W": WireEvent,
        "NAME": plan.name,
        "hook": hook,
        "resolve": resolve,
    }
    vs = [f"v{i}" for i in range(len(plan.names))]
    body = [f"    if plen < {plan.min_len}:", "        return None"]
    if vs:
        body.append(f"    {', '.join(vs)}, = unpack(buf, poff)")
    for i, fn in plan.post.items():
        env[f"p{i}"] = fn
        body.append(f"    v{i} = p{i}(buf, poff, plen, v{i})")
    body.append("    f = {" + ", ".join(f"{n!r}: v{i}" for i, n in enumerate(plan.names)) + "}")
    if hook is not None and resolve is not None:
        body += ["    hook(tid, f, ts)", "    task = resolve(tid)"]
    body.append("    return T(W, (ts, cpu, task[0], tid, task[1], NAME, f, None, None, None))")
    defaults = ", ".join(f"{k}={k}" for k in env)
    src = f"def make(buf, poff, plen, ts, cpu, tid, task, {defaults}):\n" + "\n".join(body)
    exec(compile(src, f"<tracefs plan {plan.name}>", "exec"), env)
    make: Make = env["make"]
    return make


class EventRegistry:
    """Formats of the events a session records, keyed by `common_type` id."""

    def __init__(self, layout: PageLayout | None = None) -> None:
        self.layout = layout or PageLayout()
        self.formats: dict[int, EventFormat] = {}
        self.plans: dict[int, DecodePlan] = {}

    def add(self, fmt: EventFormat, dynamic_kind: str | None = None) -> DecodePlan:
        """Register one format; `dynamic_kind` is "uprobes"/"kprobes" for dynamic events."""
        plan = compile_plan(fmt, display_name(fmt, dynamic_kind), self.layout.long_size)
        self.formats[fmt.id] = fmt
        self.plans[fmt.id] = plan
        return plan

    def add_text(self, text: str, system: str, dynamic_kind: str | None = None) -> DecodePlan:
        return self.add(parse_format(text, system), dynamic_kind)

    def print_fmts(self) -> dict[str, str]:
        """Display name -> `print fmt:` text, for render.ftrace.FtraceRenderer."""
        return {p.name: self.formats[eid].print_fmt for eid, p in self.plans.items()}

    def value_widths(self) -> dict[str, dict[str, int]]:
        """Display name -> {field: bytes of one value} for array fields (decoded as lists of
        ints: the element size) and signed scalars, for the text renderer (printfmt.py):
        byte-level helpers (`__print_hex`, `%pI4`, ...) and libtraceevent's unsigned reads."""
        out: dict[str, dict[str, int]] = {}
        for eid, plan in self.plans.items():
            sizes = {
                f.name: _element_size(f, self.layout.long_size)
                if f.array_len is not None or f.loc is not None
                else f.size
                for f in self.formats[eid].event_fields
                if ((f.array_len is not None or f.loc is not None) and not f.is_string)
                or (f.signed and f.array_len is None and f.loc is None)
            }
            if sizes:
                out[plan.name] = sizes
        return out

    def render_formats(self) -> dict[str, Any]:
        """What the text renderer needs, stored with the session (its `info["formats"]`) so
        exports never re-read formats from the kernel (a uprobe's are gone at stop):
        {"print_fmts": {name: fmt}, "widths": {name: {field: bytes}}}."""
        return {"print_fmts": self.print_fmts(), "widths": self.value_widths()}

    def name_of(self, event_id: int) -> str | None:
        plan = self.plans.get(event_id)
        return None if plan is None else plan.name

    @classmethod
    def build(
        cls,
        header_page: str,
        formats: Iterable[tuple[str, str]],
        dynamic_kinds: Mapping[tuple[str, str], str] | None = None,
    ) -> EventRegistry:
        """From `events/header_page` text and (system, format text) pairs."""
        reg = cls(PageLayout.from_header_page(header_page))
        kinds = dynamic_kinds or {}
        for system, text in formats:
            fmt = parse_format(text, system)
            reg.add(fmt, kinds.get((system, fmt.name)))
        return reg
