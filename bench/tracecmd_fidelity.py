"""Text fidelity: `tracerd export -F text` lines vs `trace-cmd report` on the same bytes.

Usage (root): PYTHONPATH=service python bench/tracecmd_fidelity.py [--holdout] [--keep DIR]
`trace-cmd record -B <instance> -d --no-filter` (file version 6, uncompressed) records ~90
event types over 20+ subsystems (sched, syscalls, irq, timer, signal, block, net, skb, sock,
tcp, kmem, workqueue, task, writeback, power, ipi, filemap, markers, a uprobe and a
uretprobe with several fetch types) while a workload forks, execs, signals, sleeps, writes
with O_DIRECT, talks TCP/UDP on loopback, writes markers and calls the probed function.
The per-CPU raw pages are cut out of trace.dat (offsets from `trace-cmd dump --flyrecord`),
decoded by tracerd's decoder and merge (`EventPump`), their fields round-tripped through
JSON as the store keeps them, and rendered by the `text` export's encoder. Both outputs
are split per CPU (records of one CPU are in the same order on both sides) and compared
line by line. Printed: % identical overall, after masking the task name in the line head
(trace-cmd prints it from its own saved cmdlines), and per event type (worst first), with
an example of each differing type.

`--holdout` records a second set written after the work on the first, measured apart: 40+
event sets the first does not enable (raw_syscalls, exceptions, lock, mmap_lock, cgroup,
filelock, fib/fib6, icmp, x86_fpu, tlb, capability, memcg, readahead, vmalloc, csd, iomap,
maple_tree, pagemap, percpu, msr, timer_migration, ext4, oom, 20 more syscalls, events with
filters, a uprobe with arrays, nested strings, bitfields and `$comm`) over the workload of
bench/tracecmd_corpus/holdout_load.c.

Leaves nothing behind: the instance is emptied and removed (never `trace-cmd reset`), the
uprobe events are deleted by name.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable

import orjson
from tracefs_decode import raw_pages

from tracerd.engines.base import Limits
from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.kallsyms import printk_strings, symbol_lookup
from tracerd.engines.tracefs.merge import EventPump, SessionClock
from tracerd.engines.tracefs.reader import load_registry
from tracerd.engines.tracefs.registry import EventRegistry, dynamic_event_kinds
from tracerd.engines.tracefs.sinks import ListSink
from tracerd.engines.tracefs.spool import RawBudget, RawStore
from tracerd.engines.tracefs.tasks import TaskResolver
from tracerd.reports.export.rows import Row
from tracerd.reports.export.text import Text
from tracerd.types import WireEvent

TRACEFS = "/sys/kernel/tracing"
SYSCALLS = [
    "openat",
    "read",
    "write",
    "close",
    "clone",
    "clone3",
    "execve",
    "wait4",
    "kill",
    "nanosleep",
    "clock_nanosleep",
    "socket",
    "connect",
    "accept4",
    "sendto",
    "recvfrom",
    "bind",
    "listen",
    "fsync",
    "pipe2",
    "dup2",
    "getppid",
    "rt_sigaction",
    "rt_sigprocmask",
    "exit_group",
    "mmap",
    "munmap",
    "newfstatat",
    "lseek",
]
GLOBS = [
    "sched:*",
    "signal:*",
    "timer:*",
    "irq:*",
    "irq_vectors:*",
    "block:*",
    "net:*",
    "skb:*",
    "sock:*",
    "tcp:*",
    "udp:*",
    "napi:*",
    "kmem:*",
    "workqueue:*",
    "task:*",
    "writeback:*",
    "power:cpu_idle",
    "power:cpu_frequency",
    "ipi:*",
    "filemap:*",
    "mmap:*",
    "rseq:*",
    "ext4:ext4_da_write_begin",
    "ext4:ext4_sync_file_enter",
    "ext4:ext4_sync_file_exit",
    "jbd2:*",
]
HOLDOUT_SYSCALLS = [
    "access",
    "fcntl",
    "flock",
    "getrandom",
    "mprotect",
    "madvise",
    "brk",
    "newstat",
    "newuname",
    "readlink",
    "sched_yield",
    "fadvise64",
    "pread64",
    "pwrite64",
    "mkdir",
    "rmdir",
    "unlink",
    "set_robust_list",
    "prlimit64",
    "getpid",
    "sendmsg",
    "connect",
]
HOLDOUT_GLOBS = [
    "raw_syscalls:*",
    "exceptions:*",
    "lock:*",
    "mmap_lock:*",
    "cgroup:*",
    "filelock:*",
    "fib:*",
    "fib6:*",
    "icmp:*",
    "x86_fpu:*",
    "tlb:*",
    "capability:*",
    "memcg:*",
    "readahead:*",
    "vmalloc:*",
    "csd:*",
    "iomap:*",
    "maple_tree:*",
    "pagemap:*",
    "percpu:*",
    "msr:*",
    "timer_migration:*",
    "notifier:*",
    "neigh:*",
    "qdisc:*",
    "oom:*",
    "huge_memory:*",
    "thp:*",
    "migrate:*",
    "compaction:*",
    "vmscan:*",
    "printk:*",
    "ext4:*",
    "power:*",
    "alarmtimer:*",
    "rcu:*",
]
HOLDOUT_FILTERS = {
    # events of the first set, here only where a filter keeps them (the kernel applies it)
    "sched:sched_switch": "prev_state == 1 || next_pid == 0",
    "sched:sched_wakeup": "target_cpu == 0",
    "sched:sched_migrate_task": "dest_cpu != orig_cpu",
    "syscalls:sys_enter_read": "count >= 4096",
    "syscalls:sys_exit_read": "ret > 0",
    "timer:hrtimer_start": "mode == 1",
    "signal:signal_generate": "sig != 17",
    "kmem:kmalloc": "bytes_alloc > 1024",
}
LOAD_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
__attribute__((noinline)) long probed(int a, long b, const char *s) {
    __asm__ volatile("" ::: "memory");
    return a + b + (long)strlen(s);
}
static void on_usr1(int sig) { (void)sig; }
int main(int argc, char **argv) {
    int rounds = atoi(argv[1]);
    const char *marker = argv[2], *file = argv[3];
    signal(SIGUSR1, on_usr1);
    int mk = open(marker, O_WRONLY);
    void *buf; if (posix_memalign(&buf, 4096, 65536)) return 1;
    memset(buf, 'x', 65536);
    for (int r = 0; r < rounds; r++) {
        char text[64];
        int n = snprintf(text, sizeof text, "fidelity round %d", r);
        if (mk >= 0 && write(mk, text, n) < 0) return 1;
        probed(r - 3, 1000L * r, "hello");
        pid_t child = fork();
        if (child == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        kill(child, SIGUSR1); waitpid(child, 0, 0);
        kill(getpid(), SIGUSR1);
        int fd = open(file, O_WRONLY | O_CREAT | O_DIRECT, 0600);
        if (fd >= 0) { if (write(fd, buf, 65536) < 0) return 1; fsync(fd); close(fd); }
        int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        bind(ls, (void *)&a, sizeof a); listen(ls, 1); getsockname(ls, (void *)&a, &al);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (void *)&a, sizeof a) == 0) {
            int s = accept(ls, 0, 0);
            if (write(c, buf, 3000) < 0 || read(s, buf, 3000) < 0) return 1;
            close(s);
        }
        close(c); close(ls);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(9),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        sendto(u, "ping", 4, 0, (void *)&d, sizeof d); close(u);
        usleep(20000);
    }
    unlink(file);
    return 0;
}
"""


