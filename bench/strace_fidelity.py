"""strace fidelity: `tracerd strace` vs strace 6.1, line by line, on a corpus of C programs.

Each program of bench/corpus/strace/ (files, descriptors, memory, processes, signals,
AF_UNIX/loopback sockets, time, IPC, ABI edges) is built with gcc, then run in a fresh
empty directory under `strace OPTS` and under `tracerd strace OPTS` (the real CLI against a
real `tracerd serve` started here), with the same environment, stdin (/dev/null) and stdout
(a pipe). Both traces (stderr) are masked the same way for values that differ between runs
(pids and ids, addresses, times, ephemeral ports, random bytes), then compared. strace runs
twice: a program whose two strace traces differ after masking is unstable (threads racing)
and counted apart. Prints % identical traces, % identical lines (matched lines over the
longer trace) and the worst diffs.

    sudo .venv/bin/python bench/strace_fidelity.py [--only GLOB] [--sets f,plain,...]
        [--jobs 2] [--worst 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO, Daemon

CORPUS = REPO / "bench" / "corpus" / "strace"
CORPORA = {
    "main": CORPUS,
    "holdout": REPO / "bench" / "corpus" / "strace_holdout",
    "holdout2": REPO / "bench" / "corpus" / "strace_holdout2",
}
"""holdout, holdout2: programs written without tuning against them, reported apart"""
SCRIPT_SUFFIXES = (".sh", ".py")
"""corpus scripts (a `#!` line of their own), run as they are; the rest are C programs"""
CALLER_ENV = ("PATH", "LANG", "LC_ALL", "TERM")
"""what `tracerd strace` hands a launched command (cli/trace_cmds.py): strace gets the same"""
OPTION_SETS: dict[str, list[str]] = {
    "f": ["-f"],
    "plain": [],
    "s8": ["-f", "-s", "8"],
    "file": ["-f", "-e", "trace=%file,%desc"],
    "filters": ["-f", "-qq", "-e", "trace=!%memory,/^rt_sig", "-e", "signal=none", "-a", "32"],
    "T": ["-f", "-T", "-e", "trace=?nosuch,%process,%signal,%ipc"],
    "y": ["-f", "-y"],
    "yy": ["-f", "-yy"],
}
_OWN_SETS = re.compile(r"^/\* bench sets: (.*) \*/$", re.M)
"""a program's own option sets, run besides the chosen ones: `/* bench sets: y yy */`, or
`/* bench sets: P=-f -P pf */` for options of its own (set name P)"""
DEFAULT_SETS = ("f", "plain")
TIMEOUT_S = 60

_PID_RETURNS = re.compile(
    r"^(?:\[pid\s+\d+\] )?(?:<\.\.\. )?(clone3?|fork|vfork|getpid|gettid|getppid|getpgrp|getpgid|"
    r"getsid|setsid|set_tid_address|wait4|waitpid|pidfd_open|"
    r"add_key|keyctl)\b.*\) += (\d+)"
)
_IPC_ID = re.compile(r"^((?:\[pid\s+\S+\] )?(?:shm|sem|msg)(?:ctl|at|op|timedop|snd|rcv)\()\d+")
_IPC_GET = re.compile(r"^((?:\[pid\s+\S+\] )?(?:shm|sem|msg)get\(.*\) += )\d+")
_PREFIX_PID = re.compile(r"^\[pid\s+(\d+)\] ")
_FIELD_PIDS = re.compile(r"\b(?:si_pid|pid)=(\d+)")
_ADDR = re.compile(r"\b0x[0-9a-f]{9,16}\b")
_TIMES = re.compile(
    r"\b(tv_sec|tv_nsec|tv_usec|si_utime|si_stime|uptime|freeram|sharedram|bufferram|"
    r"totalswap|freeswap|procs|freehigh|f_bfree|f_bavail|f_ffree|ru_maxrss|ru_minflt|ru_majflt|"
    r"ru_nvcsw|ru_nivcsw|tms_utime|tms_stime|tms_cutime|tms_cstime|loads|stx_ino|"
    r"shm_atime|shm_dtime|shm_ctime|used_ids|shm_tot|shm_rss|shm_swp)=(\[[^\]]*\]|\d+)"
)
_TIMED_RETURN = re.compile(
    r"^((?:\[pid\s+PID\] )?(?:times|time|\w+ctl\(\w+, (?:IPC|SHM|SEM|MSG)_INFO)\(?.*\) += )"
    r"\d+( \(\S+\))?"
)
"""returns that vary between runs: times, and the highest index of the system's IPC tables"""
_DURATION = re.compile(r"<\d+\.\d{6}>$")
_PORT = re.compile(r"htons\((\d{5})\)")
_RANDOM = re.compile(r'(getrandom\()"[^"]*"(\.\.\.)?')
_CPU = re.compile(r"^((?:\[pid\s+\S+\] )?getcpu\()\[\d+\]")
"""getcpu's CPU: where the scheduler ran the call"""
_INODE = re.compile(r"(\[|->|<)(\d{4,})(?=[\],>]|->)")
"""-y/-yy: inode numbers of pipes and sockets (`pipe:[1234567]`, `[11->12]`)"""
_FD_PORT = re.compile(r"(\d+\.\d+\.\d+\.\d+|\])(:)(\d{5})\b")
"""-yy: ephemeral ports in socket details (`TCP:[127.0.0.1:50403]`)"""
_RESOLVED = re.compile(r"^(?:tracerd )?strace: (Requested path)")


