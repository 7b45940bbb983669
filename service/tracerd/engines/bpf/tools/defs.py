"""The catalogue's tools: parameters, event fields, record layouts, attachments, maps.

Each follows the BCC tool named in `mirrors` (field names are its columns, lower-cased),
written for this project: tracepoint arguments and BTF offsets instead of header structs.
"""

from __future__ import annotations

from ..plan import FieldSpec, MapSpec
from .spec import Args, OutField, ParamMeta, ToolAttach, ToolDef

F = FieldSpec
PATH_PATTERN = r"^(/[^\x00-\x1f\x7f:]{1,255}|[A-Za-z0-9_.+-]{1,64})$"
SYMBOL_PATTERN = r"^[A-Za-z_.$][A-Za-z0-9_.$@]{0,255}$"
STACK_KEY = (F("pid", "u32"), F("user_stack_id", "s32"), F("kernel_stack_id", "s32"),
             F("comm", "str", 16))


def _p_bool(name: str, doc: str) -> ParamMeta:
    return ParamMeta(name, "bool", False, doc)


def _unit(args: Args) -> dict[str, str]:
    return {"TRACERD_UNIT_NS": "1000000" if args.get("milliseconds") else "1000"}


def _unit_name(args: Args) -> str:
    return "msecs" if args.get("milliseconds") else "usecs"


MS = _p_bool("milliseconds", "histogram in milliseconds (default microseconds)")
FAILED = _p_bool("failed", "only failed calls")
STACKS_MAP_INTERVAL_S = 5.0  # each snapshot symbolizes new stacks: not every second
STACK_ENTRIES = 40960


def _stack_defines(args: Args) -> dict[str, str]:
    return {"TRACERD_STACK_STORAGE": str(int(args["stack_storage_size"])),
            "TRACERD_MAX_ENTRIES": str(STACK_ENTRIES)}


STACK_STORAGE = ParamMeta("stack_storage_size", "int", 16384, "stack map entries", 64, 1 << 20)

