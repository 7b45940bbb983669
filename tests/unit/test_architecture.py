"""The layout rules of docs/architecture.md, read from the source (no imports, no kernel).

- Only `tracerd.kernel` touches tracefs: no other module spells its mount point, and no
  other module opens, lists, creates or removes a path that names a tracefs file
  (existence checks are not counted).
- The doc's package table names every package of service/tracerd and only those, and
  imports point down it (the table is read from the doc: the doc is the rule).
- Session states change only through the transition table.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "tracerd"
MOUNT_POINTS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
FILE_CALLS = frozenset(
    {"open", "read_text", "write_text", "read_bytes", "write_bytes", "mkdir", "rmdir",
     "listdir", "iterdir", "glob"}
)  # fmt: skip
TRACEFS_WORDS = (
    "tracefs",
    "instance",
    "trace_pipe",
    "_events",
    "error_log",
    "saved_cmdlines",
    "saved_tgids",
    "header_page",
    "available_",
    "set_ftrace",
    "set_event",
    "current_tracer",
    "tracing_on",
    "trace_clock",
    "buffer_size_kb",
    "buffer_subbuf",
    "per_cpu",
    "trace_marker",
    '"format"',
    "'format'",
    "/format",
)


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def tracefs_file_calls(tree: ast.Module) -> list[str]:
    """Calls that open/create/list a path whose expression names something of tracefs."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in FILE_CALLS:
            text = ast.unparse(node)
            if any(word in text for word in TRACEFS_WORDS):
                out.append(f"line {node.lineno}: {text}")
    return out


def test_only_the_kernel_package_spells_the_tracefs_mount_point() -> None:
    found = [
        f"{name}:{node.lineno}"
        for name, tree in modules()
        if not name.startswith("kernel/")
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(m in node.value for m in MOUNT_POINTS)
    ]
    assert found == []


def test_only_the_kernel_package_opens_tracefs_files() -> None:
    found = {
        name: calls
        for name, tree in modules()
        if not name.startswith("kernel/") and (calls := tracefs_file_calls(tree))
    }
    assert found == {}


def test_the_tracefs_check_sees_what_it_forbids() -> None:
    tree = ast.parse(
        "open(root / 'uprobe_events')\nPath(instance_dir).mkdir()\n(d / 'format').read_text()\n"
        "os.open(f'{tracefs}/trace_pipe', 0)\nopen('/proc/self/stat')\n"
    )
    assert len(tracefs_file_calls(tree)) == 4


DOC = PACKAGE.parents[1] / "docs" / "architecture.md"
ROW_RE = re.compile(r"^\| (\d+) \| `([a-z_]+)` \|", re.MULTILINE)


def doc_layers() -> tuple[frozenset[str], ...]:
    """The package table of docs/architecture.md as layers, top first: a package may import
    its own modules and those of lower layers, never a higher layer's or a sibling's."""
    rows: dict[int, set[str]] = {}
    for number, package in ROW_RE.findall(DOC.read_text()):
        rows.setdefault(int(number), set()).add(package)
    return tuple(frozenset(rows[n]) for n in sorted(rows))


LAYERS = doc_layers()
SKIPS_ALLOWED = {
    ("api.catalog", "kernel"),  # the event catalogue lists tracefs' formats
    ("api.system", "kernel"),  # GET /v1/processes lists /proc
}
"""(module, package) pairs allowed past `NO_SKIP`"""
NO_SKIP = {("api", "kernel")}
"""the API reaches the kernel only through the sessions layer"""


def package_of(module: str) -> str:
    """`tracerd.engines.bpf.loader` -> `engines`; `tracerd` (its __init__) -> `__init__`."""
    parts = module.split(".")
    if len(parts) > 1 and ((PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists()):
        return parts[1]
    return "__init__"  # the package itself, or a name it defines (`from . import __version__`)


def layer_of(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def imports() -> Iterator[tuple[str, str, int]]:
    """(importing module, imported tracerd module, line) for every import in the package."""
    for name, tree in modules():
        parts = ["tracerd", *Path(name).with_suffix("").parts]
        is_init = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_init else parts)
        package = module if is_init else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [base] if node.module else [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                if target == "tracerd" or target.startswith("tracerd."):
                    yield module, target, node.lineno


def test_the_doc_names_every_package_and_only_those() -> None:
    on_disk = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    in_doc = set().union(*LAYERS)
    assert sorted(on_disk - in_doc - {"__pycache__"}) == []
    assert sorted(in_doc - on_disk) == []


def test_imports_point_down() -> None:
    wrong = []
    for module, target, line in imports():
        src, dst = package_of(module), package_of(target)
        if src == dst:
            continue
        allowed = any(module.startswith(f"tracerd.{m}") and dst == d for m, d in SKIPS_ALLOWED)
        if layer_of(dst) <= layer_of(src) or ((src, dst) in NO_SKIP and not allowed):
            wrong.append(f"{module}:{line} -> {target}")
    assert not wrong, "\n".join(wrong)


STATE_WRITERS = {
    ("sessions/manager.py", "_transition"),  # a live session, after check_transition
    ("sessions/store.py", "interrupt_orphans"),  # a row left active, after check_transition
    ("sessions/live.py", "apply_to_row"),  # copies the live state into its row
}


def test_session_states_change_only_through_the_transition_table() -> None:
    writers = set()
    for name, tree in modules():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                    writers.add((name, func.name))
    assert {w for w in writers if w[0].startswith("sessions/")} == STATE_WRITERS
