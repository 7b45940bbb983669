"""The tracefs data path on the live kernel: readers, decode, merge, loss, stop/drain.

Each test creates its own instance `tracerd_test_<random>` and removes it (also on failure).
Syscall events are only ever recorded for a launched child (set_event_pid), never system-wide.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.base import Limits
from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.reader import TracefsReader, load_registry
from tracerd.engines.tracefs.registry import dynamic_event_kinds
from tracerd.engines.tracefs.sinks import ListSink
from tracerd.engines.tracefs.tasks import TaskResolver
from tracerd.kernel.tracefs import read_kernel_loss

from .conftest import wait_for

TRACEFS = "/sys/kernel/tracing"
pytestmark = [
    pytest.mark.root,
    pytest.mark.tracefs,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.isdir(f"{TRACEFS}/instances"), reason="no tracefs"),
]
O_NOCTTY = 0o400
PROBE_C = r"""
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    int dir = open("/etc", O_RDONLY | O_DIRECTORY);
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 7; i++) {
        int fd = openat(dir, "hostname", O_RDONLY | O_NOCTTY);
        if (fd >= 0) close(fd);
    }
    nanosleep(&ts, 0);
    return 0;
}
"""


def write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def remove_instance(path: str) -> None:
    for name in ("tracing_on", "events/enable"):
        with contextlib.suppress(OSError):
            write(f"{path}/{name}", "0")
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    os.rmdir(path)


@pytest.fixture
def instance() -> Iterator[str]:
    path = f"{TRACEFS}/instances/tracerd_test_{uuid.uuid4().hex[:10]}"
    os.mkdir(path)
    try:
        write(f"{path}/tracing_on", "0")
        write(f"{path}/trace_clock", "mono")
        write(f"{path}/buffer_percent", "25")
        write(f"{path}/options/record-tgid", "1")
        yield path
    finally:
        remove_instance(path)


@pytest.fixture(scope="module")
def probe_exe(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the probe program")
    tmp = tmp_path_factory.mktemp("probe")
    (tmp / "probe.c").write_text(PROBE_C)
    exe = tmp / f"tdprobe{uuid.uuid4().hex[:6]}"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(tmp / "probe.c")], check=True)
    return str(exe)


def make_reader(inst: str, events: list[str], sink: ListSink, **kw: Any) -> TracefsReader:
    registry = load_registry(TRACEFS, events)
    return TracefsReader(inst, PageDecoder(registry, TaskResolver()), sink, **kw)


def wait_blocked_in_read(pid: int, timeout_s: float = 30.0) -> None:
    """Wait until `pid` sleeps in read(2) (syscall 0 on x86-64)."""
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}/syscall").read_text().split()[0] != "0":
        assert time.monotonic() < deadline, f"{pid} never blocked in read"
        time.sleep(0.005)


def run_launched(inst: str, exe: str, events: list[str]) -> tuple[ListSink, int, Any]:
    """Trace `exe` exec'd by a shell whose pid is the only one in set_event_pid."""
    sink = ListSink()
    shell = subprocess.Popen(["/bin/sh", "-c", f"read go; exec {exe}"], stdin=subprocess.PIPE)
    try:
        # the shell's own start (its loader's openat calls) is not traced: wait until it
        # blocks in `read` (comms are resolved later, so they would carry exe's name)
        wait_blocked_in_read(shell.pid)
        write(f"{inst}/set_event_pid", str(shell.pid))
        for ev in events:
            write(f"{inst}/events/{ev.replace(':', '/')}/enable", "1")
        reader = make_reader(inst, events, sink)
        reader.start()
        write(f"{inst}/tracing_on", "1")
        shell.communicate(b"go\n", timeout=30)
        write(f"{inst}/tracing_on", "0")
        stats = reader.stop(timeout_s=30)
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
    return sink, shell.pid, stats


