"""Test plumbing: environment and capability markers, the kernel probe, daemons.

Environment markers (`root`, `tracefs`, `bpf`, `ptrace`) skip where the machine lacks
them, except with `--require-kernel` (or CI=true), where such a skip is a failure: CI
runs on a machine that has them. Capability markers (`needs_function`, ...) skip with
the probed reason on kernels without the feature; they run in tests/guest/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

TRACEFS = Path("/sys/kernel/tracing")
ENV_MARKERS = ("root", "tracefs", "bpf", "ptrace")
CAP_MARKERS = {
    "needs_function": ("tracefs", "function"),
    "needs_function_graph": ("tracefs", "function_graph"),
    "needs_kprobes": ("tracefs", "kprobes"),
    "needs_fentry": ("bpf", "fentry"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-kernel",
        action="store_true",
        help="a skip of a root/tracefs/bpf/ptrace test is a failure",
    )


@cache
def probed_caps() -> dict[str, Any]:
    """The daemon's own probe, run once per test session (needs root and tracefs)."""
    if os.geteuid() != 0 or not (TRACEFS / "events").is_dir():
        return {}
    from tracerd.system.caps import probe_all

    return probe_all(TRACEFS, f"tracerd_test_probe_{os.getpid()}")


@cache
def bcc_version() -> str | None:
    proc = subprocess.run(
        [sys.executable, "-c", "import bcc; print(bcc.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def env_missing(marker: str) -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if marker == "tracefs" and not (TRACEFS / "events").is_dir():
        return f"tracefs is not mounted at {TRACEFS}"
    if marker == "bpf" and bcc_version() is None:
        return "bcc is not importable"
    if marker == "ptrace" and not probed_caps().get("ptrace", {}).get("usable", {}).get("usable"):
        return "ptrace is not usable"
    return None


def cap_missing(marker: str) -> str | None:
    section, name = CAP_MARKERS[marker]
    feature = probed_caps().get(section, {}).get(name, {})
    if feature.get("usable"):
        return None
    return f"{name}: {feature.get('reason') or 'not probed (no root/tracefs)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    strict = config.getoption("--require-kernel") or os.environ.get("CI") == "true"
    for item in items:
        if "tests/unit/" in str(item.fspath) and any(
            item.get_closest_marker(m) for m in ENV_MARKERS
        ):
            raise pytest.UsageError(f"{item.nodeid}: unit tests do not use the kernel")
        for marker in ENV_MARKERS:
            if item.get_closest_marker(marker) is None:
                continue
            reason = env_missing(marker)
            if reason is None:
                continue
            if strict:
                item.user_properties.append(("required_missing", reason))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))
        for marker in CAP_MARKERS:
            if item.get_closest_marker(marker) is not None:
                reason = cap_missing(marker)
                if reason is not None:
                    item.add_marker(pytest.mark.skip(reason=f"probed: {reason}"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for key, value in item.user_properties:
        if key == "required_missing":
            pytest.fail(f"this machine must have it (--require-kernel/CI): {value}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    caps = probed_caps()
    tracefs = caps.get("tracefs", {})
    usable = [
        f"{k}"
        for section in ("tracefs", "bpf")
        for k, v in caps.get(section, {}).items()
        if isinstance(v, dict) and v.get("usable")
    ]
    return [
        f"kernel: {os.uname().release}; tracefs: {tracefs.get('path', 'not mounted')} "
        f"({tracefs.get('events', 0)} events); bcc: {bcc_version() or 'missing'}",
        f"usable: {', '.join(usable) or 'nothing probed'}",
    ]


def tracefs_leftovers() -> set[str]:
    """Instances and dynamic events named like ours (tracerd_*)."""
    if not (TRACEFS / "instances").is_dir():
        return set()
    # TRACERD_TEST_SHARED_KERNEL=1: other people test on this kernel at the same time;
    # only daemon-session names (tracerd_<daemon>_<session>) are then checked
    shared = os.environ.get("TRACERD_TEST_SHARED_KERNEL") == "1"
    pattern = re.compile(r"tracerd_[0-9a-f]{6,32}_\d+" if shared else r"tracerd_(?!bench_)")
    found = {p.name for p in (TRACEFS / "instances").iterdir() if pattern.match(p.name)}
    for file in ("uprobe_events", "kprobe_events"):
        path = TRACEFS / file
        if path.exists():
            found |= {
                line
                for line in path.read_text().splitlines()
                if pattern.search(line.split(" ", 1)[0])
            }
    return found


@pytest.fixture(autouse=True)
def _no_leftovers(request: pytest.FixtureRequest) -> Any:
    """After every kernel test: no tracefs instance or dynamic event it made remains."""
    kernel = any(request.node.get_closest_marker(m) for m in ("tracefs", "bpf", "ptrace"))
    before = tracefs_leftovers() if kernel else set()
    yield
    if kernel:
        left = tracefs_leftovers() - before
        assert not left, f"left behind in tracefs: {sorted(left)}"


@pytest.fixture
def short_tmp() -> Any:
    """A short temporary directory (AF_UNIX paths must stay under 108 bytes)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="td", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
