"""Fidelity of `tracerd bpftrace` to bpftrace: % of a corpus whose output is identical.

Usage (root): PYTHONPATH=service python bench/bpftrace_fidelity.py [--only REGEX] [-v]
Each script of bench/bpftrace_cases.py runs twice on the same workload: under the
installed bpftrace and under `tracerd bpftrace` (the CLI, against a daemon this script
starts). Both wait until the probes are attached, run the workload, then end (the script's
own exit(), or SIGINT as Ctrl-C). Values that differ between runs are masked alike on both
sides (each case's `masks`); stdout must then be byte-identical, and for error cases the
message on stderr (without bpftrace's RLIMIT_MEMLOCK notice and the CLI's `session ...`
lines) and a non-zero exit status too. Printed: one line per differing case (-v: a diff),
then `identical: N/M (P%)`.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bpftrace_cases import CASES, HOLDOUT, HOLDOUT2, Case
from harness import Daemon

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ATTACH_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 60.0
SETTLE_S = 0.3
NOISE = re.compile(r"(?m)^.*RLIMIT_MEMLOCK.*\n?")
OURS = re.compile(r"(?m)^session \S+ .*\n?")


class Run:
    """A child with both pipes read into buffers by threads."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.out = bytearray()
        self.err = bytearray()
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(pipe: object, buf: bytearray) -> None:
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while chunk := os.read(fd, 65536):
            buf.extend(chunk)

    def wait_for(self, ready: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + ATTACH_TIMEOUT_S
        while time.monotonic() < deadline:
            if ready():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def finish(self, repeat: bool) -> int:
        """SIGINT (with `repeat`, again every second: bpftrace may inherit an ignored
        SIGINT until it installs its handler; the CLI takes a second one as "leave now"),
        SIGKILL after EXIT_TIMEOUT_S."""
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        rc = self.proc.poll()
        sent = False
        while rc is None and time.monotonic() < deadline:
            if repeat or not sent:
                self.proc.send_signal(signal.SIGINT)
                sent = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                rc = self.proc.wait(1.0)
        if rc is None:
            self.proc.kill()
            rc = self.proc.wait()
        for t in self._threads:
            t.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return rc


def _attached(out: bytearray) -> bool:
    """bpftrace printed `Attaching N probes...` (-f json: its `attached_probes` record)."""
    return b"Attaching " in out or b'"attached_probes"' in out


def _epoll_waiting(pid: int) -> bool:
    try:
        return "epoll" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return True


def run_case(
    case: Case, argv: list[str], work: Path, env: dict[str, str], ours: bool
) -> tuple[int, str, str]:
    """Start the tracer, run the workload once it is attached, stop it; its exit status,
    stdout and stderr. The workload (and all it starts) runs on one CPU: bpftrace prints
    each CPU's perf buffer in turn, so events of processes that ran on two CPUs come out
    in an order that changes from run to run (a loaded CI machine printed `./fidprog`
    before the `/bin/echo` that ran first); on one CPU its order is the events' order."""
    run = Run(argv, work, env)
    if ours:
        ready = lambda: b" running (" in run.err  # noqa: E731 - the CLI's session line
    else:
        ready = lambda: _attached(run.out) and _epoll_waiting(run.proc.pid)  # noqa: E731
    attached = run.wait_for(ready)
    if attached and case.work:
        pinned = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *case.work]
        subprocess.run(pinned, cwd=work, env=env, capture_output=True, check=False)
    self_ending = "exit()" in case.script or "-c" in case.opts or not attached
    if self_ending:
        with_exit = run.proc.poll() is not None
        if not with_exit:
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.proc.wait(EXIT_TIMEOUT_S / 3)
    else:
        time.sleep(SETTLE_S)
    rc = run.finish(repeat=not ours)
    # bytes that are not UTF-8 stay told apart (as backslash escapes) from U+FFFD
    out, err = (b.decode(errors="backslashreplace") for b in (run.out, run.err))
    return rc, out, err


def peer_argv(case: Case) -> list[str]:
    return [shutil.which("bpftrace") or "bpftrace", *case.opts, "-e", case.script, *case.args]


