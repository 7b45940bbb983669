"""Report models: what the report routes return (openapi.yaml describes them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Source = Literal["rollups", "events", "maps", "none"]


class Scope(BaseModel):
    """What a report covers and where it was computed from."""

    session_id: str
    kind: str
    since_ns: int | None = None
    until_ns: int | None = None
    pids: list[int] = Field(default_factory=list)
    comms: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    source: Source = Field(
        description="rollups kept at ingest, the events table, a bpf map snapshot, or none"
    )


class NameCount(BaseModel):
    name: str
    count: int
    percent: float


class PidCount(BaseModel):
    pid: int | None
    comm: str | None
    count: int


class CommCount(BaseModel):
    comm: str | None
    count: int


class Rate(BaseModel):
    """Events per bucket from `start_ns` (all names; lost records excluded)."""

    start_ns: int | None
    bucket_ns: int
    counts: list[int]


class Summary(BaseModel):
    scope: Scope
    name: str | None
    state: str
    duration_s: float | None = Field(description="from start to stop (wall clock)")
    first_ts_ns: int | None
    last_ts_ns: int | None
    span_s: float | None = Field(description="from the first to the last stored event")
    events: int = Field(description="stored events, lost records excluded")
    lost: dict[str, int] = Field(description="in-band `lost` records: events missing, by source")
    lost_counters: dict[str, int] = Field(description="the session's loss counters, by source")
    names: list[NameCount]
    top_pids: list[PidCount]
    top_comms: list[CommCount]
    rate: Rate


class SyscallRow(BaseModel):
    """One line of `strace -c -w`: wall-clock time in the call (null when not measured)."""

    syscall: str
    calls: int
    errors: int | None
    seconds: float | None
    usecs_per_call: int | None
    max_seconds: float | None
    percent_time: float | None


class SyscallsReport(BaseModel):
    scope: Scope
    rows: list[SyscallRow] = Field(description="sorted like strace: by time, then calls, name")
    total: SyscallRow
    note: str | None = None


class Bucket(BaseModel):
    low: float
    high: float
    count: int


class Percentiles(BaseModel):
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


class LatencyReport(BaseModel):
    scope: Scope
    field: str
    unit: str | None
    count: int
    min: float | None
    max: float | None
    mean: float | None
    percentiles: Percentiles
    approximate: bool = Field(
        description="percentiles (and linear buckets) from a log-linear histogram (±1.6 %)"
    )
    log2: list[Bucket] = Field(description="BCC-style power-of-two buckets [2^(i-1), 2^i - 1]")
    linear: list[Bucket]
    linear_width: float | None
    negative: int = Field(description="values below zero (not in the buckets)")


class TimelineBucket(BaseModel):
    start_ns: int
    total: int
    counts: dict[str, int]


class TimelineReport(BaseModel):
    scope: Scope
    start_ns: int | None
    bucket_ns: int
    names: list[str] = Field(description="names by count; the rest are summed as `(other)`")
    buckets: list[TimelineBucket]


class TopRow(BaseModel):
    value: Any
    count: int
    percent: float


class TopReport(BaseModel):
    scope: Scope
    field: str
    total: int
    rows: list[TopRow]
    other: int = Field(description="events with other values than the rows shown")


class SchedTask(BaseModel):
    tid: int
    comm: str | None
    oncpu_ns: int
    switches: int
    preempted: int = Field(description="switched out while still runnable")
    wait_ns: int = Field(description="runnable but waiting for a CPU (after wake-up/preemption)")
    waits: int
    wait_avg_ns: int | None
    wait_max_ns: int


class SchedReport(BaseModel):
    scope: Scope
    tasks: list[SchedTask] = Field(description="by on-CPU time; tid 0 is the idle task")
    oncpu_ns: int
    wait_ns: int
