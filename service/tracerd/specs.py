"""Session specs: the contract clients write against (design.md "Session specs").

Pure pydantic models, shared by the API (validation, OpenAPI) and the workers (which
receive the validated spec as JSON). No I/O, no kernel access here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# C-identifier rules: group and event names reject '-' and '.' on some kernels.
IDENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
Ident = Annotated[str, Field(pattern=IDENT_PATTERN)]
# No control characters (a newline in a tracefs control file starts a new command).
SafeText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=4096)]

# Bounds of every number a client sends (README "Security"): nothing reaches a worker, the
# database (signed 64-bit) or the kernel that does not fit; a float is finite.
INT64_MAX = (1 << 63) - 1
COUNT_MAX = 1 << 53  # counts and byte sizes: exact in JSON doubles too
PID_MAX = 1 << 22  # the kernel's PID_MAX_LIMIT
DURATION_MAX_S = 366 * 86400.0
GRAPH_DEPTH_MAX = 1024
MAP_INTERVAL_MIN_S = 0.1
Count = Annotated[int, Field(ge=1, le=COUNT_MAX)]
Pid = Annotated[int, Field(ge=1, le=PID_MAX)]
# argv and env values reach execve only (never a control file): every byte but NUL.
ARG_MAX_BYTES = 128 * 1024  # the kernel's MAX_ARG_STRLEN: a longer string fails execve
LAUNCH_MAX_BYTES = 1 << 20  # argv + env together (the kernel allows a quarter of the stack)
ArgText = Annotated[str, Field(pattern=r"^[^\x00]*$", max_length=ARG_MAX_BYTES)]
EnvName = Annotated[str, Field(pattern=r"^[^\x00=]+$", max_length=4096)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Budget(StrictModel):
    """Rate and size limits of one session."""

    max_events_per_s: Count | None = None
    max_bytes: Count | None = None
    on_exceed: Literal["stop", "sample"] = "stop"


class CommonSpec(StrictModel):
    duration_s: float | None = Field(
        default=None,
        gt=0,
        le=DURATION_MAX_S,
        allow_inf_nan=False,
        description="stop after this many seconds",
    )
    max_events: Count | None = Field(default=None, description="stop after this many events")
    budget: Budget | None = None


class LaunchSpec(StrictModel):
    """A command the session launches (tracefs, ptrace). stdin is /dev/null; stdout and
    stderr come back as `stdout`/`stderr` events."""

    command: list[ArgText] | None = Field(
        default=None, min_length=1, max_length=65536, description="argv: any byte but NUL"
    )
    cwd: SafeText | None = None
    env: dict[EnvName, ArgText] | None = Field(
        default=None,
        max_length=65536,
        description="explicit environment (values: any byte but NUL); default a minimal PATH/LANG",
    )
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")] | None = Field(
        default=None, description="run the command as this user (required for operators)"
    )

    @model_validator(mode="after")
    def _launch_size(self) -> LaunchSpec:
        strings = [*(self.command or ()), *(f"{k}={v}" for k, v in (self.env or {}).items())]
        sizes = [len(text.encode(errors="surrogatepass")) + 1 for text in strings]
        if any(n > ARG_MAX_BYTES for n in sizes):
            raise ValueError(f"an argv or env string is over {ARG_MAX_BYTES} bytes")
        size = sum(sizes)
        if size > LAUNCH_MAX_BYTES:
            raise ValueError(f"command and env take {size} bytes, over {LAUNCH_MAX_BYTES}")
        return self


class ProbeSpec(StrictModel):
    """A uprobe or kprobe dynamic event created in the session's own group."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Ident
    path: SafeText | None = Field(default=None, description="ELF file (uprobes)")
    symbol: Annotated[str, Field(pattern=r"^[A-Za-z_.$][A-Za-z0-9_.$@]{0,255}$")] | None = None
    offset: int | None = Field(default=None, ge=0, le=INT64_MAX)
    fetchargs: list[Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f ]{1,256}$")]] = Field(
        default_factory=list, max_length=128
    )
    return_: bool = Field(default=False, alias="return")

    @model_validator(mode="after")
    def _symbol_or_offset(self) -> ProbeSpec:
        if self.symbol is None and self.offset is None:
            raise ValueError("give a symbol or an offset")
        return self


