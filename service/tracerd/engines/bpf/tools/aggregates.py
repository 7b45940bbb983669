"""Catalogue tools that aggregate in the kernel: syscall counts, run-queue and block I/O
latency histograms, CPU profile and allocation stacks (maps only, read periodically and at
stop). Each follows the BCC tool named in `mirrors`.
"""

from __future__ import annotations

from ..plan import FieldSpec, MapSpec
from .spec import FAILED, PATH_PATTERN, SYMBOL_PATTERN, Args, ParamMeta, ToolAttach, ToolDef, p_bool

F = FieldSpec
STACK_KEY = (
    F("pid", "u32"),
    F("user_stack_id", "s32"),
    F("kernel_stack_id", "s32"),
    F("comm", "str", 16),
)


def _unit(args: Args) -> dict[str, str]:
    return {"TRACERD_UNIT_NS": "1000000" if args.get("milliseconds") else "1000"}


def _unit_name(args: Args) -> str:
    return "msecs" if args.get("milliseconds") else "usecs"


MS = p_bool("milliseconds", "histogram in milliseconds (default microseconds)")
STACKS_MAP_INTERVAL_S = 5.0  # each snapshot symbolizes new stacks: not every second
STACK_ENTRIES = 40960


def _stack_defines(args: Args) -> dict[str, str]:
    return {
        "TRACERD_STACK_STORAGE": str(int(args["stack_storage_size"])),
        "TRACERD_MAX_ENTRIES": str(STACK_ENTRIES),
    }


STACK_STORAGE = ParamMeta("stack_storage_size", "int", 16384, "stack map entries", 64, 1 << 20)


def _syscount_maps(args: Args) -> tuple[MapSpec, ...]:
    if args.get("per_process"):
        return (
            MapSpec(
                "counts",
                "map",
                key=(F("pid", "u32"),),
                value=(F("count", "u64"), F("total_ns", "u64"), F("comm", "str", 16)),
                percpu=True,
            ),
        )
    return (
        MapSpec("counts", "counter", value=(F("count", "u64"), F("total_ns", "u64")), percpu=True),
    )


SYSCOUNT = ToolDef(
    name="syscount",
    mirrors="syscount",
    program="syscount.bpf.c",
    summary="Count syscalls in the kernel, per syscall or per process, optionally with time.",
    params=(
        p_bool("latency", "also sum the time spent in each syscall (total_ns)"),
        p_bool("per_process", "count per process instead of per syscall"),
        FAILED,
    ),
    attach=(
        ToolAttach("tracepoint", "raw_syscalls:sys_enter", "trd_sc_enter", when="latency"),
        ToolAttach("tracepoint", "raw_syscalls:sys_exit", "trd_sc_exit"),
    ),
    maps=_syscount_maps,
    map_docs=(
        (
            "counts",
            "entries {key: {syscall, nr} | {pid}, value: {count, total_ns[, comm]}}"
            " sorted by count",
        ),
    ),
    defines=lambda a: {"TRACERD_MAX_SYSCALLS": "1024"},
    map_interval_s=1.0,
)


RUNQLAT = ToolDef(
    name="runqlat",
    mirrors="runqlat",
    program="runqlat.bpf.c",
    summary="Run-queue (scheduler) latency as a log2 histogram, from sched_wakeup/sched_switch.",
    params=(MS, p_bool("per_process", "one histogram per process (tgid)")),
    attach=(
        ToolAttach("raw_tracepoint", "sched_wakeup", "trd_rq_wakeup"),
        ToolAttach("raw_tracepoint", "sched_wakeup_new", "trd_rq_wakenew"),
        ToolAttach("raw_tracepoint", "sched_switch", "trd_rq_switch"),
    ),
    maps=lambda a: (
        MapSpec(
            "dist",
            "hist",
            unit=_unit_name(a),
            key=(F("pid", "u32"),) if a.get("per_process") else (),
        ),
    ),
    map_docs=(("dist", "log2 histogram of run-queue latency (buckets {low, high, count})"),),
    btf=(
        "task_struct.pid",
        "task_struct.tgid",
        "task_struct.__state|task_struct.state",
        "task_struct.comm",
    ),
    defines=_unit,
    map_interval_s=1.0,
)

BIOLATENCY = ToolDef(
    name="biolatency",
    mirrors="biolatency",
    program="biolatency.bpf.c",
    summary="Block I/O latency as a log2 histogram, from block_rq_issue/insert and _complete.",
    params=(
        MS,
        p_bool("queued", "include the time queued in the kernel (from insert)"),
        p_bool("disks", "one histogram per disk"),
    ),
    attach=(
        ToolAttach("tracepoint", "block:block_rq_insert", "trd_bio_insert", when="queued"),
        ToolAttach("tracepoint", "block:block_rq_issue", "trd_bio_issue", when="!queued"),
        ToolAttach("tracepoint", "block:block_rq_complete", "trd_bio_done"),
    ),
    maps=lambda a: (
        MapSpec(
            "dist", "hist", unit=_unit_name(a), key=(F("dev", "u32"),) if a.get("disks") else ()
        ),
    ),
    map_docs=(("dist", "log2 histogram of block I/O latency; with disks, keyed by {disk}"),),
    defines=_unit,
    map_interval_s=1.0,
)

PROFILE = ToolDef(
    name="profile",
    mirrors="profile",
    program="profile.bpf.c",
    summary="CPU profile: stacks sampled on the cpu-clock software event, as folded stacks.",
    params=(
        ParamMeta("frequency", "int", 49, "samples per second per CPU", 1, 10000),
        p_bool("user_stacks_only", "no kernel stacks"),
        p_bool("kernel_stacks_only", "no user stacks"),
        p_bool("include_idle", "also sample the idle task"),
        STACK_STORAGE,
    ),
    attach=(ToolAttach("perf_event", "cpu-clock:freq={frequency}", "trd_profile"),),
    maps=lambda a: (MapSpec("counts", "stacks", key=STACK_KEY, stack_map="stack_traces"),),
    map_docs=(
        (
            "counts",
            "stacks: entries {key: {pid, comm, user_stack, kernel_stack}, value:"
            " {count}} and `folded` lines `comm;frames... count`",
        ),
    ),
    defines=_stack_defines,
    map_interval_s=STACKS_MAP_INTERVAL_S,
)

MALLOCSTACKS = ToolDef(
    name="mallocstacks",
    mirrors="mallocstacks (bcc examples/tracing)",
    program="mallocstacks.bpf.c",
    summary="Bytes requested from malloc() summed by user stack.",
    params=(
        ParamMeta(
            "library", "str", "c", "library or binary holding the symbol", pattern=PATH_PATTERN
        ),
        ParamMeta(
            "symbol",
            "str",
            "malloc",
            "allocator function (size is its 1st arg)",
            pattern=SYMBOL_PATTERN,
        ),
        STACK_STORAGE,
    ),
    attach=(ToolAttach("uprobe", "{library}:{symbol}", "trd_malloc"),),
    maps=lambda a: (
        MapSpec(
            "allocs",
            "stacks",
            key=STACK_KEY,
            stack_map="stack_traces",
            value=(F("bytes", "u64"), F("count", "u64")),
        ),
    ),
    map_docs=(
        (
            "allocs",
            "stacks: entries {key: {pid, comm, user_stack}, value: {bytes, count}}"
            " and `folded` lines weighted by bytes",
        ),
    ),
    defines=_stack_defines,
    map_interval_s=STACKS_MAP_INTERVAL_S,
)
