from __future__ import annotations

import pytest

from tracerd.engines.ptrace import seccomp

ALLOW, TRACE = seccomp.SECCOMP_RET_ALLOW, seccomp.SECCOMP_RET_TRACE
X86_64, I386 = seccomp.AUDIT_ARCH_X86_64, 0x40000003


def test_ranges() -> None:
    assert seccomp.ranges([5, 1, 2, 3, 9, 10]) == [(1, 3), (5, 5), (9, 10)]


@pytest.mark.parametrize("traced", [[], [0], [2, 3, 4, 257], list(range(0, 460, 3)), [462]])
def test_filter_traces_exactly_the_selected_syscalls(traced: list[int]) -> None:
    prog = seccomp.build(traced)
    for nr in range(0, 470):
        expected = TRACE if nr in traced else ALLOW
        assert seccomp.evaluate(prog, X86_64, nr) == expected, nr
    assert seccomp.evaluate(prog, I386, 5) == TRACE
    assert seccomp.evaluate(prog, X86_64, 0x40000000 | 2) == TRACE  # x32


def test_jumps_fit_and_program_assembles() -> None:
    prog = seccomp.build(range(0, 460, 2))
    assert all(jt < 256 and jf < 256 for _c, jt, jf, _k in prog)
    assert len(seccomp.assemble(prog)) == 8 * len(prog)
    with pytest.raises(ValueError, match="exceeds"):
        seccomp.build(range(0, 3000, 2))


def test_disassembly_reads_like_tcpdump() -> None:
    text = seccomp.disassemble(seccomp.build([257]))
    lines = text.splitlines()
    assert lines[0] == "(000) ld       [4]"
    assert lines[1] == "(001) jeq      #0xc000003e      jt 3\tjf 2"
    assert lines[2] == "(002) ret      #0x7ff00000"
    assert "jge      #0x101" in text
