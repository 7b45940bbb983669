"""seccomp cBPF program that stops (SECCOMP_RET_TRACE) only on the traced syscalls.

Mechanism (kernel-interfaces 3.10, seccomp(2)): the stub installs the program right before
exec; the kernel then reports `PTRACE_EVENT_SECCOMP` stops for traced syscalls only, and the
tracer resumes with PTRACE_SYSCALL (to see the exit) after those and PTRACE_CONT after
everything else, so untraced syscalls run at full speed. Layout: check `seccomp_data.arch`
(anything but x86-64 -> TRACE, so i386 calls are never missed), `nr` with the x32 bit ->
TRACE, then one 4-instruction block per run of consecutive traced numbers (sorted, so a
number below a run's start is allowed at once). Every jump is short, so the 8-bit jump
offsets of cBPF never overflow; at most BPF_MAXINSNS (4096) instructions.

Caveat: once the tracer is gone the traced syscalls fail with ENOSYS (no tracer to honour
RET_TRACE) for the rest of the process's life, and the filter is inherited by children.
Hence a seccomp-accelerated command never outlives its session, and seccomp needs
follow_forks (a child that is not traced would see ENOSYS).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGT_K = 0x25
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_TRACE = 0x7FF00000
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
OFFSET_NR = 0
OFFSET_ARCH = 4
BPF_MAXINSNS = 4096

Insn = tuple[int, int, int, int]
"""(code, jt, jf, k) as struct sock_filter"""


def ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for nr in sorted(set(numbers)):
        if out and out[-1][1] == nr - 1:
            out[-1] = (out[-1][0], nr)
        else:
            out.append((nr, nr))
    return out


def build(traced: Iterable[int]) -> list[Insn]:
    """The program; ValueError if it would exceed BPF_MAXINSNS."""
    prog: list[Insn] = [
        (BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        (BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (BPF_RET_K, 0, 0, SECCOMP_RET_TRACE),
        (BPF_LD_W_ABS, 0, 0, OFFSET_NR),
        (BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        (BPF_RET_K, 0, 0, SECCOMP_RET_TRACE),
    ]
    for lo, hi in ranges(traced):
        prog += [
            (BPF_JGE_K, 0, 2, lo),  # below this run (and all later ones): allow
            (BPF_JGT_K, 2, 0, hi),  # above it: next block
            (BPF_RET_K, 0, 0, SECCOMP_RET_TRACE),
            (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        ]
    prog.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    if len(prog) > BPF_MAXINSNS:
        raise ValueError(f"seccomp program of {len(prog)} instructions exceeds {BPF_MAXINSNS}")
    return prog


def assemble(prog: list[Insn]) -> bytes:
    """struct sock_filter[]: u16 code, u8 jt, u8 jf, u32 k."""
    return b"".join(struct.pack("=HBBI", code, jt, jf, k) for code, jt, jf, k in prog)


_NAMES = {
    BPF_LD_W_ABS: "ld",
    BPF_JEQ_K: "jeq",
    BPF_JGT_K: "jgt",
    BPF_JGE_K: "jge",
    BPF_RET_K: "ret",
}


def disassemble(prog: list[Insn]) -> str:
    """`tcpdump -d` style text: `(003) jeq      #0xc000003e      jt 4    jf 5`."""
    lines = []
    for pc, (code, jt, jf, k) in enumerate(prog):
        op = _NAMES.get(code, f"code{code:#x}")
        if code == BPF_LD_W_ABS:
            lines.append(f"({pc:03d}) {op:<8} [{k}]")
        elif code == BPF_RET_K:
            lines.append(f"({pc:03d}) {op:<8} #{k:#x}")
        else:
            arg = f"#{k:#x}"
            lines.append(f"({pc:03d}) {op:<8} {arg:<16} jt {pc + 1 + jt}\tjf {pc + 1 + jf}")
    return "\n".join(lines)


def evaluate(prog: list[Insn], arch: int, nr: int) -> int:
    """Run the program on (arch, nr) as the kernel would (for tests)."""
    acc = 0
    pc = 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == BPF_LD_W_ABS:
            acc = arch if k == OFFSET_ARCH else nr
            pc += 1
        elif code == BPF_RET_K:
            return k
        else:
            taken = {BPF_JEQ_K: acc == k, BPF_JGT_K: acc > k, BPF_JGE_K: acc >= k}[code]
            pc += 1 + (jt if taken else jf)