def test_launched_program_exact_values(instance: str, probe_exe: str) -> None:
    events = ["syscalls:sys_enter_openat", "sched:sched_process_exec", "sched:sched_switch"]
    sink, pid, stats = run_launched(instance, probe_exe, events)
    data = sink.data()
    comm = os.path.basename(probe_exe)[:15]
    execs = [
        e
        for e in data
        if e.name == "sched:sched_process_exec" and e.fields["filename"] != "/bin/sh"
    ]  # the shell's own exec may be seen too
    assert [(e.fields, e.tid, e.pid, e.comm) for e in execs] == [
        ({"filename": probe_exe, "pid": pid, "old_pid": pid}, pid, pid, comm)
    ]
    opens = [e for e in data if e.name == "syscalls:sys_enter_openat" and e.tid == pid]
    mine = [e for e in opens if e.fields["flags"] == O_NOCTTY]
    assert len(mine) == 7
    assert {e.fields["dfd"] for e in mine} == {3}  # the /etc directory fd
    assert all(e.comm == comm and e.pid == pid for e in mine)
    assert set(mine[0].fields) == {"__syscall_nr", "dfd", "filename", "flags", "mode"}
    switches = [e for e in data if e.name == "sched:sched_switch"]
    out = [e for e in switches if e.fields["prev_pid"] == pid]
    assert out, "the probe sleeps, so it is switched out at least once"
    assert all(e.fields["prev_comm"] == comm for e in out if e.ts_ns > execs[0].ts_ns)
    assert {
        "prev_comm",
        "prev_pid",
        "prev_prio",
        "prev_state",
        "next_comm",
        "next_pid",
        "next_prio",
    } == set(out[0].fields)
    assert [e.ts_ns for e in sink.events] == sorted(e.ts_ns for e in sink.events)
    assert stats.decode_errors == 0
    assert stats.unknown_events == 0
    assert sink.lost() == []


def trace_cmd_openat(exe: str, tmp: Path) -> list[tuple[int, int]]:
    """(dfd, flags) of every sys_enter_openat of `exe`'s comm, as trace-cmd records them."""
    name = f"tracerd_test_{uuid.uuid4().hex[:10]}"
    dat = tmp / "trace.dat"
    try:
        subprocess.run(
            [
                "trace-cmd",
                "record",
                "-B",
                name,
                "-d",
                "--no-filter",
                "-e",
                "syscalls:sys_enter_openat",
                "-o",
                str(dat),
                exe,
            ],
            capture_output=True,
            cwd=tmp,
            timeout=120,
        )
    finally:
        if os.path.isdir(f"{TRACEFS}/instances/{name}"):
            remove_instance(f"{TRACEFS}/instances/{name}")
    text = subprocess.run(
        ["trace-cmd", "report", "-i", str(dat)], capture_output=True, text=True, check=True
    ).stdout
    comm = os.path.basename(exe)[:15]
    pat = re.compile(
        rf"\s{re.escape(comm)}-\d+\s.*sys_enter_openat:\s+dfd: (0x[0-9a-f]+), "
        r"filename: 0x[0-9a-f]+, flags: (0x[0-9a-f]+)"
    )
    return [(int(m[1], 16), int(m[2], 16)) for m in pat.finditer(text)]


@pytest.mark.skipif(shutil.which("trace-cmd") is None, reason="trace-cmd not installed")
def test_same_openat_records_as_trace_cmd(instance: str, probe_exe: str, tmp_path: Path) -> None:
    copy = tmp_path / f"tdpeer{uuid.uuid4().hex[:6]}"
    shutil.copy(probe_exe, copy)
    peer = trace_cmd_openat(str(copy), tmp_path)
    sink, pid, _ = run_launched(instance, probe_exe, ["syscalls:sys_enter_openat"])
    # the shell's own openat calls before exec are not the program's: keep the exec'd part
    ours = [
        (e.fields["dfd"], e.fields["flags"])
        for e in sink.data()
        if e.tid == pid and e.comm == os.path.basename(probe_exe)[:15]
    ]
    assert len(peer) >= 9  # loader + /etc + 7 x hostname
    assert ours == peer