def _mask_text(text: str, id_rx: re.Pattern[str] | None) -> str:
    if id_rx is not None:
        text = id_rx.sub("PID", text)
    text = _IPC_ID.sub(r"\1ID", text)
    text = _ADDR.sub("0xADDR", text)
    text = _TIMES.sub(lambda m: m.group(1) + "=N", text)
    text = _PORT.sub("htons(PORT)", text)
    text = _DURATION.sub("<T>", text)
    text = _INODE.sub(r"\1INO", text)
    text = _FD_PORT.sub(r"\1:PORT", text)
    text = _RESOLVED.sub(r"strace: \1", text)
    text = _CPU.sub(r"\1[CPU]", text)
    return _RANDOM.sub(r'\1"RANDOM"', text)


def mask(lines: list[str]) -> list[str]:
    """Both sides' traces with run-varying values replaced by placeholders."""
    ids: set[str] = set()
    for line in lines:
        for rx in (_PREFIX_PID, _PID_RETURNS):
            m = rx.match(line)
            if m:
                ids.add(m.group(m.lastindex or 1))
        ids.update(_FIELD_PIDS.findall(line))
    ids.discard("0")
    ids = {i for i in ids if len(i) >= 3}  # pids; small IPC ids are masked by position
    id_rx = (
        re.compile(r"\b(" + "|".join(sorted(ids, key=len, reverse=True)) + r")\b") if ids else None
    )
    out = []
    for line in lines:
        cut = line.rfind(" = ")
        call, rest = (line[:cut], line[cut:]) if cut >= 0 else (line, "")
        padded = call.rstrip(" ")
        pad = len(call) - len(padded)
        masked = _mask_text(padded, id_rx)
        if pad > 0 and cut >= 0:  # keep the ` = ` column where it was (the pad strace computed)
            pad = max(1, pad + len(padded) - len(masked))
        line = masked + " " * pad + _mask_text(rest, id_rx)
        line = _TIMED_RETURN.sub(lambda m: m.group(1) + "N", line)
        line = _IPC_GET.sub(lambda m: m.group(1) + "ID", line)
        out.append(line)
    return out


def source(name: str, corpus: Path | None = None) -> Path:
    """A corpus program's source: NAME.c, or a script NAME.sh/NAME.py."""
    corpus = corpus or CORPUS
    for suffix in SCRIPT_SUFFIXES:
        if (corpus / f"{name}{suffix}").exists():
            return corpus / f"{name}{suffix}"
    return corpus / f"{name}.c"


def build(workdir: Path, names: list[str], corpus: Path | None = None) -> Path:
    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)

    def one(name: str) -> None:
        src = source(name, corpus)
        if src.suffix in SCRIPT_SUFFIXES:
            shutil.copyfile(src, bindir / name)
            (bindir / name).chmod(0o755)
            return
        cmd = ["gcc", "-O0", "-w", "-pthread", "-o", str(bindir / name), str(src)]
        subprocess.run(cmd, check=True, cwd=src.parent)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(one, names))
    return bindir


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir(parents=True)
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, ["<timeout>"]
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode  # as a shell
    return code, proc.stderr.decode(errors="replace").splitlines()


_OWN_LINES = re.compile(r"^session \S+ ")


_ATTACHED = re.compile(r"strace: Process \d+ attached$")


def without_attach_notices(lines: list[str]) -> list[str]:
    """strace's `strace: Process N attached` notices (which tracerd does not print) taken
    out of the lines they split: `clone(...SIGCHLDstrace: Process N attached` + the rest."""
    out: list[str] = []
    glue = False
    for line in lines:
        if glue and out:
            out[-1] += line
        else:
            out.append(line)
        glue = bool(_ATTACHED.search(out[-1]))
        if glue:
            out[-1] = _ATTACHED.sub("", out[-1])
            if not out[-1]:
                out.pop()
                glue = False
    return out


def run_strace(exe: Path, opts: list[str], cwd: Path) -> tuple[int, list[str]]:
    env = {k: os.environ[k] for k in CALLER_ENV if k in os.environ}
    code, lines = _run(["strace", *opts, "--", str(exe)], cwd, env)
    return code, without_attach_notices(lines)


