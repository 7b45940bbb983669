"""Filter programs compiled through libpcap equal `tcpdump -d/-dd/-ddd` byte for byte."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tracerd.engines.packet.cbpf import (
    DLT_EN10MB,
    DLT_LINUX_SLL2,
    compile_filter,
    cooked_kernel_program,
    linktype_name,
    linktype_value,
)
from tracerd.errors import BadRequest, CompileError

FILTERS = [
    line
    for line in (Path(__file__).parents[3] / "data/packet/filters.txt").read_text().splitlines()
    if not line.startswith("#")
]
TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"


def tcpdump(flag: str, linktype: str, expression: str, snaplen: int = 262144) -> str:
    proc = subprocess.run(
        [TCPDUMP, flag, "-y", linktype, "-s", str(snaplen), expression],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


CASES = [(e, "EN10MB") for e in FILTERS] + [
    (e, "LINUX_SLL2")
    for e in FILTERS
    if not e.startswith(("vlan", "ether"))  # no Ethernet
]


@pytest.mark.parametrize(("expression", "linktype"), CASES)
def test_programs_equal_tcpdump(expression: str, linktype: str) -> None:
    program = compile_filter(expression, linktype_value(linktype))
    for level, flag in ((1, "-d"), (2, "-dd"), (3, "-ddd")):
        assert program.dump(level) == tcpdump(flag, linktype, expression), (flag, expression)


def test_snaplen_is_the_accept_value() -> None:
    program = compile_filter("udp", DLT_EN10MB, 96)
    assert program.dump(1) == tcpdump("-d", "EN10MB", "udp", 96)
    assert program.insns[-2] == (0x6, 0, 0, 96)


def test_syntax_error_has_libpcaps_message() -> None:
    with pytest.raises(CompileError) as err:
        compile_filter("tcp port", DLT_EN10MB)
    proc = subprocess.run(
        [TCPDUMP, "-d", "-y", "EN10MB", "tcp port"], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert f"tcpdump: {err.value.message}" in proc.stderr
    assert err.value.detail == {"filter": "tcp port", "linktype": "EN10MB"}


def test_link_types_by_name_and_number() -> None:
    assert linktype_value("EN10MB") == DLT_EN10MB == linktype_value("1")
    assert linktype_name(DLT_LINUX_SLL2) == "LINUX_SLL2"
    with pytest.raises(BadRequest):
        linktype_value("NOPE")
    with pytest.raises(BadRequest):
        linktype_value("99999")


def test_user_space_run_matches_the_program() -> None:
    arp = compile_filter("arp").matcher()
    frame = bytes(12) + b"\x08\x06" + bytes(28)
    assert arp(frame, len(frame)) == 262144
    ip = bytes(12) + b"\x08\x00" + bytes(28)
    assert arp(ip, len(ip)) == 0


def test_cooked_programs_rewritten_for_the_kernel() -> None:
    arp = compile_filter("arp", DLT_LINUX_SLL2)
    kernel = cooked_kernel_program(arp)
    assert kernel is not None
    assert kernel[0] == (0x28, 0, 0, 0xFFFFF000)  # ldh SKF_AD_PROTOCOL
    ip = cooked_kernel_program(compile_filter("ip host 10.0.0.1", DLT_LINUX_SLL2))
    assert ip is not None
    assert (0x20, 0, 0, 12) in ip  # ld [32] (source address) -> ld [12]
    inbound = cooked_kernel_program(compile_filter("inbound", DLT_LINUX_SLL2))
    assert inbound is not None
    assert inbound[0] == (0x30, 0, 0, 0xFFFFF004)  # ldb SKF_AD_PKTTYPE
    assert cooked_kernel_program(compile_filter("link[2:2] = 0", DLT_LINUX_SLL2)) is None
