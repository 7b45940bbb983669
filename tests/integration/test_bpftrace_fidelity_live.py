"""`tracerd bpftrace` against bpftrace itself: the same script on the same workload, once
under the installed bpftrace and once through the CLI and a real daemon; the outputs
(run-varying values masked alike) must be identical. A representative set of the corpus
of bench/bpftrace_fidelity.py (which measures the whole corpus), run by its own runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DaemonProcess

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import bpftrace_cases  # noqa: E402
import bpftrace_fidelity as fidelity  # noqa: E402

pytestmark = [pytest.mark.root, pytest.mark.bpf]
if shutil.which("bpftrace") is None or shutil.which("gcc") is None:
    pytestmark.append(pytest.mark.skip(reason="probed: bpftrace or gcc is not installed"))

CASES = {c.name: c for c in (*bpftrace_cases.CASES, *bpftrace_cases.HOLDOUT2)}
REPRESENTATIVE = [
    "printf_split",  # printf without a newline does not split the line
    "time_no_newline",
    "print_tuple",  # value formats: tuples, stats, lhist buckets, multi-key maps
    "map_stats",
    "lhist_width_one",
    "map_multi_key",
    "print_then_clear",  # print(@map) in place and in order
    "interval_print_clear",
    "write_printf_pieces",  # a workload's syscalls
    "write_sizes_hist",
    "execsnoop",  # classic tools
    "killsnoop",
    "uprobe_rel_args",  # relative uprobe paths, in the caller's directory
    "positional",  # options: positional parameters
    "err_position_late",  # errors: position inside a probe block, message, exit status
    "err_kprobe",  # a failure after `Attaching N probes...`
    "err_missing_binary",
    "h2_printf_high_byte",  # a byte that is not UTF-8 comes out as that byte
    "h2_hist_edges",  # hist/lhist bucket edges and out-of-range buckets
    "h2_lhist_edges",
    "h2_uprobe_buf",  # buf() as %r on a uprobe of the second workload
    "h2_usym_func",  # ties in map order compare sorted (bpftrace's hash order varies)
    "h2_err_later_line",  # an error on a later line of a multi-line script
]


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[Path, dict[str, str], dict[str, str]]]:
    root = Path(tempfile.mkdtemp(prefix="td", dir="/tmp"))
    daemon = DaemonProcess(root)
    work = fidelity.prepare_workdir()
    try:
        daemon.start()
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        ours = {**base, "TRACERD_SOCKET": daemon.socket, "PYTHONPATH": str(REPO / "service")}
        yield work, base, ours
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_same_output_as_bpftrace(
    name: str, env: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    work, base, ours_env = env
    case = CASES[name]
    peer = fidelity.run_case(case, fidelity.peer_argv(case), work, base, ours=False)
    ours = fidelity.run_case(case, fidelity.tracerd_argv(case), work, ours_env, ours=True)
    assert fidelity.compare(case, peer, ours) == [], (peer, ours)


@pytest.mark.parametrize(
    "argv",
    [
        ["-l", "tracepoint:sched:*"],
        ["-lv", "tracepoint:syscalls:sys_enter_openat"],
        ["-lv", "tracepoint:sched:sched_process_exec"],  # __data_loc and char[16] fields
    ],
)
def test_probe_listing_as_bpftrace(
    argv: list[str], env: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    work, base, ours_env = env
    peer = subprocess.run(["bpftrace", *argv], capture_output=True, text=True, env=base)
    ours = subprocess.run(
        [sys.executable, "-m", "tracerd", "bpftrace", *argv],
        capture_output=True,
        text=True,
        env=ours_env,
        cwd=work,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == peer.stdout
    assert peer.stdout.startswith("tracepoint:")
