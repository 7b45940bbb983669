"""Wire models of the HTTP API (what openapi.yaml describes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..specs import BpfSpec, PacketSpec, PtraceSpec, TracefsSpec


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Model):
    code: str
    message: str
    detail: Any = None


class ErrorOut(Model):
    error: ErrorBody


class Health(Model):
    status: Literal["ok"] = "ok"
    version: str
    daemon_id: str
    uptime_s: float


class _CreateBase(Model):
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    start: bool = True


class TracefsCreate(_CreateBase):
    kind: Literal["tracefs"]
    spec: TracefsSpec


class PtraceCreate(_CreateBase):
    kind: Literal["ptrace"]
    spec: PtraceSpec


class BpfCreate(_CreateBase):
    kind: Literal["bpf"]
    spec: BpfSpec


class PacketCreate(_CreateBase):
    kind: Literal["packet"]
    spec: PacketSpec


SessionCreate = Annotated[
    TracefsCreate | PtraceCreate | BpfCreate | PacketCreate, Field(discriminator="kind")
]


class LostCounters(BaseModel):
    kernel: int = 0
    bpf: int = 0
    storage: int = 0
    subscriber: int = 0
    budget: int = 0


class Counters(BaseModel):
    events: int
    stored: int
    lost: LostCounters


class Resource(BaseModel):
    type: str
    name: str


class SessionOut(BaseModel):
    id: str
    kind: Literal["tracefs", "ptrace", "bpf", "packet"]
    name: str | None
    owner: str | None = Field(default=None, description="the id of the token that created it")
    state: Literal["created", "starting", "running", "stopping", "stopped", "failed", "interrupted"]
    spec: dict[str, Any]
    created_at: str
    started_at: str | None
    stopped_at: str | None
    reason: str | None
    exit_status: dict[str, Any] | None = Field(
        description='{"code": int|null, "signal": str|null} of a launched command'
    )
    clock: str
    wall_offset_ns: int
    counters: Counters
    resources: list[Resource]
    info: dict[str, Any]
    stored_bytes: int


class SessionList(BaseModel):
    sessions: list[SessionOut]


class EventOut(BaseModel):
    seq: int
    ts_ns: int
    cpu: int | None
    pid: int | None
    tid: int | None
    comm: str | None
    name: str
    fields: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    next_cursor: str | None


class MarkerIn(Model):
    text: Annotated[str, Field(min_length=1, max_length=4096)]


class MapsOut(BaseModel):
    ts_ns: int | None
    maps: dict[str, Any]
    live: bool


class FieldOut(BaseModel):
    name: str
    type: str
    offset: int
    size: int
    signed: bool
    array_len: int | None
    data_loc: bool
    rel_loc: bool
    common: bool


class TracepointOut(BaseModel):
    name: str
    system: str
    event: str


class TracepointList(BaseModel):
    tracepoints: list[TracepointOut]


class TracepointDetail(BaseModel):
    name: str
    system: str
    event: str
    id: int
    fields: list[FieldOut]
    print_fmt: str


class ProcessOut(BaseModel):
    pid: int
    ppid: int
    comm: str
    user: str
    state: str
    tracer_pid: int
    cmdline: str


class ProcessList(BaseModel):
    processes: list[ProcessOut]


class TokenCreateIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
    role: Literal["viewer", "operator", "admin"]


class TokenOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; store it")


class TokenList(BaseModel):
    tokens: list[TokenOut]


class BpfToolParam(BaseModel):
    name: str
    type: str
    default: Any = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] | None = None


class BpfToolField(BaseModel):
    name: str
    type: str
    description: str = ""


class BpfTool(BaseModel):
    name: str
    summary: str
    mirrors: str | None = None
    params: list[BpfToolParam]
    fields: list[BpfToolField]
    maps: list[Any]
    events: bool
    default_map_interval_s: float | None = None


class BpfToolList(BaseModel):
    tools: list[BpfTool]


class PacketProgram(BaseModel):
    filter: str
    linktype: str
    snaplen: int
    instructions: int
    d: str = Field(description="as `tcpdump -d` prints it")
    dd: str = Field(description="as `tcpdump -dd` prints it")
    ddd: str = Field(description="as `tcpdump -ddd` prints it")
