"""codegen.py: generated program text (filters, parameters, BTF offsets, structs) and the
rewrites of custom programs."""

from __future__ import annotations

import pytest

from tracerd.engines.bpf import codegen
from tracerd.engines.bpf.tools import meta
from tracerd.errors import NotFound, SpecError
from tracerd.kernel.btf import Member, offset_macro
from tracerd.specs import BpfSpec

FILTERS = codegen.Filters((300, 100, 200), pid=4242, comm='a"b')


def _offsets(names: tuple[str, ...]) -> dict[str, Member]:
    return {name.split("|")[0]: Member(8 * i + 8, 8) for i, name in enumerate(names)}


def test_filters_become_defines() -> None:
    assert FILTERS.defines() == [
        "#define TRACERD_EXCLUDED(t) ((t) == 100 || (t) == 200 || (t) == 300)",
        "#define TRACERD_PID 4242",
        "#define TRACERD_COMM_BYTES {97, 34, 98, 0}",
        "#define TRACERD_FILTERED 1",
    ]
    assert codegen.Filters(()).defines()[0] == "#define TRACERD_EXCLUDED(t) (0)"


@pytest.mark.parametrize("tool", [t["name"] for t in meta.list_tools()])
def test_every_tool_renders(tool: str) -> None:
    t = meta.get_tool(tool)
    args = meta.resolve_args(t, {})
    plan = codegen.render_tool(t, args, FILTERS, _offsets(t.btf))
    assert plan.name == tool
    assert plan.attach
    assert all(a.fn.startswith("trd_") for a in plan.attach)
    assert "#define TRACERD_EXCLUDED(t)" in plan.text
    assert f'#line 1 "{t.program}"' in plan.text
    for name in t.btf:
        assert f"#define {offset_macro(name.split('|')[0])} " in plan.text
    assert ("struct tracerd_event {" in plan.text) == bool(t.fields)
    assert bool(plan.maps) == (not t.fields)


def test_tool_parameters_shape_the_program() -> None:
    t = meta.get_tool("execsnoop")
    plan = codegen.render_tool(
        t, meta.resolve_args(t, {"max_args": 3, "failed": True}), FILTERS, _offsets(t.btf)
    )
    assert "#define TRACERD_ARG_FAILED 1" in plan.text
    assert "char args[3][128];" in plan.text
    t = meta.get_tool("biolatency")
    plan = codegen.render_tool(
        t, meta.resolve_args(t, {"queued": True, "disks": True}), FILTERS, {}
    )
    assert [a.target for a in plan.attach] == ["block:block_rq_insert", "block:block_rq_complete"]
    assert "struct dist_key {\n    u32 dev;\n    u64 slot;\n};" in plan.text
    t = meta.get_tool("bashreadline")
    plan = codegen.render_tool(t, meta.resolve_args(t, {"binary": "/opt/x/sh"}), FILTERS, {})
    assert plan.attach[0].target == "/opt/x/sh:readline"
    assert plan.attach[0].pid == 4242


def test_resolve_args_checks_types_ranges_and_patterns() -> None:
    t = meta.get_tool("profile")
    assert meta.resolve_args(t, {})["frequency"] == 49
    with pytest.raises(SpecError, match="unknown argument"):
        meta.resolve_args(t, {"freq": 1})
    with pytest.raises(SpecError, match="in \\[1, 10000\\]"):
        meta.resolve_args(t, {"frequency": 0})
    with pytest.raises(SpecError, match="boolean"):
        meta.resolve_args(t, {"include_idle": 1})
    with pytest.raises(SpecError, match="matching"):
        meta.resolve_args(meta.get_tool("bashreadline"), {"binary": "/bin/sh\n"})
    with pytest.raises(NotFound):
        meta.get_tool("nosuchtool")


