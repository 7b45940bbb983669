"""Which way in a catalogue tool takes on this kernel: a better variant (fentry, kprobe) where
the kernel allows it, else the tool's own attachments (tracepoints), which work everywhere.

Mechanism: `choose_attach` walks the tool's variants, best first (tools/spec.ToolVariant).
A variant is a candidate when the capability probe found its program type usable
(`caps.bpf.<kind>.usable` is true: probed by load *and* attach, system/bpf_probe.py; not
probed counts as no) and its kernel function is traceable here (`function_unavailable`):
  fentry  a FUNC of that name in the kernel's BTF (BCC resolves the attach id by name) and,
          where tracefs lets us read it, a line in available_filter_functions (fentry
          trampolines patch the function's ftrace call site);
  kprobe  a text symbol of exactly that name in /proc/kallsyms (not inlined, not renamed
          `.isra`/`.constprop`) and not on the kprobe blacklist.
The engine then loads the candidates in order and falls back to the next when one fails
to compile, load or attach (an extra compile, only then); every variant not used is told
with its reason in `info.attach_skipped`, the one used in `info.attach`.

Caveats: the files are read whole (kallsyms is ~10 MiB on distribution kernels: ~50 ms
here, about a second under TCG); available_filter_functions is EPERM on kernels whose
function tracer is locked down, which says nothing about fentry, so it is then not
consulted. Pure apart from those reads: tests pass their own `caps` and `check`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...kernel import btf
from ...kernel.proc import lists
from ...kernel.tracefs import MOUNT_POINTS
from .tools.spec import ToolDef

log = logging.getLogger(__name__)
KALLSYMS = "/proc/kallsyms"
FILTER_FUNCTIONS = tuple(str(root / "available_filter_functions") for root in MOUNT_POINTS)
KPROBE_BLACKLIST = "/sys/kernel/debug/kprobes/blacklist"

FunctionCheck = Callable[[str, str], "str | None"]
"""(variant kind, kernel function) -> why it cannot be used, or None"""


@dataclass(frozen=True, slots=True)
class AttachChoice:
    """The ways in to try, best first (the last is the tool's own), and those left out."""

    order: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def bpf_capability(caps: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """`caps.bpf.<kind>` ({usable, where, reason}) from the capability probe, if probed."""
    bpf = caps.get("bpf") if isinstance(caps, Mapping) else None
    types = bpf.get("program_types", bpf) if isinstance(bpf, Mapping) else None
    cap = types.get(kind) if isinstance(types, Mapping) else None
    return cap if isinstance(cap, Mapping) else None


def _capability_missing(caps: Mapping[str, Any], kind: str) -> str | None:
    cap = bpf_capability(caps, kind)
    if cap is None:
        return f"bpf.{kind} was not probed"
    if cap.get("usable") is not True:
        return f"bpf.{kind} is not usable here: {cap.get('reason') or 'no reason given'}"
    return None


def choose_attach(
    tool: ToolDef, caps: Mapping[str, Any], check: FunctionCheck | None = None
) -> AttachChoice:
    """The variants of `tool` that the capability probe and the kernel allow, best first,
    then the tool's own attachments; with the reason for every variant left out."""
    check = check or function_unavailable
    order: list[str] = []
    skipped: list[tuple[str, str]] = []
    for variant in tool.variants:
        why = _capability_missing(caps, variant.kind) or check(variant.kind, variant.function)
        if why is None:
            order.append(variant.kind)
        else:
            skipped.append((variant.kind, why))
    return AttachChoice((*order, tool.base_attach), tuple(skipped))


def function_unavailable(kind: str, function: str) -> str | None:
    """Why `function` cannot take a `kind` ("fentry" or "kprobe") program here, or None."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", function):
        return f"{function!r} is not a kernel function name"
    if kind == "fentry":
        return _fentry_unavailable(function)
    if kind == "kprobe":
        return _kprobe_unavailable(function)
    return f"no check for {kind} variants"


def _fentry_unavailable(function: str) -> str | None:
    try:
        type_id = btf.vmlinux_type_id(function, btf.BtfKind.FUNC)
    except OSError as e:
        return f"no kernel BTF ({btf.VMLINUX_BTF_PATH}: {e.strerror})"
    except btf.BtfError as e:
        return f"cannot read {btf.VMLINUX_BTF_PATH}: {e}"
    if type_id is None:
        return f"{function} is not a function in the kernel's BTF (inlined or renamed here)"
    pattern = rf"^{re.escape(function)}$"
    for path in FILTER_FUNCTIONS:
        listed = lists(path, pattern)
        if listed is False:
            return f"{function} is not in {path}: not traceable"
        if listed:
            break
    return None


def _kprobe_unavailable(function: str) -> str | None:
    name = re.escape(function)
    listed = lists(KALLSYMS, rf"^\S+ [tT] {name}$")
    if listed is None:
        return f"cannot read {KALLSYMS}"
    if not listed:
        return f"{function} is not a text symbol in {KALLSYMS} (inlined or renamed here)"
    if lists(KPROBE_BLACKLIST, rf"\s{name}$"):
        return f"{function} is on the kprobe blacklist ({KPROBE_BLACKLIST})"
    return None