def write_markers(inst: str, texts: Sequence[str]) -> None:
    fd = os.open(f"{inst}/trace_marker", os.O_WRONLY)
    try:
        for t in texts:
            os.write(fd, t.encode())
    finally:
        os.close(fd)


def test_overrun_is_counted_and_placed(instance: str) -> None:
    write(f"{instance}/buffer_size_kb", "8")
    write(f"{instance}/tracing_on", "1")
    n = 5000
    write_markers(instance, [f"m{i:05d}\n" for i in range(n)])  # before any reader: overrun
    sink = ListSink()
    reader = make_reader(instance, [], sink)
    reader.start()
    write(f"{instance}/tracing_on", "0")
    reader.stop(timeout_s=30)
    lost = read_kernel_loss(instance)
    got = [int(e.fields["buf"][1:6]) for e in sink.data() if e.name == "ftrace:print"]
    assert lost > 0
    assert len(got) + lost == n
    assert got == list(range(n - len(got), n))  # the newest survive, in order
    in_band = sink.lost()
    assert in_band
    assert sink.events[0].name == "lost"
    assert 0 < sum(e.fields["count"] for e in in_band) <= lost


def test_flood_with_tiny_buffer_while_reading(instance: str) -> None:
    write(f"{instance}/buffer_size_kb", "8")
    sink = ListSink()
    reader = make_reader(instance, [], sink)
    reader.start()
    write(f"{instance}/tracing_on", "1")
    n = 200_000
    write_markers(instance, ["x\n"] * n)
    write(f"{instance}/tracing_on", "0")
    reader.stop(timeout_s=60)
    stored = sum(1 for e in sink.data() if e.name == "ftrace:print")
    lost = read_kernel_loss(instance)
    assert lost > 0
    assert stored + lost >= n


def test_stop_drains_the_last_partial_page(instance: str) -> None:
    sink = ListSink()
    reader = make_reader(instance, [], sink)
    reader.start()
    names = {t.name for t in threading.enumerate()}
    assert {"tracefs-cpu0", "tracefs-decode"} <= names
    write(f"{instance}/tracing_on", "1")
    tag = f"last-{uuid.uuid4().hex}"
    write_markers(instance, [tag])
    write(f"{instance}/tracing_on", "0")
    stats = reader.stop(timeout_s=30)
    assert [e.fields["buf"] for e in sink.data()] == [tag + "\n"]
    assert sink.data()[0].tid == threading.get_native_id()
    assert sink.data()[0].pid == os.getpid()
    assert stats.alive == ()
    assert not {t.name for t in threading.enumerate()} & {"tracefs-cpu0", "tracefs-decode"}
    os.rmdir(instance)  # every fd is closed: the instance can go at once