def tracerd_argv(case: Case) -> list[str]:
    tracerd = [sys.executable, "-m", "tracerd", "bpftrace"]
    return [*tracerd, *case.opts, "-e", case.script, *case.args]


def masked(case: Case, text: str) -> str:
    for m in case.masks:
        text = re.sub(m, "<M>", text)
    return ties_sorted(text)


_MAP_LINE = re.compile(r"^(@\w*)(?:\[.*\])?: (.+)$")


def ties_sorted(text: str) -> str:
    """Runs of `@map[key]: value` lines of one map with the same value, sorted: bpftrace
    sorts a map by value and prints equal values in its hash map's order, which a random
    seed per map changes from run to run (the same script printed `@[beta]: 1`, `@[delt]:
    1` in one run and the reverse in the next). Distinct values keep their order."""
    lines = text.split("\n")
    out: list[str] = []
    run: list[str] = []
    run_id: tuple[str, str] | None = None
    for line in [*lines, ""]:
        m = _MAP_LINE.match(line)
        this = (m[1], m[2]) if m else None
        if this is None or this != run_id:
            out += sorted(run)
            run = []
        run_id = this
        if this is None:
            out.append(line)
        else:
            run.append(line)
    return "\n".join(out[:-1])


def prepare_workdir() -> Path:
    work = Path(tempfile.mkdtemp(prefix="bpfid", dir="/tmp"))
    for prog in ("fidprog", "holdprog"):  # frame pointers: ustack walks them
        src = str(HERE / "bpftrace_corpus" / f"{prog}.c")
        cc = ["gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", str(work / prog), src]
        subprocess.run([*cc, "-lpthread"], check=True)
    shutil.copy("/bin/dash", work / "fidsh")
    (work / "fidfile").write_text("contents of fidfile\nsecond line\n")
    return work


def compare(case: Case, peer: tuple[int, str, str], ours: tuple[int, str, str]) -> list[str]:
    """The differences (empty: identical)."""
    diffs: list[str] = [f"exit status: bpftrace {peer[0]}, tracerd {ours[0]}"]
    pout, oout = masked(case, peer[1]), masked(case, ours[1])
    if pout != oout:
        diffs += [
            "stdout:",
            *difflib.unified_diff(
                pout.splitlines(), oout.splitlines(), "bpftrace", "tracerd", lineterm=""
            ),
        ]
    if case.error:
        perr = masked(case, NOISE.sub("", peer[2])).strip()
        oerr = masked(case, OURS.sub("", ours[2])).strip()
        if perr != oerr:
            diffs += [
                "stderr:",
                *difflib.unified_diff(
                    perr.splitlines(), oerr.splitlines(), "bpftrace", "tracerd", lineterm=""
                ),
            ]
        if (peer[0] != 0) != (ours[0] != 0):
            diffs.append("exit status differs")
    return diffs if len(diffs) > 1 else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="regex on case names")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument(
        "--holdout",
        nargs="?",
        const="1",
        choices=("1", "2"),
        help="a holdout set (scripts written after the work): 1 (15 scripts) or 2 (70)",
    )
    args = ap.parse_args()
    pool = {None: CASES, "1": HOLDOUT, "2": HOLDOUT2}[args.holdout]
    cases = [c for c in pool if not args.only or re.search(args.only, c.name)]
    if shutil.which("bpftrace") is None:
        raise SystemExit("bpftrace is not installed")
    work = prepare_workdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    identical = 0
    try:
        with Daemon() as daemon:
            ours_env = {**env, "TRACERD_SOCKET": daemon.socket, "PYTHONPATH": str(REPO / "service")}
            for case in cases:
                peer = run_case(case, peer_argv(case), work, env, ours=False)
                ours = run_case(case, tracerd_argv(case), work, ours_env, ours=True)
                diffs = compare(case, peer, ours)
                if not diffs:
                    identical += 1
                    continue
                print(f"DIFF {case.name}")
                if args.verbose:
                    print("\n".join("    " + d for d in diffs[:40]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pct = 100.0 * identical / max(1, len(cases))
    print(f"identical: {identical}/{len(cases)} ({pct:.1f}%)")


if __name__ == "__main__":
    main()
