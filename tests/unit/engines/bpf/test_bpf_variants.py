"""variants.py and the variant plans: which way in a tool takes for a given capability
probe result and kernel, and what the chosen variant renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.bpf import codegen, variants
from tracerd.engines.bpf.tools import meta
from tracerd.specs import BpfSpec

FILTERS = codegen.Filters((100,), pid=4242)
OPENSNOOP = meta.get_tool("opensnoop")
EPERM = "EPERM (Operation not permitted) at BPF_PROG_LOAD (fentry bpf_fentry_test1)"


def caps(fentry: bool | None, kprobe: bool | None) -> dict[str, Any]:
    """A capability probe result with fentry/kprobe usable, unusable, or not probed (None)."""
    bpf: dict[str, Any] = {"tracepoint": {"usable": True, "where": None, "reason": None}}
    for kind, usable in (("fentry", fentry), ("kprobe", kprobe)):
        if usable is not None:
            reason = None if usable else (EPERM if kind == "fentry" else "no kprobe PMU")
            bpf[kind] = {"usable": usable, "where": None, "reason": reason}
    return {"bpf": bpf}


class Checks:
    """A function check that records what it was asked and refuses the given kinds."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.refuse = refuse or {}
        self.asked: list[tuple[str, str]] = []

    def __call__(self, kind: str, function: str) -> str | None:
        self.asked.append((kind, function))
        return self.refuse.get(kind)


def test_usable_variants_come_first_best_first() -> None:
    check = Checks()
    choice = variants.choose_attach(OPENSNOOP, caps(True, True), check)
    assert choice.order == ("fentry", "kprobe", "tracepoint")
    assert choice.skipped == ()
    assert check.asked == [("fentry", "do_sys_openat2"), ("kprobe", "do_sys_openat2")]


def test_an_unusable_capability_is_skipped_with_the_probed_reason() -> None:
    check = Checks()
    choice = variants.choose_attach(OPENSNOOP, caps(False, True), check)
    assert choice.order == ("kprobe", "tracepoint")
    assert choice.skipped == (("fentry", f"bpf.fentry is not usable here: {EPERM}"),)
    assert check.asked == [("kprobe", "do_sys_openat2")]  # no kernel check for fentry


def test_this_hosts_kernel_ends_on_tracepoints() -> None:
    choice = variants.choose_attach(OPENSNOOP, caps(False, False), Checks())
    assert choice.order == ("tracepoint",)
    assert dict(choice.skipped) == {
        "fentry": f"bpf.fentry is not usable here: {EPERM}",
        "kprobe": "bpf.kprobe is not usable here: no kprobe PMU",
    }


def test_not_probed_means_not_used() -> None:
    choice = variants.choose_attach(OPENSNOOP, {}, Checks())
    assert choice.order == ("tracepoint",)
    assert dict(choice.skipped) == {
        "fentry": "bpf.fentry was not probed",
        "kprobe": "bpf.kprobe was not probed",
    }
    nested = {"bpf": {"program_types": caps(True, None)["bpf"]}}  # the older caps shape
    assert variants.choose_attach(OPENSNOOP, nested, Checks()).order == ("fentry", "tracepoint")


def test_a_function_the_kernel_cannot_trace_is_skipped() -> None:
    check = Checks({"fentry": "do_sys_openat2 is not a function in the kernel's BTF"})
    choice = variants.choose_attach(OPENSNOOP, caps(True, True), check)
    assert choice.order == ("kprobe", "tracepoint")
    assert choice.skipped == (("fentry", "do_sys_openat2 is not a function in the kernel's BTF"),)


def test_a_tool_without_variants_keeps_its_own_attachments() -> None:
    for name, base in (("execsnoop", "tracepoint"), ("bashreadline", "uretprobe")):
        choice = variants.choose_attach(meta.get_tool(name), caps(True, True), Checks())
        assert choice == variants.AttachChoice((base,), ())


def test_variant_plans_define_their_way_in() -> None:
    args = meta.resolve_args(OPENSNOOP, {"failed": True})
    base = codegen.render_tool(OPENSNOOP, args, FILTERS, {})
    assert base.attach_mode == "tracepoint"
    assert "TRACERD_ATTACH_" not in base.text.split("#line 1")[0]
    assert ("syscalls:sys_enter_creat", "trd_open_creat") in {(a.target, a.fn) for a in base.attach}
    fentry = codegen.render_tool(OPENSNOOP, args, FILTERS, {}, None, OPENSNOOP.variant("fentry"))
    assert fentry.attach_mode == "fentry"
    assert "#define TRACERD_ATTACH_FENTRY 1\n" in fentry.text
    assert "#define TRACERD_ARG_FAILED 1\n" in fentry.text
    assert [(a.type, a.target, a.fn) for a in fentry.attach] == [
        ("fentry", "do_sys_openat2", "kretfunc__do_sys_openat2")
    ]
    kprobe = codegen.plan_for_spec(
        BpfSpec.model_validate({"tool": "opensnoop"}), FILTERS, 1 << 30, lambda _names: {}, "kprobe"
    )
    assert kprobe.attach_mode == "kprobe"
    assert "#define TRACERD_ATTACH_KPROBE 1\n" in kprobe.text
    assert [(a.type, a.fn) for a in kprobe.attach] == [
        ("kprobe", "trd_open_kentry"),
        ("kretprobe", "trd_open_kret"),
    ]
    assert kprobe.record == base.record  # the same events whichever way in


def test_function_names_are_checked_before_any_file_is_read() -> None:
    assert variants.function_unavailable("kprobe", "a/../b") == (
        "'a/../b' is not a kernel function name"
    )
    assert variants.function_unavailable("uprobe", "f") == "no check for uprobe variants"


def test_lists_matches_whole_lines(tmp_path: Path) -> None:
    syms = tmp_path / "kallsyms"
    syms.write_text("ffff0001 t do_sys_openat2\nffff0002 T do_sys_open\nffff0003 t x [mod]\n")
    assert variants.lists(str(syms), r"^\S+ [tT] do_sys_open$") is True
    assert variants.lists(str(syms), r"^\S+ [tT] do_sys_openat$") is False
    assert variants.lists(str(syms), r"^\S+ [tT] x$") is False  # a module's symbol
    assert variants.lists(str(tmp_path / "absent"), "x") is None


@pytest.mark.parametrize("tool", [t.name for t in meta.TOOLS if t.variants])
def test_every_variant_has_a_kind_we_probe(tool: str) -> None:
    for variant in meta.get_tool(tool).variants:
        assert variant.kind in ("fentry", "kprobe")
        assert variant.attach
        assert variant.define == f"TRACERD_ATTACH_{variant.kind.upper()}"
