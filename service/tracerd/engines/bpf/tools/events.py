"""Catalogue tools that emit one event per occurrence: exec, open, exit, TCP sessions and
state changes, readline. Each follows the BCC tool named in `mirrors` (field names are its
columns, lower-cased), written for this project: tracepoint arguments and BTF offsets
instead of header structs.
"""

from __future__ import annotations

from ..plan import FieldSpec as F
from .spec import (
    FAILED,
    PATH_PATTERN,
    SYMBOL_PATTERN,
    OutField,
    ParamMeta,
    ToolAttach,
    ToolDef,
    ToolVariant,
    p_bool,
)

EXECSNOOP = ToolDef(
    name="execsnoop",
    mirrors="execsnoop",
    program="execsnoop.bpf.c",
    summary="Trace exec() calls: argv, parent pid and return value, one event per exec.",
    params=(ParamMeta("max_args", "int", 20, "argv entries kept", 1, 32), FAILED),
    attach=(
        ToolAttach("tracepoint", "syscalls:sys_enter_execve", "trd_exec_execve"),
        ToolAttach("tracepoint", "syscalls:sys_enter_execveat", "trd_exec_execat", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_execve", "trd_exec_ret"),
        ToolAttach("tracepoint", "syscalls:sys_exit_execveat", "trd_exec_ret", optional=True),
    ),
    fields=(
        OutField("pcomm", "str", "command name after the exec"),
        OutField("pid", "int", "process id"),
        OutField("ppid", "int", "parent process id (real_parent's tgid)"),
        OutField("ret", "int", "return value of execve (0 or -errno)"),
        OutField("args", "list[str]", "argv, each entry up to 127 bytes"),
        OutField("truncated", "bool", "argv had more than max_args entries"),
    ),
    record=lambda a: (
        F("ppid", "u32"),
        F("ret", "s32"),
        F("argc", "u32"),
        F("truncated", "u32"),
        F("args", "str", 128, int(a["max_args"])),
    ),
    btf=("task_struct.real_parent", "task_struct.tgid"),
    defines=lambda a: {"TRACERD_MAXARG": str(int(a["max_args"])), "TRACERD_ARGSIZE": "128"},
    promote={"ret": "ret", "errno": "ret"},
)

OPEN_FUNCTION = "do_sys_openat2"
"""fs/open.c: open, openat, openat2 and creat all end up in it (Linux 5.6+)"""

OPENSNOOP = ToolDef(
    name="opensnoop",
    mirrors="opensnoop",
    program="opensnoop.bpf.c",
    summary=(
        "Trace open(), openat(), openat2() and creat(): path, flags and result, one event per"
        " call (fexit or kprobes on do_sys_openat2 where the kernel allows, else tracepoints)."
    ),
    params=(FAILED,),
    attach=(
        ToolAttach("tracepoint", "syscalls:sys_enter_openat", "trd_open_openat"),
        ToolAttach("tracepoint", "syscalls:sys_enter_open", "trd_open_open", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_enter_openat2", "trd_open_openat2", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_enter_creat", "trd_open_creat", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_openat", "trd_open_ret"),
        ToolAttach("tracepoint", "syscalls:sys_exit_open", "trd_open_ret", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_openat2", "trd_open_ret", optional=True),
        ToolAttach("tracepoint", "syscalls:sys_exit_creat", "trd_open_ret", optional=True),
    ),
    variants=(
        ToolVariant(
            "fentry",
            OPEN_FUNCTION,
            (ToolAttach("fentry", OPEN_FUNCTION, f"kretfunc__{OPEN_FUNCTION}"),),
        ),
        ToolVariant(
            "kprobe",
            OPEN_FUNCTION,
            (
                ToolAttach("kprobe", OPEN_FUNCTION, "trd_open_kentry"),
                ToolAttach("kretprobe", OPEN_FUNCTION, "trd_open_kret"),
            ),
        ),
    ),
    fields=(
        OutField("ret", "int", "return value (fd or -errno)"),
        OutField("fd", "int", "file descriptor, -1 on error"),
        OutField("err", "int", "errno, 0 on success"),
        OutField("flags", "int", "open flags (O_*) as passed"),
        OutField("path", "str", "path as passed, up to 255 bytes"),
    ),
    record=lambda a: (
        F("ret", "s32"),
        F("fd", "s32"),
        F("err", "u32"),
        F("flags", "u32"),
        F("path", "str", 256),
    ),
    ringbuf_pages=4096,
    promote={"ret": "ret", "errno": "ret"},
)

EXITSNOOP = ToolDef(
    name="exitsnoop",
    mirrors="exitsnoop",
    program="exitsnoop.bpf.c",
    summary="Trace process exits: exit code or signal, and age.",
    params=(
        p_bool("per_thread", "every thread's exit, not only the process's"),
        p_bool("failed", "only non-zero exits"),
    ),
    attach=(ToolAttach("tracepoint", "sched:sched_process_exit", "trd_exit"),),
    fields=(
        OutField("pcomm", "str", "command name"),
        OutField("pid", "int", "process id"),
        OutField("ppid", "int", "parent process id"),
        OutField("tid", "int", "thread id"),
        OutField("age_s", "float", "seconds since the task started"),
        OutField("exit_code", "int|null", "exit status when the task exited normally"),
        OutField("signal", "str|null", "terminating signal (SIGKILL, ...)"),
        OutField("core", "bool", "a core dump was written"),
        OutField("status", "int", "raw wait status (task->exit_code)"),
    ),
    record=lambda a: (F("age_ns", "u64"), F("ppid", "u32"), F("status", "u32")),
    btf=(
        "task_struct.exit_code",
        "task_struct.start_time",
        "task_struct.real_parent",
        "task_struct.tgid",
    ),
)


_TCP_PORTS = (
    ParamMeta("lport", "int", None, "only this local port", 1, 65535),
    ParamMeta("rport", "int", None, "only this remote port", 1, 65535),
)
_TCP_ADDR = (
    OutField("family", "int", "4 or 6"),
    OutField("laddr", "str", "local address"),
    OutField("lport", "int", "local port"),
    OutField("raddr", "str", "remote address"),
    OutField("rport", "int", "remote port"),
)
_TCP_RECORD_TAIL = (
    F("family", "u16"),
    F("lport", "u16"),
    F("rport", "u16"),
    F("laddr", "bytes", 16),
    F("raddr", "bytes", 16),
)

TCPLIFE = ToolDef(
    name="tcplife",
    mirrors="tcplife",
    program="tcp.bpf.c",
    summary="TCP sessions: one event per closed connection with its lifespan and bytes.",
    params=_TCP_PORTS,
    attach=(ToolAttach("tracepoint", "sock:inet_sock_set_state", "trd_tcp_life"),),
    fields=(
        OutField("pid", "int", "owner process (connect/close caller)"),
        OutField("comm", "str", "owner command"),
        *_TCP_ADDR,
        OutField("tx_kb", "int", "KiB sent and acknowledged"),
        OutField("rx_kb", "int", "KiB received"),
        OutField("tx_bytes", "int", "bytes sent and acknowledged (tcp_sock.bytes_acked)"),
        OutField("rx_bytes", "int", "bytes received (tcp_sock.bytes_received)"),
        OutField("ms", "float", "lifespan in milliseconds"),
    ),
    record=lambda a: (
        F("span_ns", "u64"),
        F("rx_bytes", "u64"),
        F("tx_bytes", "u64"),
        *_TCP_RECORD_TAIL,
    ),
    btf=("tcp_sock.bytes_received", "tcp_sock.bytes_acked"),
    defines=lambda a: {"TRACERD_TCPLIFE": "1"},
    promote={"dur_ns": "span_ns"},
)

TCPSTATES = ToolDef(
    name="tcpstates",
    mirrors="tcpstates",
    program="tcp.bpf.c",
    summary="TCP state changes: one event per transition with the time spent in the old state.",
    params=_TCP_PORTS,
    attach=(ToolAttach("tracepoint", "sock:inet_sock_set_state", "trd_tcp_state"),),
    fields=(
        OutField("skaddr", "str", "socket address (kernel pointer, hex)"),
        *_TCP_ADDR,
        OutField("oldstate", "str", "state left (ESTABLISHED, ...)"),
        OutField("newstate", "str", "state entered"),
        OutField("ms", "float", "milliseconds spent in the old state (0: first seen)"),
    ),
    record=lambda a: (
        F("skaddr", "u64"),
        F("delta_ns", "u64"),
        F("oldstate", "u8"),
        F("newstate", "u8"),
        *_TCP_RECORD_TAIL,
    ),
    defines=lambda a: {"TRACERD_TCPSTATES": "1"},
    promote={"dur_ns": "delta_ns"},
)

BASHREADLINE = ToolDef(
    name="bashreadline",
    mirrors="bashreadline",
    program="bashreadline.bpf.c",
    summary="Lines read by readline() in bash (a uretprobe): one event per command typed.",
    params=(
        ParamMeta(
            "binary", "str", "/bin/bash", "binary or library with readline", pattern=PATH_PATTERN
        ),
        ParamMeta(
            "symbol", "str", "readline", "function returning the line", pattern=SYMBOL_PATTERN
        ),
    ),
    attach=(ToolAttach("uretprobe", "{binary}:{symbol}", "trd_readline"),),
    fields=(OutField("command", "str", "the line returned, up to 255 bytes"),),
    record=lambda a: (F("command", "str", 256),),
)
