"""Session specs: the contract clients write against (design.md "Session specs").

Pure pydantic models, shared by the API (validation, OpenAPI) and the workers (which
receive the validated spec as JSON). No I/O, no kernel access here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# C-identifier rules: group and event names reject '-' and '.' on some kernels.
IDENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
Ident = Annotated[str, Field(pattern=IDENT_PATTERN)]
# No control characters (a newline in a tracefs control file starts a new command).
SafeText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=4096)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Budget(StrictModel):
    """Rate and size limits of one session."""

    max_events_per_s: int | None = Field(default=None, ge=1)
    max_bytes: int | None = Field(default=None, ge=1)
    on_exceed: Literal["stop", "sample"] = "stop"


class CommonSpec(StrictModel):
    duration_s: float | None = Field(default=None, gt=0, description="stop after this many seconds")
    max_events: int | None = Field(default=None, ge=1, description="stop after this many events")
    budget: Budget | None = None


class LaunchSpec(StrictModel):
    """A command the session launches (tracefs, ptrace). stdin is /dev/null; stdout and
    stderr come back as `stdout`/`stderr` events."""

    command: list[SafeText] | None = Field(default=None, min_length=1)
    cwd: SafeText | None = None
    env: dict[SafeText, SafeText] | None = Field(
        default=None, description="explicit environment; default a minimal PATH/LANG"
    )
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")] | None = Field(
        default=None, description="run the command as this user (required for operators)"
    )


class ProbeSpec(StrictModel):
    """A uprobe or kprobe dynamic event created in the session's own group."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Ident
    path: SafeText | None = Field(default=None, description="ELF file (uprobes)")
    symbol: Annotated[str, Field(pattern=r"^[A-Za-z_.$][A-Za-z0-9_.$@]{0,255}$")] | None = None
    offset: int | None = Field(default=None, ge=0)
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
    pids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    follow_forks: bool = True
    tracer: Literal["nop", "function", "function_graph"] = "nop"
    functions: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*?]{1,128}$")]] = Field(
        default_factory=list
    )
    graph_functions: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*?]{1,128}$")]] = Field(
        default_factory=list
    )
    max_graph_depth: int | None = Field(default=None, ge=0)
    uprobes: list[ProbeSpec] = Field(default_factory=list)
    kprobes: list[ProbeSpec] = Field(default_factory=list)
    buffer_size_kb: int | None = Field(default=None, ge=4)
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


class PtraceSpec(CommonSpec, LaunchSpec):
    pid: int | None = Field(default=None, ge=1)
    syscalls: list[Annotated[str, Field(pattern=r"^[%!]?[A-Za-z0-9_]{1,64}$")]] = Field(
        default_factory=list, description="names and strace classes (%file, %process, ...)"
    )
    follow_forks: bool = False
    string_limit: int = Field(default=32, ge=1, le=65536)
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


class BpfSpec(CommonSpec):
    tool: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    program: Annotated[str, Field(max_length=1_000_000)] | None = None
    attach: list[BpfAttach] = Field(default_factory=list)
    output: BpfOutput | None = None
    bpftrace: Annotated[str, Field(max_length=1_000_000)] | None = None
    pid: int | None = Field(default=None, ge=1)
    comm: Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,15}$")] | None = None
    map_interval_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> BpfSpec:
        given = [n for n in ("tool", "program", "bpftrace") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of tool, program, bpftrace")
        if self.program is not None and not self.attach:
            raise ValueError("a program needs an attach list")
        if self.program is None and (self.attach or self.output):
            raise ValueError("attach and output apply to programs only")
        return self


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

SPEC_BY_KIND: dict[str, type[CommonSpec]] = {
    "tracefs": TracefsSpec,
    "ptrace": PtraceSpec,
    "bpf": BpfSpec,
    "packet": PacketSpec,
}
