"""What a BPF session loads, as plain values: fields, maps, attachments, the program plan.

A `ProgramPlan` is built without BCC (by `codegen.py` for catalogue tools and custom
programs) and is everything `loader.py` needs to compile, load and attach, and everything
`decode.py` needs to decode the records and maps that come back. Keeping it pure lets the
daemon describe tools (`tools/meta.py`) and lets unit tests snapshot generated programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttachType = str
"""tracepoint, raw_tracepoint, uprobe, uretprobe, perf_event, kprobe, kretprobe or fentry
(the values of specs.BpfAttach.type, which the API validates)"""
MapKind = Literal["hist", "map", "stacks", "counter"]

# bpf_ktime_get_ns() is CLOCK_MONOTONIC: every record's ts_ns is on the session's "mono" clock.
SESSION_CLOCK = "mono"
# Programs of ours carry this prefix in their (15-character) kernel name: tests and
# reconcile find them in `bpftool prog show` by it.
PROG_PREFIX = "trd_"
# The per-CPU array counting ring-buffer reservation failures (one u64 slot).
LOST_MAP = "tracerd_lost"
EVENTS_MAP = "events"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a record or map key/value, laid out with C's natural alignment.

    `type` is u8..u64, s8..s64, `str` (NUL-terminated char[size]) or `bytes` (u8[size]);
    `count` > 1 makes an array (e.g. execsnoop's argv slots).
    """

    name: str
    type: str
    size: int = 0
    count: int = 1
    doc: str = ""


@dataclass(frozen=True, slots=True)
class AttachSpec:
    """One attachment: `target` is `cat:event` (tracepoint), `event` (raw tracepoint),
    `path:symbol` (uprobe/uretprobe), `event[:freq=N|period=N]` (perf_event) or a kernel
    function (kprobe/kretprobe/fentry)."""

    type: AttachType
    target: str
    fn: str
    pid: int = -1
    """uprobes only: attach to this process only (-1: every process mapping the file)"""
    optional: bool = False
    """skip (and note) when the tracepoint does not exist on this kernel"""


@dataclass(frozen=True, slots=True)
class MapSpec:
    """An aggregation map and how to decode it.

    `hist`: log2 slots (`bpf_log2l`); unkeyed = an array of 64 u64, keyed = a hash whose key
    holds `key` fields plus a u64 `slot`. `map`: key fields -> value fields. `stacks`: key
    holds `user_stack_id`/`kernel_stack_id` (s32) resolved through `stack_map`. `counter`:
    a per-CPU array indexed by a small integer (syscount's syscall numbers).
    """

    name: str
    kind: MapKind
    key: tuple[FieldSpec, ...] = ()
    value: tuple[FieldSpec, ...] = (FieldSpec("count", "u64"),)
    unit: str = ""
    percpu: bool = False
    stack_map: str = ""
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ProgramPlan:
    """Everything needed to run one BCC program for a session."""

    name: str
    """event name: the tool name, or the custom program's output map"""
    text: str
    attach: tuple[AttachSpec, ...]
    record: tuple[FieldSpec, ...] = ()
    """fields of each output record (after the standard header when `header`)"""
    header: bool = True
    output_map: str | None = EVENTS_MAP
    maps: tuple[MapSpec, ...] = ()
    map_interval_s: float | None = None
    lost_map: str | None = LOST_MAP
    tool: str | None = None
    """catalogue tool whose hooks post-process events and maps"""
    promote: dict[str, str] = field(default_factory=dict)
    """column -> field: `ret`, `dur_ns` copied from fields; `errno` derived from a ret field"""
    generic_maps: bool = False
    """custom programs: also read every other map of the program, decoded by BCC's types"""
    hist_maps: tuple[str, ...] = ()
    """custom programs: maps declared with BPF_HISTOGRAM (decoded as log2 histograms)"""
    notes: tuple[str, ...] = ()
    attach_mode: str | None = None
    """catalogue tools: the way in used (`fentry`, `kprobe`, `tracepoint`, ...: info.attach)"""
    attach_skipped: tuple[tuple[str, str], ...] = ()
    """catalogue tools: (way in, why not) for each better one not used"""


# The header every catalogue-tool record starts with (filled by tracerd_fill() in C).
HEADER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ts_ns", "u64"),
    FieldSpec("pid", "u32"),
    FieldSpec("tid", "u32"),
    FieldSpec("cpu", "u32"),
    FieldSpec("comm", "str", 16),
)