def expand(globs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for g in globs:
        system, _, event = g.partition(":")
        if event == "*":
            base = f"{TRACEFS}/events/{system}"
            if os.path.isdir(base):
                out += [f"{system}:{e}" for e in sorted(os.listdir(base)) if _is_event(base, e)]
        elif os.path.isdir(f"{TRACEFS}/events/{system}/{event}"):
            out.append(g)
    return out


def _is_event(base: str, name: str) -> bool:
    return os.path.isfile(f"{base}/{name}/format")


def symbol_offset(exe: str, symbol: str) -> int:
    """File offset of a function (PIE: the text segment's vaddr == its file offset)."""
    out = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol:
            return int(parts[0], 16)
    raise SystemExit(f"no symbol {symbol} in {exe}")


def append_uprobe_events(line: str) -> None:
    """One definition per write, O_APPEND without a seek (tracefs refuses lseek to the end)."""
    fd = os.open(f"{TRACEFS}/uprobe_events", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def add_uprobes(group: str, exe: str, holdout: bool) -> list[str]:
    symbol = "probed2" if holdout else "probed"
    off = symbol_offset(exe, symbol)
    at = f"{exe}:{off:#x}"
    if holdout:  # struct rec {u8 bytes[8]; char *name; short neg; unsigned short u;}
        defs = [
            f"p:{group}/probed {at} arr=+0(%di):u8[4] name=+0(+8(%di)):string "
            "neg=+16(%di):s16 u=+18(%di):u16 tag=+0(%si):string h=%dx:x16 cm=$comm "
            "bits=+0(%di):b4@4/32 xs=+0(%di):x8[3]",
            f"r:{group}/probed_ret {at} ret=$retval:s32 rx=$retval:x64",
        ]
    else:
        defs = [
            f"p:{group}/probed {at} a=%di:s32 b=%si:s64 bx=%si:x64 s=+0(%dx):string "
            "u8=%di:u8 x16=%di:x16",
            f"r:{group}/probed_ret {at} ret=$retval:s64",
        ]
    for d in defs:
        append_uprobe_events(d)
    return [f"{group}:probed", f"{group}:probed_ret"]


def remove_uprobes(group: str) -> None:
    for ev in ("probed_ret", "probed"):
        if os.path.isdir(f"{TRACEFS}/events/{group}/{ev}"):
            append_uprobe_events(f"-:{group}/{ev}")


def remove_instance(name: str) -> None:
    path = f"{TRACEFS}/instances/{name}"
    if not os.path.isdir(path):
        return
    for rel, text in (("tracing_on", "0"), ("events/enable", "0")):
        try:
            with open(f"{path}/{rel}", "w") as fh:
                fh.write(text)
        except OSError:
            pass
    os.rmdir(path)


class Done:
    drained_ns = 0
    finished = True


def tracerd_lines(
    raw: dict[int, bytes], reg: EventRegistry, decoded: list[WireEvent] | None = None
) -> list[str]:
    """Decode + merge as the worker does, store-shaped rows, the `text` export's encoder
    (one line per event; the events go to `decoded` when given)."""
    budget = RawBudget(1 << 40, 0, can_spool=False)
    stores = {cpu: RawStore(cpu, budget, None) for cpu in raw}
    for cpu, data in raw.items():
        for i in range(0, len(data), 1 << 20):
            stores[cpu].put(data[i : i + (1 << 20)])
    sink = ListSink()
    pump = EventPump(
        PageDecoder(reg, TaskResolver(tracefs_root=TRACEFS)),
        stores,
        dict.fromkeys(raw, Done()),
        sink,
        4096,
        Limits(),
        SessionClock("mono"),
    )
    pump.run()
    if decoded is not None:
        decoded.extend(sink.events)
    rows = [
        Row(
            i,
            e.ts_ns,
            e.cpu,
            e.pid,
            e.tid,
            e.comm,
            e.name,
            orjson.dumps(e.fields).decode(),
            e.dur_ns,
            e.ret,
            e.errno,
        )
        for i, e in enumerate(sink.events)
    ]
    text = Text(
        "tracefs",
        0,
        0,
        reg.print_fmts(),
        arrays=reg.value_widths(),
        symbols=symbol_lookup(),
        strings=printk_strings(),
    )
    return (text.header() + text.encode(rows) + text.footer()).decode().splitlines()


def trace_cmd_lines(dat: str, instance: str) -> list[str]:
    """`trace-cmd report`, without the `<instance>: ` label it puts before each line of an
    instance's buffer (its own bookkeeping: an export has one buffer)."""
    out = subprocess.run(["trace-cmd", "report", "-i", dat], capture_output=True, text=True).stdout
    label = f"{instance}: "
    return [line.removeprefix(label) for line in out.splitlines()]


_CPU_RE = re.compile(r"^\s*(.*?)-(\d+)\s+\[(\d+)\]\s")
_LOST_RE = re.compile(r"^CPU:(\d+) \[LOST")
_NAME_RE = re.compile(r"\]\s+\d+\.\d+:\s+([\w.]+):")


def per_cpu(lines: list[str]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = collections.defaultdict(list)
    for line in lines:
        m = _CPU_RE.match(line)
        if m is not None:
            out[int(m[3])].append(line)
            continue
        lm = _LOST_RE.match(line)
        if lm is not None:
            out[int(lm[1])].append(line)
    return out


def event_type(line: str) -> str:
    if _LOST_RE.match(line):
        return "[lost]"
    m = _NAME_RE.search(line)
    return m[1] if m else "?"


def mask_comm(line: str) -> str:
    m = _CPU_RE.match(line)
    return line if m is None else f"<comm>-{m[2]}" + line[m.end(2) :]


def compare(ours: list[str], theirs: list[str], examples: int) -> float:
    mine, peer = per_cpu(ours), per_cpu(theirs)
    total = same = masked = 0
    by_type: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    diffs: dict[str, tuple[str, str]] = {}
    for cpu in sorted(set(mine) | set(peer)):
        a, b = mine.get(cpu, []), peer.get(cpu, [])
        if len(a) != len(b):
            print(f"cpu {cpu}: {len(a)} tracerd lines, {len(b)} trace-cmd lines")
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else ""
            y = b[i] if i < len(b) else ""
            kind = event_type(y or x)
            row = by_type[kind]
            total += 1
            row[0] += 1
            if x == y:
                same += 1
                row[1] += 1
            if mask_comm(x) == mask_comm(y):
                masked += 1
                row[2] += 1
            elif kind not in diffs:
                diffs[kind] = (x, y)
    print(
        f"lines: {total} over {len(by_type)} event types"
        f" (tracerd {len(ours)}, trace-cmd {len(theirs)})"
    )
    print(
        f"identical: {same / max(total, 1):.1%}   after masking comm: {masked / max(total, 1):.1%}"
    )
    print(f"{'event type':<32} {'lines':>7} {'same':>7} {'masked':>7}")
    worst = sorted(by_type.items(), key=lambda kv: (kv[1][2] / kv[1][0], -kv[1][0]))
    for kind, (n, s, m) in worst:
        print(f"{kind:<32} {n:>7} {s / n:>7.1%} {m / n:>7.1%}")
    for kind, (x, y) in list(diffs.items())[:examples]:
        print(f"--- {kind}\n  tracerd  : {x}\n  trace-cmd: {y}")
    return same / max(total, 1)


def write_corpus(
    path: str, events: list[WireEvent], ours: list[str], theirs: list[str], reg: EventRegistry
) -> int:
    """One case per event type whose line trace-cmd printed identically (comm masked): the
    event's print fmt, value widths, fields, the kernel symbols its addresses resolve to (and
    the printk_formats strings its pointers name), and
    trace-cmd's line (its comm in the event). tests/unit/render/test_ftrace_peer.py replays
    them without a kernel."""
    index_of = {id(line): i for i, line in enumerate(ours)}
    mine, peer = per_cpu(ours), per_cpu(theirs)
    lookup, strings = symbol_lookup(), printk_strings()
    fmts, widths = reg.print_fmts(), reg.value_widths()
    cases: dict[str, dict[str, object]] = {}
    for cpu in mine:
        for x, y in zip(mine[cpu], peer.get(cpu, []), strict=False):
            i = index_of.get(id(x))
            if i is None or mask_comm(x) != mask_comm(y):
                continue
            ev = events[i]
            if ev.name in cases or ev.name == "lost" or ev.name not in fmts:
                continue
            syms = {
                str(v): lookup(v)
                for v in ev.fields.values()
                if isinstance(v, int) and v > 0xFFFF_0000_0000_0000 and lookup(v)
            }
            texts = {
                str(v): strings(v)
                for v in ev.fields.values()
                if isinstance(v, int) and strings(v) is not None
            }
            peer_comm = _CPU_RE.match(y)
            cases[ev.name] = {
                "print_fmt": fmts[ev.name],
                "widths": widths.get(ev.name, {}),
                "symbols": syms,
                "strings": texts,
                "event": {
                    "ts_ns": ev.ts_ns,
                    "cpu": ev.cpu,
                    "tid": ev.tid,
                    "comm": peer_comm[1].strip() if peer_comm else ev.comm,
                    "name": ev.name,
                    "fields": ev.fields,
                },
                "line": y,
            }
    with open(path, "wb") as fh:
        for _, case in sorted(cases.items()):
            fh.write(orjson.dumps(case) + b"\n")
    return len(cases)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30, help="workload rounds (~25 ms each)")
    ap.add_argument("--examples", type=int, default=60, help="differing types to show")
    ap.add_argument("--keep", help="copy trace.dat and both outputs into this directory")
    ap.add_argument("--corpus", help="write one golden case per event type (JSON Lines)")
    ap.add_argument("--holdout", action="store_true", help="the holdout event sets")
    args = ap.parse_args()
    tag = uuid.uuid4().hex[:8]
    instance, group = f"tracerd_fid_{tag}", f"tcfid_{tag}"
    cgroup = f"/sys/fs/cgroup/tcfid_{tag}"
    globs, syscalls = (HOLDOUT_GLOBS, HOLDOUT_SYSCALLS) if args.holdout else (GLOBS, SYSCALLS)
    filters = HOLDOUT_FILTERS if args.holdout else {}
    with tempfile.TemporaryDirectory(prefix="tracerd-fid-") as tmp:
        src = os.path.join(tmp, "load.c")
        if args.holdout:
            shutil.copy(
                os.path.join(os.path.dirname(__file__), "tracecmd_corpus", "holdout_load.c"), src
            )
        else:
            with open(src, "w") as fh:
                fh.write(LOAD_C)
        exe = os.path.join(tmp, f"tcfid{tag[:6]}")
        subprocess.run(["gcc", "-O1", "-o", exe, src], check=True)
        events = expand(globs) + [
            f"syscalls:sys_{d}_{s}" for s in syscalls for d in ("enter", "exit")
        ]
        events += [e for e in filters if e not in events]
        events = [e for e in events if os.path.isdir(f"{TRACEFS}/events/{e.replace(':', '/')}")]
        try:
            events += add_uprobes(group, exe, args.holdout)
            with open(f"{TRACEFS}/dynamic_events") as fh:
                kinds = dynamic_event_kinds(fh.read())
            reg = load_registry(TRACEFS, events, kinds)  # while the uprobes exist
            dat = os.path.join(tmp, "trace.dat")
            cmd = ["trace-cmd", "record", "-B", instance, "-d", "--no-filter"]
            cmd += ["--file-version", "6", "--compression", "none", "-b", "16384", "-o", dat]
            for ev in events:
                cmd += ["-e", ev, *(["-f", filters[ev]] if ev in filters else [])]
            marker = f"{TRACEFS}/instances/{instance}/trace_marker"
            if args.holdout:
                run = [*cmd, exe, str(args.rounds), os.path.join(tmp, "ra.bin"), cgroup]
            else:
                run = [*cmd, exe, str(args.rounds), marker, os.path.join(tmp, "direct.bin")]
            done = subprocess.run(run, capture_output=True, text=True, cwd=tmp)
            if not os.path.exists(dat):  # it exits 1 after recording (no set_ftrace_filter)
                raise SystemExit(f"trace-cmd record failed: {done.stderr[-2000:]}")
        finally:
            remove_instance(instance)
            remove_uprobes(group)
            if os.path.isdir(cgroup):
                os.rmdir(cgroup)
        theirs = trace_cmd_lines(dat, instance)
        decoded: list[WireEvent] = []
        ours = tracerd_lines(raw_pages(dat), reg, decoded)
        if args.corpus:
            n = write_corpus(args.corpus, decoded, ours, theirs, reg)
            print(f"corpus: {n} cases in {args.corpus}")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            shutil.copy(dat, args.keep)
            with open(os.path.join(args.keep, "tracerd.txt"), "w") as fh:
                fh.write("\n".join(ours) + "\n")
            with open(os.path.join(args.keep, "trace-cmd.txt"), "w") as fh:
                fh.write("\n".join(theirs) + "\n")
        compare(ours, theirs, args.examples)


if __name__ == "__main__":
    main()