EXECSNOOP = ToolDef(
    name="execsnoop", mirrors="execsnoop", program="execsnoop.bpf.c",
    summary="Trace exec() calls: argv, parent pid and return value, one event per exec.",
    params=(ParamMeta("max_args", "int", 20, "argv entries kept", 1, 32), FAILED),
    attach=(
        ToolAttach("tracepoint", "syscalls:sys_enter_execve", "trd_exec_execve"),
        ToolAttach("tracepoint", "syscalls:sys_enter_execveat", "trd_exec_execat", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_execve", "trd_exec_ret"),
        ToolAttach("tracepoint", "syscalls:sys_exit_execveat", "trd_exec_ret", optional=True),
    ),
    fields=(OutField("pcomm", "str", "command name after the exec"),
            OutField("pid", "int", "process id"),
            OutField("ppid", "int", "parent process id (real_parent's tgid)"),
            OutField("ret", "int", "return value of execve (0 or -errno)"),
            OutField("args", "list[str]", "argv, each entry up to 127 bytes"),
            OutField("truncated", "bool", "argv had more than max_args entries")),
    record=lambda a: (F("ppid", "u32"), F("ret", "s32"), F("argc", "u32"),
                      F("truncated", "u32"), F("args", "str", 128, int(a["max_args"]))),
    btf=("task_struct.real_parent", "task_struct.tgid"),
    defines=lambda a: {"TRACERD_MAXARG": str(int(a["max_args"])), "TRACERD_ARGSIZE": "128"},
    promote={"ret": "ret", "errno": "ret"},
)

OPENSNOOP = ToolDef(
    name="opensnoop", mirrors="opensnoop", program="opensnoop.bpf.c",
    summary="Trace open(), openat() and openat2(): path, flags and result, one event per call.",
    params=(FAILED,),
    attach=(
        ToolAttach("tracepoint", "syscalls:sys_enter_openat", "trd_open_openat"),
        ToolAttach("tracepoint", "syscalls:sys_enter_open", "trd_open_open", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_enter_openat2", "trd_open_openat2", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_openat", "trd_open_ret"),
        ToolAttach("tracepoint", "syscalls:sys_exit_open", "trd_open_ret", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_openat2", "trd_open_ret", optional=True),
    ),
    fields=(OutField("ret", "int", "return value (fd or -errno)"),
            OutField("fd", "int", "file descriptor, -1 on error"),
            OutField("err", "int", "errno, 0 on success"),
            OutField("flags", "int", "open flags (O_*)"),
            OutField("path", "str", "path as passed, up to 255 bytes")),
    record=lambda a: (F("ret", "s32"), F("fd", "s32"), F("err", "u32"), F("flags", "u32"),
                      F("path", "str", 256)),
    ringbuf_pages=4096,
    promote={"ret": "ret", "errno": "ret"},
)

EXITSNOOP = ToolDef(
    name="exitsnoop", mirrors="exitsnoop", program="exitsnoop.bpf.c",
    summary="Trace process exits: exit code or signal, and age.",
    params=(_p_bool("per_thread", "every thread's exit, not only the process's"),
            _p_bool("failed", "only non-zero exits")),
    attach=(ToolAttach("tracepoint", "sched:sched_process_exit", "trd_exit"),),
    fields=(OutField("pcomm", "str", "command name"), OutField("pid", "int", "process id"),
            OutField("ppid", "int", "parent process id"), OutField("tid", "int", "thread id"),
            OutField("age_s", "float", "seconds since the task started"),
            OutField("exit_code", "int|null", "exit status when the task exited normally"),
            OutField("signal", "str|null", "terminating signal (SIGKILL, ...)"),
            OutField("core", "bool", "a core dump was written"),
            OutField("status", "int", "raw wait status (task->exit_code)")),
    record=lambda a: (F("age_ns", "u64"), F("ppid", "u32"), F("status", "u32")),
    btf=("task_struct.exit_code", "task_struct.start_time", "task_struct.real_parent",
         "task_struct.tgid"),
)


def _syscount_maps(args: Args) -> tuple[MapSpec, ...]:
    if args.get("per_process"):
        return (MapSpec("counts", "map", key=(F("pid", "u32"),),
                        value=(F("count", "u64"), F("total_ns", "u64"), F("comm", "str", 16)),
                        percpu=True),)
    return (MapSpec("counts", "counter", value=(F("count", "u64"), F("total_ns", "u64")),
                    percpu=True),)


SYSCOUNT = ToolDef(
    name="syscount", mirrors="syscount", program="syscount.bpf.c",
    summary="Count syscalls in the kernel, per syscall or per process, optionally with time.",
    params=(_p_bool("latency", "also sum the time spent in each syscall (total_ns)"),
            _p_bool("per_process", "count per process instead of per syscall"), FAILED),
    attach=(ToolAttach("tracepoint", "raw_syscalls:sys_enter", "trd_sc_enter", when="latency"),
            ToolAttach("tracepoint", "raw_syscalls:sys_exit", "trd_sc_exit")),
    maps=_syscount_maps,
    map_docs=(("counts", "entries {key: {syscall, nr} | {pid}, value: {count, total_ns[, comm]}}"
                         " sorted by count"),),
    defines=lambda a: {"TRACERD_MAX_SYSCALLS": "1024"},
    map_interval_s=1.0,
)


def _hist(name: str, key: tuple[FieldSpec, ...]) -> MapSpec:
    return MapSpec(name, "hist", key=key, unit="")


RUNQLAT = ToolDef(
    name="runqlat", mirrors="runqlat", program="runqlat.bpf.c",
    summary="Run-queue (scheduler) latency as a log2 histogram, from sched_wakeup/sched_switch.",
    params=(MS, _p_bool("per_process", "one histogram per process (tgid)")),
    attach=(ToolAttach("raw_tracepoint", "sched_wakeup", "trd_rq_wakeup"),
            ToolAttach("raw_tracepoint", "sched_wakeup_new", "trd_rq_wakenew"),
            ToolAttach("raw_tracepoint", "sched_switch", "trd_rq_switch")),
    maps=lambda a: (MapSpec("dist", "hist", unit=_unit_name(a),
                            key=(F("pid", "u32"),) if a.get("per_process") else ()),),
    map_docs=(("dist", "log2 histogram of run-queue latency (buckets {low, high, count})"),),
    btf=("task_struct.pid", "task_struct.tgid", "task_struct.__state|task_struct.state",
         "task_struct.comm"),
    defines=_unit,
    map_interval_s=1.0,
)

BIOLATENCY = ToolDef(
    name="biolatency", mirrors="biolatency", program="biolatency.bpf.c",
    summary="Block I/O latency as a log2 histogram, from block_rq_issue/insert and _complete.",
    params=(MS, _p_bool("queued", "include the time queued in the kernel (from insert)"),
            _p_bool("disks", "one histogram per disk")),
    attach=(ToolAttach("tracepoint", "block:block_rq_insert", "trd_bio_insert", when="queued"),
            ToolAttach("tracepoint", "block:block_rq_issue", "trd_bio_issue", when="!queued"),
            ToolAttach("tracepoint", "block:block_rq_complete", "trd_bio_done")),
    maps=lambda a: (MapSpec("dist", "hist", unit=_unit_name(a),
                            key=(F("dev", "u32"),) if a.get("disks") else ()),),
    map_docs=(("dist", "log2 histogram of block I/O latency; with disks, keyed by {disk}"),),
    defines=_unit,
    map_interval_s=1.0,
)

_TCP_PORTS = (ParamMeta("lport", "int", None, "only this local port", 1, 65535),
              ParamMeta("rport", "int", None, "only this remote port", 1, 65535))
_TCP_ADDR = (OutField("family", "int", "4 or 6"), OutField("laddr", "str", "local address"),
             OutField("lport", "int", "local port"), OutField("raddr", "str", "remote address"),
             OutField("rport", "int", "remote port"))
_TCP_RECORD_TAIL = (F("family", "u16"), F("lport", "u16"), F("rport", "u16"),
                    F("laddr", "bytes", 16), F("raddr", "bytes", 16))

TCPLIFE = ToolDef(
    name="tcplife", mirrors="tcplife", program="tcp.bpf.c",
    summary="TCP sessions: one event per closed connection with its lifespan and bytes.",
    params=_TCP_PORTS,
    attach=(ToolAttach("tracepoint", "sock:inet_sock_set_state", "trd_tcp_life"),),
    fields=(OutField("pid", "int", "owner process (connect/close caller)"),
            OutField("comm", "str", "owner command"), *_TCP_ADDR,
            OutField("tx_kb", "int", "KiB sent and acknowledged"),
            OutField("rx_kb", "int", "KiB received"),
            OutField("tx_bytes", "int", "bytes sent and acknowledged (tcp_sock.bytes_acked)"),
            OutField("rx_bytes", "int", "bytes received (tcp_sock.bytes_received)"),
            OutField("ms", "float", "lifespan in milliseconds")),
    record=lambda a: (F("span_ns", "u64"), F("rx_bytes", "u64"), F("tx_bytes", "u64"),
                      *_TCP_RECORD_TAIL),
    btf=("tcp_sock.bytes_received", "tcp_sock.bytes_acked"),
    defines=lambda a: {"TRACERD_TCPLIFE": "1"},
    promote={"dur_ns": "span_ns"},
)

TCPSTATES = ToolDef(
    name="tcpstates", mirrors="tcpstates", program="tcp.bpf.c",
    summary="TCP state changes: one event per transition with the time spent in the old state.",
    params=_TCP_PORTS,
    attach=(ToolAttach("tracepoint", "sock:inet_sock_set_state", "trd_tcp_state"),),
    fields=(OutField("skaddr", "str", "socket address (kernel pointer, hex)"), *_TCP_ADDR,
            OutField("oldstate", "str", "state left (ESTABLISHED, ...)"),
            OutField("newstate", "str", "state entered"),
            OutField("ms", "float", "milliseconds spent in the old state (0: first seen)")),
    record=lambda a: (F("skaddr", "u64"), F("delta_ns", "u64"), F("oldstate", "u8"),
                      F("newstate", "u8"), *_TCP_RECORD_TAIL),
    defines=lambda a: {"TRACERD_TCPSTATES": "1"},
    promote={"dur_ns": "delta_ns"},
)

PROFILE = ToolDef(
    name="profile", mirrors="profile", program="profile.bpf.c",
    summary="CPU profile: stacks sampled on the cpu-clock software event, as folded stacks.",
    params=(ParamMeta("frequency", "int", 49, "samples per second per CPU", 1, 10000),
            _p_bool("user_stacks_only", "no kernel stacks"),
            _p_bool("kernel_stacks_only", "no user stacks"),
            _p_bool("include_idle", "also sample the idle task"), STACK_STORAGE),
    attach=(ToolAttach("perf_event", "cpu-clock:freq={frequency}", "trd_profile"),),
    maps=lambda a: (MapSpec("counts", "stacks", key=STACK_KEY, stack_map="stack_traces"),),
    map_docs=(("counts", "stacks: entries {key: {pid, comm, user_stack, kernel_stack}, value:"
                         " {count}} and `folded` lines `comm;frames... count`"),),
    defines=_stack_defines,
    map_interval_s=STACKS_MAP_INTERVAL_S,
)

MALLOCSTACKS = ToolDef(
    name="mallocstacks", mirrors="mallocstacks (bcc examples/tracing)",
    program="mallocstacks.bpf.c",
    summary="Bytes requested from malloc() summed by user stack.",
    params=(ParamMeta("library", "str", "c", "library or binary holding the symbol",
                      pattern=PATH_PATTERN),
            ParamMeta("symbol", "str", "malloc", "allocator function (size is its 1st arg)",
                      pattern=SYMBOL_PATTERN), STACK_STORAGE),
    attach=(ToolAttach("uprobe", "{library}:{symbol}", "trd_malloc"),),
    maps=lambda a: (MapSpec("allocs", "stacks", key=STACK_KEY, stack_map="stack_traces",
                            value=(F("bytes", "u64"), F("count", "u64"))),),
    map_docs=(("allocs", "stacks: entries {key: {pid, comm, user_stack}, value: {bytes, count}}"
                         " and `folded` lines weighted by bytes"),),
    defines=_stack_defines,
    map_interval_s=STACKS_MAP_INTERVAL_S,
)

BASHREADLINE = ToolDef(
    name="bashreadline", mirrors="bashreadline", program="bashreadline.bpf.c",
    summary="Lines read by readline() in bash (a uretprobe): one event per command typed.",
    params=(ParamMeta("binary", "str", "/bin/bash", "binary or library with readline",
                      pattern=PATH_PATTERN),
            ParamMeta("symbol", "str", "readline", "function returning the line",
                      pattern=SYMBOL_PATTERN)),
    attach=(ToolAttach("uretprobe", "{binary}:{symbol}", "trd_readline"),),
    fields=(OutField("command", "str", "the line returned, up to 255 bytes"),),
    record=lambda a: (F("command", "str", 256),),
)

TOOLS: tuple[ToolDef, ...] = (EXECSNOOP, OPENSNOOP, EXITSNOOP, SYSCOUNT, RUNQLAT, BIOLATENCY,
                              TCPLIFE, TCPSTATES, PROFILE, MALLOCSTACKS, BASHREADLINE)