def run_tracerd(exe: Path, opts: list[str], cwd: Path, socket: str) -> tuple[int, list[str]]:
    env = {**os.environ, "TRACERD_SOCKET": socket, "PYTHONPATH": str(REPO / "service")}
    cmd = [sys.executable, "-m", "tracerd", "strace", *opts, "--", str(exe)]
    code, lines = _run(cmd, cwd, env)
    return code, [line for line in lines if not _OWN_LINES.match(line)]


@dataclass
class Result:
    program: str
    options: str
    stable: bool
    ours: list[str]
    theirs: list[str]
    codes: tuple[int, int]
    matched: int = 0
    total: int = 0
    diff: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.ours == self.theirs


def own_sets(program: str) -> dict[str, list[str]]:
    """The option sets a program names in its `/* bench sets: ... */` line."""
    m = _OWN_SETS.search(source(program).read_text())
    out: dict[str, list[str]] = {}
    for item in m.group(1).split(";" if "=" in m.group(1) else None) if m else ():
        name, _, opts = item.strip().partition("=")
        out[name] = opts.split() if opts else OPTION_SETS[name]
    return out


def compare(program: str, set_name: str, exe: Path, work: Path, socket: str) -> Result:
    opts = OPTION_SETS[set_name] if set_name in OPTION_SETS else own_sets(program)[set_name]
    cwd = work / "run" / f"{program}.{set_name}"  # the same path for all three runs
    code1, first = run_strace(exe, opts, cwd)
    _code2, second = run_strace(exe, opts, cwd)
    ours_code, ours = run_tracerd(exe, opts, cwd, socket)
    theirs = mask(first)
    result = Result(
        program, set_name, theirs == mask(second), mask(ours), theirs, (ours_code, code1)
    )
    sm = difflib.SequenceMatcher(None, result.theirs, result.ours, autojunk=False)
    result.matched = sum(b.size for b in sm.get_matching_blocks())
    result.total = max(len(result.theirs), len(result.ours))
    if not result.identical:
        result.diff = list(
            difflib.unified_diff(result.theirs, result.ours, "strace", "tracerd", n=0, lineterm="")
        )[2:]
    return result


def report(results: list[Result], worst: int) -> None:
    stable = [r for r in results if r.stable]
    same = sum(r.identical for r in stable)
    matched = sum(r.matched for r in stable)
    total = sum(r.total for r in stable)
    codes = sum(r.codes[0] == r.codes[1] for r in results)
    print(f"programs x option sets: {len(results)} ({len(results) - len(stable)} unstable)")
    for name in sorted({r.options for r in stable}):
        group = [r for r in stable if r.options == name]
        g_same = sum(r.identical for r in group)
        g_lines = sum(r.matched for r in group) / max(1, sum(r.total for r in group))
        print(f"  {name:<6} {g_same}/{len(group)} identical traces, {100 * g_lines:.1f}% lines")
    print(f"identical traces: {same}/{len(stable)} = {100 * same / max(1, len(stable)):.1f}%")
    print(f"identical lines:  {matched}/{total} = {100 * matched / max(1, total):.1f}%")
    print(f"same exit status: {codes}/{len(results)}")
    bad = sorted((r for r in stable if not r.identical), key=lambda r: r.matched - r.total)
    for r in bad[:worst]:
        print(f"\n--- {r.program} [{r.options}] {r.matched}/{r.total} lines, exit {r.codes}")
        for line in r.diff[:24]:
            print("   " + line[:200])
    for r in results:
        if not r.stable:
            print(f"unstable: {r.program} [{r.options}]")
        if r.codes[0] != r.codes[1]:
            print(
                f"exit status: {r.program} [{r.options}] tracerd {r.codes[0]}, strace {r.codes[1]}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="*", help="programs matching these globs (a,b,...)")
    ap.add_argument("--sets", default=",".join(DEFAULT_SETS), help=f"of {', '.join(OPTION_SETS)}")
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="main")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--worst", type=int, default=8)
    ap.add_argument("--keep", help="write every masked trace pair under this directory")
    args = ap.parse_args()
    global CORPUS
    CORPUS = CORPORA[args.corpus]
    globs = args.only.split(",")
    names = sorted(
        p.stem
        for p in CORPUS.iterdir()
        if p.suffix in (".c", *SCRIPT_SUFFIXES) and any(fnmatch.fnmatch(p.stem, g) for g in globs)
    )
    sets = [s for s in args.sets.split(",") if s]
    work = Path(tempfile.mkdtemp(prefix="sfid", dir="/tmp"))
    try:
        bindir = build(work, names)
        with Daemon() as daemon, concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            jobs = [
                pool.submit(compare, n, s, bindir / n, work, daemon.socket)
                for n in names
                for s in dict.fromkeys([*sets, *own_sets(n)])
            ]
            results = [j.result() for j in jobs]
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for r in results:
                (keep / f"{r.program}.{r.options}.strace").write_text("\n".join(r.theirs) + "\n")
                (keep / f"{r.program}.{r.options}.tracerd").write_text("\n".join(r.ours) + "\n")
        report(results, args.worst)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