def test_cpus_are_merged_in_timestamp_order(instance: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs 2 CPUs")
    sink = ListSink()
    reader = make_reader(instance, [], sink)
    reader.start()
    write(f"{instance}/tracing_on", "1")
    before = os.sched_getaffinity(0)
    try:
        for i in range(400):
            os.sched_setaffinity(0, {cpus[i % 2]})
            write_markers(instance, [f"n{i}"])
            if i % 100 == 0:
                time.sleep(0.15)  # let the other CPU go idle (its horizon must advance)
            if i == 200:  # released while running, not only at stop (however loaded)
                wait_for(lambda: len(sink.batches) >= 1)
    finally:
        os.sched_setaffinity(0, before)
    write(f"{instance}/tracing_on", "0")
    stats = reader.stop(timeout_s=30)
    data = sink.data()
    assert [e.fields["buf"] for e in data] == [f"n{i}\n" for i in range(400)]
    assert {e.cpu for e in data} == {cpus[0], cpus[1]}
    assert stats.late == 0
    assert len(sink.batches) > 1  # released while running, not only at stop


def test_spool_and_backpressure(instance: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    sink = ListSink(delay_s=0.02)  # a slow consumer: raw pages pile up
    limits = Limits(raw_memory_bytes=64 << 10, spool_bytes=64 << 20, batch_events=512)
    reader = make_reader(instance, [], sink, limits=limits, spool_dir=str(spool))
    reader.start()
    write(f"{instance}/tracing_on", "1")
    n = 20_000
    write_markers(instance, [f"s{i}\n" for i in range(n)])
    write(f"{instance}/tracing_on", "0")
    stats = reader.stop(timeout_s=120)
    assert stats.peak_spooled_bytes > 0
    assert read_kernel_loss(instance) == 0
    assert [e.fields["buf"] for e in sink.data()] == [f"s{i}\n" for i in range(n)]
    assert list(spool.iterdir()) == []


def test_full_spool_stops_draining_and_the_kernel_counts(instance: str, tmp_path: Path) -> None:
    write(f"{instance}/buffer_size_kb", "16")
    sink = ListSink(delay_s=0.05)
    limits = Limits(raw_memory_bytes=16 << 10, spool_bytes=16 << 10, batch_events=64)
    reader = make_reader(instance, [], sink, limits=limits, spool_dir=str(tmp_path))
    reader.start()
    write(f"{instance}/tracing_on", "1")
    n = 50_000
    write_markers(instance, ["f\n"] * n)
    write(f"{instance}/tracing_on", "0")
    stats = reader.stop(timeout_s=120)
    lost = read_kernel_loss(instance)
    stored = len(sink.data())
    assert stats.paused_s > 0
    assert stats.peak_spooled_bytes <= (16 << 10) + (1 << 20)  # a chunk past it at most
    assert lost > 0
    assert stored + lost >= n


def symbol_file_offset(exe: str, symbol: str) -> int:
    """File offset of `symbol` (uprobes take offsets: vaddr - segment vaddr + segment offset)."""
    from elftools.elf.elffile import ELFFile

    with open(exe, "rb") as fh:
        elf = ELFFile(fh)
        syms = elf.get_section_by_name(".symtab")
        addr = next(s["st_value"] for s in syms.iter_symbols() if s.name == symbol)
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < (
                seg["p_vaddr"] + seg["p_filesz"]
            ):
                return int(addr - seg["p_vaddr"] + seg["p_offset"])
    raise LookupError(symbol)


def append_line(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # O_TRUNC would delete every probe
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@pytest.mark.skipif(not os.path.exists(f"{TRACEFS}/uprobe_events"), reason="no uprobe events")
def test_uprobe_records_show_as_uprobes(instance: str, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the uprobe target")
    src = Path(__file__).resolve().parents[1] / "data" / "ftrace" / "target.c"
    exe = tmp_path / "target"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(src)], check=True)
    group = f"tracerd_test_{uuid.uuid4().hex[:8]}"
    off = symbol_file_offset(str(exe), "refdoc_target")
    append_line(
        f"{TRACEFS}/uprobe_events",
        f"p:{group}/probe {exe}:{off:#x} a=%di:s32 s=+0(%si):string comm=$comm\n",
    )
    try:
        write(f"{instance}/events/{group}/probe/enable", "1")
        kinds = dynamic_event_kinds(Path(f"{TRACEFS}/dynamic_events").read_text())
        registry = load_registry(TRACEFS, [f"{group}:probe"], kinds)
        sink = ListSink()
        reader = TracefsReader(instance, PageDecoder(registry, TaskResolver()), sink)
        reader.start()
        write(f"{instance}/tracing_on", "1")
        child = subprocess.run([str(exe)], capture_output=True, check=True)
        write(f"{instance}/tracing_on", "0")
        reader.stop(timeout_s=30)
        write(f"{instance}/events/{group}/probe/enable", "0")
    finally:
        remove_instance(instance)
        append_line(f"{TRACEFS}/uprobe_events", f"-:{group}/probe\n")
    assert child.stdout == b"72\n"  # 42 + len("hello-uprobe") + 7 + len("second call")
    hits = [(e.name, e.fields["a"], e.fields["s"], e.fields["comm"], e.comm) for e in sink.data()]
    assert hits == [
        ("uprobes:probe", 42, "hello-uprobe", "target", "target"),
        ("uprobes:probe", 7, "second call", "target", "target"),
    ]
