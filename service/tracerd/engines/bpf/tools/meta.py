"""The BPF tool catalogue as the daemon serves it (GET /v1/bpf/tools): no bcc imported.

`list_tools()` gives every tool's description (parameters, event fields, maps);
`get_tool(name)` one ToolDef; `resolve_args(tool, args)` checks a session's `args` against
the tool's parameters (types, ranges, patterns) and fills in the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ....errors import NotFound, SpecError
from . import aggregates as agg
from . import events as ev
from .spec import ParamMeta, ToolDef

TOOLS: tuple[ToolDef, ...] = (
    ev.EXECSNOOP,
    ev.OPENSNOOP,
    ev.EXITSNOOP,
    agg.SYSCOUNT,
    agg.RUNQLAT,
    agg.BIOLATENCY,
    ev.TCPLIFE,
    ev.TCPSTATES,
    agg.PROFILE,
    agg.MALLOCSTACKS,
    ev.BASHREADLINE,
)

_BY_NAME = {tool.name: tool for tool in TOOLS}


def list_tools() -> list[dict[str, Any]]:
    return [tool.describe() for tool in TOOLS]


def get_tool(name: str) -> ToolDef:
    tool = _BY_NAME.get(name)
    if tool is None:
        raise NotFound(f"no BPF tool named {name!r}", {"tools": sorted(_BY_NAME)})
    return tool


def resolve_args(tool: ToolDef, args: Mapping[str, Any]) -> dict[str, Any]:
    """`args` checked against the tool's parameters, defaults filled in."""
    known = {p.name: p for p in tool.params}
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise SpecError(
            f"{tool.name}: unknown argument(s) {', '.join(unknown)}", {"params": sorted(known)}
        )
    out: dict[str, Any] = {}
    for param in tool.params:
        value = args.get(param.name, param.default)
        out[param.name] = None if value is None else _check(tool.name, param, value)
    return out


def _check(tool: str, param: ParamMeta, value: Any) -> bool | int | str:
    where = f"{tool}.{param.name}"
    if param.type == "bool":
        if not isinstance(value, bool):
            raise SpecError(f"{where} must be a boolean")
        return value
    if param.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where} must be an integer")
        if (param.minimum is not None and value < param.minimum) or (
            param.maximum is not None and value > param.maximum
        ):
            raise SpecError(f"{where} must be in [{param.minimum}, {param.maximum}]")
        return value
    if not isinstance(value, str) or (param.pattern and not re.fullmatch(param.pattern, value)):
        raise SpecError(f"{where} must be a string matching {param.pattern}")
    return value
