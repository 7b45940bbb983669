"""Program text for BPF sessions: catalogue tools and custom BCC programs (pure functions).

`render_tool` = generated #defines (daemon exclusion, pid/comm filters, tool parameters,
BTF offsets) + `struct tracerd_event` and map key/value structs generated from the same
field lists the decoder uses + programs/common.bpf.c + the tool's programs/<tool>.bpf.c.

`render_custom` wraps an admin's program: the same preamble (no event struct), then
`#line 1 "program.c"` so clang's diagnostics point at the user's lines, then the text with
two rewrites: `if (tracerd_skip_current()) return 0;` injected at the top of every function
that is attached (the `attach` list and BCC's auto-attached TRACEPOINT_PROBE & co.) so the
daemon and its workers are never traced, and every `X.ringbuf_reserve(...)` /
`X.ringbuf_output(...)` wrapped to count failures in `tracerd_lost`. A function whose
definition is not found is reported in the plan's notes (it then runs unfiltered).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from ...errors import SpecError
from ...kernel.btf import Member, offset_macro
from ...specs import BpfSpec
from .decode import c_struct
from .plan import HEADER_FIELDS, AttachSpec, FieldSpec, MapSpec, ProgramPlan
from .tools.meta import get_tool, resolve_args
from .tools.spec import ToolDef, ToolVariant

DEFAULT_MAP_INTERVAL_S = 1.0
UPROBES = ("uprobe", "uretprobe")

SKIP_STMT = " if (tracerd_skip_current()) return 0; "
_AUTO_MACRO = re.compile(
    r"\b(?:TRACEPOINT_PROBE|RAW_TRACEPOINT_PROBE|KFUNC_PROBE|"
    r"KRETFUNC_PROBE)\s*\("
)
_AUTO_FN = re.compile(r"\b(?:kprobe__|kretprobe__|tracepoint__|raw_tracepoint__)\w+\s*\(")
_RINGBUF_CALL = re.compile(r"\b\w+\s*\.\s*ringbuf_(reserve|output)\s*\(")
_HISTOGRAM = re.compile(r"\bBPF_HISTOGRAM\s*\(\s*(\w+)")


@dataclass(frozen=True, slots=True)
class Filters:
    """What every generated program filters on, in the kernel (tgid check first)."""

    exclude: tuple[int, ...]
    pid: int | None = None
    comm: str | None = None
    starts: tuple[tuple[int, int], ...] = ()
    """(pid, start time in clock ticks) of excluded processes whose start is known"""
    start_check: tuple[int, int, int] | None = None
    """(offset of task_struct.group_leader, of task_struct.start_boottime, ns per tick):
    with it, the current task is excluded only if its start time matches too"""

    def defines(self) -> list[str]:
        pids = sorted({int(p) for p in self.exclude})
        cond = " || ".join(f"(t) == {p}" for p in pids) or "0"
        lines = [f"#define TRACERD_EXCLUDED(t) ({cond})"]
        if self.start_check is not None:
            known = dict(self.starts)
            at = " || ".join(
                f"((t) == {p} && (s) == {known[p]})" if p in known else f"(t) == {p}" for p in pids
            )
            leader, start, tick = self.start_check
            lines += [
                f"#define TRACERD_EXCLUDED_AT(t, s) ({at or '0'})",
                f"#define TRACERD_LEADER_OFF {int(leader)}",
                f"#define TRACERD_START_OFF {int(start)}",
                f"#define TRACERD_TICK_NS {int(tick)}ULL",
            ]
        if self.pid is not None:
            lines.append(f"#define TRACERD_PID {int(self.pid)}")
        if self.comm is not None:
            raw = self.comm.encode()[:15]
            lines.append("#define TRACERD_COMM_BYTES {" + ", ".join(map(str, raw)) + ", 0}")
        filtered = int(self.pid is not None or self.comm is not None)
        lines.append(f"#define TRACERD_FILTERED {filtered}")
        return lines


def program_source(name: str) -> str:
    return resources.files(__package__).joinpath("programs").joinpath(name).read_text()


def _define_args(args: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, value in sorted(args.items()):
        macro = f"TRACERD_ARG_{name.upper()}"
        if value is True:
            lines.append(f"#define {macro} 1")
        elif isinstance(value, int) and not isinstance(value, bool):
            lines.append(f"#define {macro} {int(value)}")
    return lines


def map_structs(maps: tuple[MapSpec, ...]) -> list[str]:
    out = []
    for spec in maps:
        if spec.key:
            key = (*spec.key, FieldSpec("slot", "u64")) if spec.kind == "hist" else spec.key
            out.append(c_struct(f"{spec.name}_key", key))
        if spec.kind != "hist":
            out.append(c_struct(f"{spec.name}_value", spec.value))
    return out


def render_tool(
    tool: ToolDef,
    args: Mapping[str, Any],
    filters: Filters,
    offsets: Mapping[str, Member],
    ringbuf_pages: int | None = None,
    variant: ToolVariant | None = None,
) -> ProgramPlan:
    """The program plan of catalogue tool `tool` with resolved `args`, through `variant`
    (one of `tool.variants`) or else its own `attach` list."""
    record = tool.record(args) if tool.record else ()
    maps = tool.maps(args)
    pages = ringbuf_pages or tool.ringbuf_pages
    lines = ["/* generated by tracerd */", *filters.defines(), *_define_args(args)]
    lines += [f"#define {k} {v}" for k, v in sorted(tool.defines(args).items())]
    if variant is not None:
        lines.append(f"#define {variant.define} 1")
    lines += [f"#define {offset_macro(name)} {m.offset}" for name, m in sorted(offsets.items())]
    if record:
        lines += [
            "#define TRACERD_EVENTS 1",
            f"#define TRACERD_RINGBUF_PAGES {pages}",
            c_struct("tracerd_event", (*HEADER_FIELDS, *record)),
        ]
    lines += map_structs(maps)
    text = "\n".join(lines) + "\n" + program_source("common.bpf.c")
    text += f'\n#line 1 "{tool.program}"\n' + program_source(tool.program)
    attach = tuple(
        AttachSpec(
            a.type,
            a.target.format(**dict(args)),
            a.fn,
            pid=filters.pid if a.type in ("uprobe", "uretprobe") and filters.pid else -1,
            optional=a.optional,
        )
        for a in (variant.attach if variant else tool.attach)
        if a.wanted(args)
    )
    return ProgramPlan(
        name=tool.name,
        text=text,
        attach=attach,
        record=record,
        header=True,
        output_map="events" if record else None,
        maps=maps,
        map_interval_s=tool.map_interval_s if maps else None,
        tool=tool.name,
        promote=dict(tool.promote),
        attach_mode=variant.kind if variant else tool.base_attach,
    )


def render_custom(
    program: str,
    attach: tuple[AttachSpec, ...],
    filters: Filters,
    output_map: str | None,
    fields: tuple[FieldSpec, ...],
    map_interval_s: float | None,
) -> ProgramPlan:
    """The plan of an admin's BCC program (see the module docstring for the rewrites)."""
    fns = sorted({a.fn for a in attach})
    text, missing = inject_skip(program, fns)
    text = count_ringbuf_failures(text)
    preamble = ["/* generated by tracerd */", *filters.defines()]
    full = (
        "\n".join(preamble)
        + "\n"
        + program_source("common.bpf.c")
        + '\n#line 1 "program.c"\n'
        + text
    )
    notes = tuple(f"function {fn} not found: not filtered in the kernel" for fn in missing)
    promote = {k: k for k in ("ret", "dur_ns") if any(f.name == k for f in fields)}
    return ProgramPlan(
        name=output_map or "program",
        text=full,
        attach=attach,
        record=fields,
        header=False,
        output_map=output_map,
        maps=(),
        map_interval_s=map_interval_s,
        tool=None,
        promote=promote,
        generic_maps=True,
        notes=notes,
        hist_maps=tuple(_HISTOGRAM.findall(program)),
    )