def test_catalogue_lists_parameters_fields_and_maps() -> None:
    tools = {t["name"]: t for t in meta.list_tools()}
    assert {
        "execsnoop",
        "opensnoop",
        "exitsnoop",
        "syscount",
        "runqlat",
        "biolatency",
        "tcplife",
        "tcpstates",
        "profile",
        "bashreadline",
        "mallocstacks",
    } <= set(tools)
    assert [f["name"] for f in tools["opensnoop"]["fields"]] == [
        "ret",
        "fd",
        "err",
        "flags",
        "path",
    ]
    assert tools["runqlat"]["maps"][0]["name"] == "dist"
    assert not tools["runqlat"]["events"]
    assert {p["name"] for p in tools["syscount"]["params"]} == {"latency", "per_process", "failed"}


PROGRAM = """
BPF_RINGBUF_OUTPUT(out, 8);
BPF_HISTOGRAM(lat);
static int helper(int x) { return x; }
int on_open(struct tracepoint__syscalls__sys_enter_openat *args)
{
    struct rec *r = out.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    out.ringbuf_submit(r, 0);
    out.ringbuf_output(&x, sizeof(x), 0);
    return helper(on_open_count(1));
}
TRACEPOINT_PROBE(sched, sched_switch) { return 0; }
"""


def test_custom_program_rewrites() -> None:
    attach = (
        codegen.AttachSpec("tracepoint", "syscalls:sys_enter_openat", "on_open"),
        codegen.AttachSpec("tracepoint", "x:y", "missing_fn"),
    )
    plan = codegen.render_custom(PROGRAM, attach, FILTERS, "out", (), None)
    body = plan.text.split('#line 1 "program.c"\n', 1)[1]
    assert body.count(codegen.SKIP_STMT) == 2  # on_open and the auto-attached probe
    assert "{" + codegen.SKIP_STMT + "\n    struct rec" in body
    assert "tracerd_counted(out.ringbuf_reserve(sizeof(*r)))" in body
    assert "tracerd_counted_rc(out.ringbuf_output(&x, sizeof(x), 0))" in body
    assert "static int helper(int x) { return x; }" in body  # not an attached function
    assert plan.notes == ("function missing_fn not found: not filtered in the kernel",)
    assert plan.hist_maps == ("lat",)
    assert plan.header is False
    assert plan.generic_maps


def test_plan_for_a_program_spec() -> None:
    spec = BpfSpec.model_validate(
        {
            "program": PROGRAM,
            "pid": 7,
            "attach": [{"type": "uprobe", "target": "/bin/x:f", "fn": "on_open"}],
            "output": {
                "map": "out",
                "fields": [
                    {"name": "path", "type": "str", "size": 8},
                    {"name": "ret", "type": "s64"},
                ],
            },
        }
    )
    plan = codegen.plan_for_spec(spec, FILTERS, 1 << 20, _offsets)
    assert plan.name == "out"
    assert plan.attach[0].pid == 7
    assert plan.promote == {"ret": "ret"}
    assert plan.map_interval_s == 1.0
    bad = spec.model_copy(
        update={
            "output": spec.output.model_copy(
                update={  # type: ignore[union-attr]
                    "fields": [spec.output.fields[0].model_copy(update={"size": None})]
                }
            )
        }
    )  # type: ignore[union-attr]
    with pytest.raises(SpecError, match="needs a size"):
        codegen.plan_for_spec(bad, FILTERS, 1 << 20, _offsets)


def test_ring_buffer_pages_respect_the_memory_limit() -> None:
    t = meta.get_tool("opensnoop")
    spec = BpfSpec.model_validate({"tool": "opensnoop"})
    plan = codegen.plan_for_spec(spec, FILTERS, 3 * 4096, _offsets)
    assert "#define TRACERD_RINGBUF_PAGES 2\n" in plan.text
    plan = codegen.plan_for_spec(spec, FILTERS, 1 << 30, _offsets)
    assert f"#define TRACERD_RINGBUF_PAGES {t.ringbuf_pages}\n" in plan.text