class TracefsSpec(CommonSpec, LaunchSpec):
    events: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_*?\[\]]+:[A-Za-z0-9_*?\[\]]+$")]] = (
        Field(default_factory=list, description="subsystem:event, globs allowed")
    )
    filters: dict[str, SafeText] = Field(
        default_factory=dict, description="event -> kernel filter expression"
    )
    pids: list[Pid] = Field(default_factory=list, max_length=4096)
    follow_forks: bool = True
    tracer: Literal["nop", "function", "function_graph"] = "nop"
    functions: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*?]{1,128}$")]] = Field(
        default_factory=list
    )
    graph_functions: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*?]{1,128}$")]] = Field(
        default_factory=list
    )
    max_graph_depth: int | None = Field(default=None, ge=0, le=GRAPH_DEPTH_MAX)
    uprobes: list[ProbeSpec] = Field(default_factory=list)
    kprobes: list[ProbeSpec] = Field(default_factory=list)
    buffer_size_kb: int | None = Field(default=None, ge=4, le=COUNT_MAX)
    clock: Literal["mono", "mono_raw", "boot", "global", "local", "tai", "perf"] = "mono"

    @model_validator(mode="after")
    def _something_to_trace(self) -> TracefsSpec:
        if not (self.events or self.uprobes or self.kprobes or self.tracer != "nop"):
            raise ValueError("give events, uprobes, kprobes or a tracer")
        if self.pids and self.command:
            raise ValueError("give pids or a command, not both")
        for probe in self.uprobes:
            if probe.path is None:
                raise ValueError(f"uprobe {probe.name}: path is required")
        return self


SYSCALL_ITEM = r"^!?\??(%{0,2}[A-Za-z0-9_]{1,64}|/[\x20-\x7e]{1,256})$"
"""strace's `-e trace=` items: name, %class, %%stat, /regex, each with ! and ? prefixes"""


class PtraceSpec(CommonSpec, LaunchSpec):
    pid: Pid | None = None
    syscalls: list[Annotated[str, Field(pattern=SYSCALL_ITEM)]] = Field(
        default_factory=list, description="names and strace classes (%file, %process, ...)"
    )
    follow_forks: bool = False
    string_limit: int = Field(default=32, ge=1, le=65536)
    fd_paths: int = Field(
        default=0, ge=0, le=2, description="strace -y (1: descriptor paths) / -yy (2: details)"
    )
    paths: list[Annotated[str, Field(min_length=1, pattern=r"^[^\x00]*$", max_length=4096)]] = (
        Field(default_factory=list, max_length=256, description="strace -P: only calls on these")
    )
    seccomp: Literal["auto", "on", "off"] = "auto"
    breakpoints: list[Annotated[str, Field(pattern=r"^[A-Za-z_.$][A-Za-z0-9_.$@]{0,255}$")]] = (
        Field(default_factory=list)
    )

    @model_validator(mode="after")
    def _pid_or_command(self) -> PtraceSpec:
        if (self.pid is None) == (self.command is None):
            raise ValueError("give exactly one of pid and command")
        if self.pid is not None and (self.cwd or self.env or self.user):
            raise ValueError("cwd, env and user apply to launched commands only")
        if self.seccomp == "on" and self.command is None:
            raise ValueError("seccomp applies to launched commands only")
        return self


BpfFieldType = Literal["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "str", "bytes"]


class BpfAttach(StrictModel):
    type: Literal[
        "tracepoint",
        "raw_tracepoint",
        "uprobe",
        "uretprobe",
        "perf_event",
        "kprobe",
        "kretprobe",
        "fentry",
    ]
    target: Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,512}$")]
    fn: Ident


class BpfOutputField(StrictModel):
    name: Ident
    type: BpfFieldType
    size: int | None = Field(default=None, ge=1, le=4096, description="for str and bytes")


class BpfOutput(StrictModel):
    map: Ident
    fields: list[BpfOutputField] = Field(min_length=1)