def _matching_paren(text: str, open_at: int) -> int:
    """Index just after the `)` that closes the `(` at `open_at` (-1 if unbalanced)."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _body_start(text: str, paren_at: int) -> int:
    """Index after the `{` of a definition whose parameter list opens at `paren_at`."""
    end = _matching_paren(text, paren_at)
    if end < 0:
        return -1
    rest = text[end:]
    stripped = rest.lstrip()
    return end + (len(rest) - len(stripped)) + 1 if stripped.startswith("{") else -1


def inject_skip(text: str, fns: list[str]) -> tuple[str, list[str]]:
    """Insert SKIP_STMT at the top of each definition of `fns` and of auto-attached
    functions; returns the new text and the names whose definition was not found."""
    positions: set[int] = set()
    missing = []
    for fn in fns:
        found = [
            _body_start(text, m.end() - 1) for m in re.finditer(rf"\b{re.escape(fn)}\s*\(", text)
        ]
        found = [p for p in found if p > 0]
        if found:
            positions.update(found)
        elif not fn.startswith(("kfunc__", "kretfunc__")):
            missing.append(fn)
    for pattern in (_AUTO_MACRO, _AUTO_FN):
        for m in pattern.finditer(text):
            start = _body_start(text, m.end() - 1)
            if start > 0:
                positions.add(start)
    for pos in sorted(positions, reverse=True):
        text = text[:pos] + SKIP_STMT + text[pos:]
    return text, missing


def count_ringbuf_failures(text: str) -> str:
    """Wrap `X.ringbuf_reserve(...)` in tracerd_counted() and `X.ringbuf_output(...)` in
    tracerd_counted_rc(), so failed reservations are counted in tracerd_lost."""
    out, pos = [], 0
    for m in _RINGBUF_CALL.finditer(text):
        if m.start() < pos:
            continue
        end = _matching_paren(text, m.end() - 1)
        if end < 0:
            continue
        wrapper = "tracerd_counted" if m.group(1) == "reserve" else "tracerd_counted_rc"
        out += [text[pos : m.start()], f"{wrapper}(", text[m.start() : end], ")"]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _ringbuf_pages(wanted: int, memory_bytes: int) -> int:
    """Largest power of two <= min(wanted, memory cap in pages), at least 1."""
    cap = max(1, min(wanted, memory_bytes // 4096))
    return 1 << (cap.bit_length() - 1)


def plan_for_spec(
    spec: BpfSpec,
    filters: Filters,
    memory_bytes: int,
    btf_offsets: Callable[[tuple[str, ...]], Mapping[str, Member]],
    variant: str | None = None,
) -> ProgramPlan:
    """The ProgramPlan of a `tool` or `program` session spec; a tool's through its variant
    named `variant` (`fentry`, `kprobe`; variants.py chooses), else its own attachments."""
    if spec.tool is not None:
        tool = get_tool(spec.tool)
        args = resolve_args(tool, spec.args)
        plan = render_tool(
            tool,
            args,
            filters,
            btf_offsets(tool.btf) if tool.btf else {},
            _ringbuf_pages(tool.ringbuf_pages, memory_bytes),
            tool.variant(variant) if variant else None,
        )
        if spec.map_interval_s is not None and plan.maps:
            plan = replace(plan, map_interval_s=spec.map_interval_s)
        return plan
    if spec.program is None:
        raise SpecError("give a tool or a program")
    attach = tuple(
        AttachSpec(a.type, a.target, a.fn, pid=spec.pid if spec.pid and a.type in UPROBES else -1)
        for a in spec.attach
    )
    fields: tuple[FieldSpec, ...] = ()
    if spec.output is not None:
        for f in spec.output.fields:
            if f.type in ("str", "bytes") and not f.size:
                raise SpecError(f"output field {f.name}: {f.type} needs a size")
        fields = tuple(FieldSpec(f.name, f.type, f.size or 0) for f in spec.output.fields)
    interval = spec.map_interval_s
    if interval is None and _HISTOGRAM.search(spec.program):
        interval = DEFAULT_MAP_INTERVAL_S
    return render_custom(
        spec.program, attach, filters, spec.output.map if spec.output else None, fields, interval
    )
