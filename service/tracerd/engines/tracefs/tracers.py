"""The `function` and `function_graph` tracers of a tracefs session.

Mechanism: the tracer runs in the session's instance where the kernel allows it (caps
`where: "instance"`; `function` on 6.1), else at the top level (`where: "top_level"`:
`function_graph` on 6.1, whose instances refuse it and have no `set_graph_function`).
- `functions` -> `set_ftrace_filter`, `graph_functions` -> `set_graph_function`,
  `max_graph_depth` -> `max_graph_depth`, pids -> `set_ftrace_pid` (+ `options/function-fork`
  under follow_forks), the daemon's and workers' threads -> `set_ftrace_notrace_pid`;
- `current_tracer` is written last in prepare (the kernel refuses to change it while a
  reader holds the buffer's trace_pipe_raw: EBUSY) with tracing off in that buffer, and set
  back to `nop` after the readers drained and closed at stop (switching resets the buffer);
- at the top level every file is changed through `TopLevel` (ledger rows with previous and
  written values, undone at stop and at recovery, toplevel.py). The top level is exclusive:
  the daemon lets one session hold it (sessions/manager.py: 409 naming the holder) and this
  module refuses a top level whose `current_tracer` is not `nop` (someone else traces
  there). The top-level `trace_clock` is set to the session's clock, so that the tracer's
  records (in the top-level buffer: `buffer_dir`) and the instance's events share one
  time line; its `tracing_on` is off from prepare to start and while the readers drain.

Records are `ftrace:function` (ip, parent_ip) and `ftrace:funcgraph_entry`/`_exit` (func,
depth; calltime, rettime, overrun); kallsyms.py adds the names.
Caveats: a function list that matches nothing is refused by the kernel with EINVAL and no
error_log entry; the refusal names close candidates from `available_filter_functions`
(`__x64_sys_*` are aliases that 6.1 does not list: `__do_sys_*` is). An unfiltered
function_graph patches every traceable function (about 40,000; seconds under TCG).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from ...errors import BadRequest, KernelRejected, ResourceBusy
from ...kernel.tracefs import Instance, Tracefs, os_error_text, read_file, write_file
from ...specs import AnySpec, TracefsSpec
from ..base import Ledger
from .toplevel import TopLevel, write_setting

log = logging.getLogger(__name__)

TRACER_EVENTS: dict[str, tuple[str, ...]] = {
    "function": ("ftrace:function",),
    "function_graph": ("ftrace:funcgraph_entry", "ftrace:funcgraph_exit"),
}
MAX_HINTS = 5
_ALIAS_PREFIX_RE = re.compile(r"^_*(?:x64_|ia32_|x32_|se_|do_)?")


def tracer_where(tracer: str, caps: Mapping[str, Any]) -> str | None:
    """ "instance", "top_level", or None (nop, or not usable)."""
    if tracer == "nop":
        return None
    feature = caps.get("tracefs", {}).get(tracer, {})
    return feature.get("where") if feature.get("usable") else None


def needs_top_level(spec: AnySpec, caps: Mapping[str, Any]) -> TypeGuard[TracefsSpec]:
    """Does a session of this spec take the top level (a tracefs tracer that runs only there)?"""
    return isinstance(spec, TracefsSpec) and tracer_where(spec.tracer, caps) == "top_level"


def filter_hints(root: Path, names: Sequence[str]) -> list[str]:
    """Functions of `available_filter_functions` containing the core of a refused name."""
    cores = {_ALIAS_PREFIX_RE.sub("", n.strip("*?")) for n in names} - {""}
    hints: list[str] = []
    with contextlib.suppress(OSError):
        for line in Tracefs(root).lines("available_filter_functions"):
            name = line.split(" ", 1)[0].strip()
            if any(core in name for core in cores) and name not in hints:
                hints.append(name)
                if len(hints) >= MAX_HINTS:
                    break
    return hints


class TracerSetup:
    """One session's tracer: where it runs, its filters, its start and its undoing."""

    def __init__(
        self,
        fs: Tracefs,
        instance: Instance,
        spec: TracefsSpec,
        caps: Mapping[str, Any],
        ledger: Ledger,
    ) -> None:
        self.fs = fs
        self.spec = spec
        self.tracer = spec.tracer
        self.where = tracer_where(spec.tracer, caps)
        self.top: TopLevel | None = TopLevel(fs.root, ledger) if self.where == "top_level" else None
        self.dir = fs.root if self.top is not None else instance.path
        self.enabled = False

    @property
    def at_top_level(self) -> bool:
        return self.top is not None

    @property
    def buffer_dir(self) -> Path:
        """Where the tracer's records land (the instance, or the tracefs root)."""
        return self.dir

    @property
    def event_names(self) -> tuple[str, ...]:
        """The record formats the reader must decode."""
        return TRACER_EVENTS.get(self.tracer, ())

    # -- prepare ----------------------------------------------------------------------

    def configure(self) -> None:
        """Check the spec and the top level, set clock, filters and depth (no records yet)."""
        self._check_spec()
        if self.top is not None:
            current = self.top.read("current_tracer")
            if current != "nop":
                raise ResourceBusy(
                    f"the top-level tracer is {current}, set outside this session: "
                    f"{self.tracer} runs only at the top level on this kernel",
                    {"resource": "tracefs top level", "current_tracer": current},
                )
            self._set("tracing_on", "0")  # on again at start: records only from then
            self._set("trace_clock", self.spec.clock)
            if self.spec.buffer_size_kb is not None:
                self._set("buffer_size_kb", str(self.spec.buffer_size_kb))
        if self.spec.functions:
            self._set("set_ftrace_filter", " ".join(self.spec.functions))
        if self.spec.graph_functions:
            self._require_file("set_graph_function")
            self._set("set_graph_function", " ".join(self.spec.graph_functions))
        if self.spec.max_graph_depth is not None:
            self._require_file("max_graph_depth")
            self._set("max_graph_depth", str(self.spec.max_graph_depth))

    def _check_spec(self) -> None:
        spec = self.spec
        if spec.functions and spec.tracer == "nop":
            raise BadRequest("functions apply to the function and function_graph tracers")
        if (spec.graph_functions or spec.max_graph_depth is not None) and (
            spec.tracer != "function_graph"
        ):
            raise BadRequest("graph_functions and max_graph_depth apply to function_graph")

    def _require_file(self, file: str) -> None:
        if not (self.dir / file).exists():
            where = "the top level" if self.top is not None else "a tracefs instance"
            raise KernelRejected(
                f"this kernel has no {file} in {where}", {"file": file, "where": self.where}
            )

    def exclude(self, tids: Sequence[int]) -> None:
        """Never trace the daemon's and workers' threads."""
        if tids and (self.dir / "set_ftrace_notrace_pid").exists():
            self._set("set_ftrace_notrace_pid", " ".join(str(t) for t in tids))

    def set_pids(self, pids: Sequence[int], follow: bool) -> None:
        """Trace only these pids (and, with `follow`, their descendants)."""
        if (self.dir / "options/function-fork").exists():
            self._set("options/function-fork", "1" if follow else "0")
        self._set("set_ftrace_pid", " ".join(str(p) for p in pids))

    # -- start / stop -------------------------------------------------------------------

    def enable(self) -> None:
        """Set the tracer, last in prepare: the kernel refuses to change it (EBUSY) while a
        reader has the buffer's trace_pipe_raw open. Its buffer still has tracing off."""
        self._set("current_tracer", self.tracer)
        self.enabled = True

    def start(self) -> None:
        """Records from now on (the instance's own tracing_on is the engine's)."""
        if self.top is not None:
            self._set("tracing_on", "1")

    def pause(self) -> None:
        """Stop new records before the readers drain (the buffer keeps what it has)."""
        if self.top is not None and self.enabled:
            with contextlib.suppress(OSError, KernelRejected):
                self._set("tracing_on", "0")

    def release(self) -> None:
        """After the drain: tracer back to nop, every top-level change undone. Idempotent."""
        if self.top is not None:
            self.top.restore(first="current_tracer")
        elif self.enabled and self.dir.is_dir():
            with contextlib.suppress(OSError):
                write_file(self.dir / "current_tracer", "nop")
        self.enabled = False

    # -- writes -------------------------------------------------------------------------

    def _set(self, file: str, value: str) -> None:
        self._clear_error_log()
        try:
            if self.top is not None:
                self.top.set(file, value)
            else:
                write_setting(self.dir, file, value)
        except OSError as exc:
            raise self._refusal(file, value, exc) from exc

    def _clear_error_log(self) -> None:
        with contextlib.suppress(OSError):
            write_file(self.dir / "error_log", "")

    def _refusal(self, file: str, value: str, exc: OSError) -> KernelRejected:
        logged = ""
        with contextlib.suppress(OSError):
            logged = read_file(self.dir / "error_log").strip()
        text = logged or os_error_text(exc)
        detail: dict[str, Any] = {"file": file, "value": value, "error_log": text}
        message = f"the kernel refused {value!r} in {file}: {text}"
        if file in ("set_ftrace_filter", "set_graph_function"):
            hints = filter_hints(self.fs.root, value.split())
            detail["close_matches"] = hints
            message += " (not in available_filter_functions"
            message += f"; did you mean {', '.join(hints)}?)" if hints else ")"
        return KernelRejected(message, detail)
