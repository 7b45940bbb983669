"""The layout rules of docs/architecture.md, read from the source (no imports, no kernel).

- Only `tracerd.kernel` touches tracefs: no other module spells its mount point, and no
  other module opens, lists, creates or removes a path that names a tracefs file
  (existence checks are not counted).
"""

from __future__ import annotations

import ast
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
