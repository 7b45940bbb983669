"""Types of the BPF tool catalogue: a tool's parameters, output fields, program and maps.

A `ToolDef` is pure data (plus small functions of the resolved arguments for the parts
that depend on them); `codegen.render_tool` turns one into a ProgramPlan. No bcc here: the
daemon imports the catalogue to serve GET /v1/bpf/tools.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..plan import AttachType, FieldSpec, MapSpec

Args = Mapping[str, Any]
PATH_PATTERN = r"^(/[^\x00-\x1f\x7f:]{1,255}|[A-Za-z0-9_.+-]{1,64})$"
"""an absolute path, or a library name as BCC resolves it (`c`, `pthread`)"""
SYMBOL_PATTERN = r"^[A-Za-z_.$][A-Za-z0-9_.$@]{0,255}$"


@dataclass(frozen=True, slots=True)
class ParamMeta:
    """One tool parameter (`args` of the session spec)."""

    name: str
    type: Literal["bool", "int", "str"]
    default: bool | int | str | None
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "description": self.doc,
        }
        for key in ("minimum", "maximum", "pattern"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class OutField:
    """One field of the tool's events, as clients see it (after the tool's hook)."""

    name: str
    type: str
    doc: str

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "description": self.doc}


@dataclass(frozen=True, slots=True)
class ToolAttach:
    """An attachment; `target` may hold `{param}` placeholders. `when` names a bool
    parameter that must be true (`!name`: false) for the attachment to be made."""

    type: AttachType
    target: str
    fn: str
    when: str = ""
    optional: bool = False

    def wanted(self, args: Args) -> bool:
        if not self.when:
            return True
        negate = self.when.startswith("!")
        return bool(args.get(self.when.lstrip("!"))) != negate


VariantKind = Literal["fentry", "kprobe"]


@dataclass(frozen=True, slots=True)
class ToolVariant:
    """A better way in for a tool, used where the capability probe says `kind` attaches
    (`caps.bpf.<kind>.usable`) and `function` is traceable here; the program sees
    `TRACERD_ATTACH_<KIND>` defined and must emit the same record as with `attach`."""

    kind: VariantKind
    function: str
    """the kernel function the variant's programs attach to"""
    attach: tuple[ToolAttach, ...]

    @property
    def define(self) -> str:
        return f"TRACERD_ATTACH_{self.kind.upper()}"


def no_maps(_args: Args) -> tuple[MapSpec, ...]:
    return ()


def no_defines(_args: Args) -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class ToolDef:
    """One catalogue tool."""

    name: str
    summary: str
    mirrors: str
    """the BCC tool whose output this follows"""
    program: str
    """file under programs/"""
    params: tuple[ParamMeta, ...]
    attach: tuple[ToolAttach, ...]
    fields: tuple[OutField, ...] = ()
    """event fields; empty for tools that only aggregate in maps"""
    record: Callable[[Args], tuple[FieldSpec, ...]] | None = None
    maps: Callable[[Args], tuple[MapSpec, ...]] = no_maps
    map_docs: tuple[tuple[str, str], ...] = ()
    btf: tuple[str, ...] = ()
    """`struct.member` offsets the program needs (alternatives joined by `|`)"""
    defines: Callable[[Args], dict[str, str]] = no_defines
    map_interval_s: float | None = None
    ringbuf_pages: int = 2048
    promote: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[ToolVariant, ...] = ()
    """better attachments, best first; `attach` is the fallback that works everywhere"""

    @property
    def base_attach(self) -> str:
        """What `info.attach` says when no variant is used (`tracepoint`, `uprobe`, ...)."""
        return self.attach[0].type

    def variant(self, kind: str) -> ToolVariant | None:
        return next((v for v in self.variants if v.kind == kind), None)

    def describe(self) -> dict[str, Any]:
        """The catalogue entry served by GET /v1/bpf/tools."""
        return {
            "name": self.name,
            "summary": self.summary,
            "mirrors": self.mirrors,
            "params": [p.describe() for p in self.params],
            "fields": [f.describe() for f in self.fields],
            "maps": [{"name": n, "description": d} for n, d in self.map_docs],
            "events": bool(self.fields),
            "default_map_interval_s": self.map_interval_s,
        }


def p_bool(name: str, doc: str) -> ParamMeta:
    """A boolean parameter, false by default (a `-x`-style switch of the BCC tool)."""
    return ParamMeta(name, "bool", False, doc)


FAILED = p_bool("failed", "only failed calls")