class BpftraceOptions(StrictModel):
    """How the bpftrace child runs: bpftrace's own options, as `bpftrace` takes them."""

    format: Literal["text", "json"] = Field(
        default="json",
        description="text: stdout byte for byte as bpftrace prints it (events `text`); "
        "json: `-f json` records as typed events (name = record type, field `data`)",
    )
    cwd: SafeText | None = Field(
        default=None, description="bpftrace's working directory (relative uprobe paths, cat)"
    )
    params: list[SafeText] = Field(
        default_factory=list, max_length=64, description="positional parameters $1, $2, ..."
    )
    target_pid: int | None = Field(default=None, ge=1, description="`-p PID`")
    command: SafeText | None = Field(
        default=None, description="`-c CMD`: bpftrace runs CMD (as root) and ends with it"
    )
    helper_errors: int = Field(default=0, ge=0, le=2, description="`-k` (1) or `-kk` (2)")
    verbose: bool = Field(default=False, description="`-v`")
    env: dict[Annotated[str, Field(pattern=r"^BPFTRACE_[A-Z0-9_]{1,64}$")], SafeText] = Field(
        default_factory=dict, description="BPFTRACE_* environment variables"
    )


class BpfSpec(CommonSpec):
    tool: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    program: Annotated[str, Field(max_length=1_000_000)] | None = None
    attach: list[BpfAttach] = Field(default_factory=list)
    output: BpfOutput | None = None
    bpftrace: Annotated[str, Field(max_length=1_000_000)] | None = None
    bpftrace_options: BpftraceOptions | None = None
    pid: Pid | None = None
    comm: Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,15}$")] | None = None
    map_interval_s: float | None = Field(
        default=None, ge=MAP_INTERVAL_MIN_S, le=DURATION_MAX_S, allow_inf_nan=False
    )

    @field_validator("args")
    @classmethod
    def _bounded_args(cls, args: dict[str, Any]) -> dict[str, Any]:
        _check_bounded(args, "args")
        return args

    @model_validator(mode="after")
    def _exactly_one_source(self) -> BpfSpec:
        given = [n for n in ("tool", "program", "bpftrace") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of tool, program, bpftrace")
        if self.program is not None and not self.attach:
            raise ValueError("a program needs an attach list")
        if self.bpftrace is None and self.bpftrace_options is not None:
            raise ValueError("bpftrace_options apply to bpftrace scripts only")
        if self.program is None and (self.attach or self.output):
            raise ValueError("attach and output apply to programs only")
        return self


def _check_bounded(value: Any, where: str, depth: int = 0) -> None:
    """Every number in free-form JSON (tool args) is a signed 64-bit int or a finite float."""
    if depth > 8:
        raise ValueError(f"{where}: nested too deeply")
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"{where}: {value} is out of the signed 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: numbers must be finite")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_bounded(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_bounded(item, f"{where}[{i}]", depth + 1)


class PacketSpec(CommonSpec):
    """A packet capture (engines/packet): an AF_PACKET socket with a tcpdump filter."""

    interface: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@-]{1,15}$")] = Field(
        default="any", description="a host interface, or `any`"
    )
    filter: Annotated[str, Field(max_length=4096, pattern=r"^[^\x00]*$")] = Field(
        default="", description="a tcpdump/pcap filter expression (compiled by libpcap)"
    )
    snaplen: int = Field(default=262144, ge=1, le=262144, description="bytes kept per packet")
    promiscuous: bool = Field(default=False, description="as tcpdump without -p")
    direction: Literal["inout", "in", "out"] = "inout"
    buffer_size_kb: int = Field(default=4096, ge=64, le=1 << 20, description="the ring's size")


AnySpec = TracefsSpec | PtraceSpec | BpfSpec | PacketSpec
"""A validated session spec: the type that travels from the API through the manager to the
engine in the worker."""

SPEC_BY_KIND: dict[str, type[TracefsSpec] | type[PtraceSpec] | type[BpfSpec] | type[PacketSpec]] = {
    "tracefs": TracefsSpec,
    "ptrace": PtraceSpec,
    "bpf": BpfSpec,
    "packet": PacketSpec,
}


def spec_json(spec: AnySpec) -> dict[str, Any]:
    """The spec as the client gave it (fields left unset are left out): what the session's
    row stores, its view shows and the worker receives."""
    return spec.model_dump(mode="json", by_alias=True, exclude_unset=True)


def load_spec(kind: str, data: Mapping[str, Any]) -> AnySpec:
    """The spec of `kind` back from its JSON (a stored row, the worker's `prepare`)."""
    return SPEC_BY_KIND[kind].model_validate(data)
