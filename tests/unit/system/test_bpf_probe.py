"""The kernel-free parts of tracerd.system.bpf_probe and tracerd.kernel.bpf: ABI layouts, error
text, version codes, the uprobe target's entry offset."""

from __future__ import annotations

import ctypes
import errno
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tracerd.kernel import bpf
from tracerd.kernel.bpf import KernelCallError, kernel_version_code
from tracerd.system.bpf_probe import ProbeError, elf_entry_offset


def test_attr_layouts_match_the_uapi_headers() -> None:
    # union bpf_attr up to attach_prog_fd; struct perf_event_attr PERF_ATTR_SIZE_VER5
    assert ctypes.sizeof(bpf._ProgLoadAttr) == 120
    assert bpf._ProgLoadAttr.attach_btf_id.offset == 108
    assert bpf._ProgLoadAttr.prog_name.offset == 48
    assert ctypes.sizeof(bpf._PerfEventAttr) == bpf.PERF_ATTR_SIZE_VER5
    assert bpf._PerfEventAttr.config1.offset == 56
    assert bpf._ProgInfo.name.offset == 64


def test_kernel_call_error_names_errno_step_and_detail() -> None:
    err = KernelCallError(errno.EPERM, "BPF_PROG_LOAD", "fentry f", "last log line")
    assert str(err) == "EPERM (Operation not permitted) at BPF_PROG_LOAD (fentry f): last log line"
    assert (err.errno, err.step) == (errno.EPERM, "BPF_PROG_LOAD")
    assert str(KernelCallError(errno.ENOENT, "perf_event_open")) == (
        "ENOENT (No such file or directory) at perf_event_open"
    )


@pytest.mark.parametrize(
    ("release", "code"),
    [
        ("6.1.0-56-amd64", 0x060100),
        ("6.18.44-fc-v782", 0x06122C),
        ("4.19.325", 0x0413FF),  # the sublevel saturates at 255 like the kernel's macro
        ("5.10", 0x050A00),
        ("6.2.0rc1", 0x060200),
    ],
)
def test_kernel_version_code(release: str, code: int) -> None:
    assert kernel_version_code(release) == code


def _elf_with_entry(path: Path, entry: int, seg_offset: int, seg_vaddr: int) -> None:
    """A minimal ELF64 executable (header + one PT_LOAD program header), per the ELF spec."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, seg_offset, seg_vaddr, seg_vaddr, 0x200, 0x200, 0x1000)
    path.write_bytes((header + phdr).ljust(seg_offset + 0x200, b"\0"))


def test_entry_offset_translates_vaddr_to_file_offset(tmp_path: Path) -> None:
    exe = tmp_path / "exe"
    _elf_with_entry(exe, entry=0x401080, seg_offset=0x1000, seg_vaddr=0x401000)
    assert elf_entry_offset(str(exe)) == 0x1080
    _elf_with_entry(exe, entry=0x900000, seg_offset=0x1000, seg_vaddr=0x401000)
    with pytest.raises(ProbeError, match="in no PT_LOAD segment"):
        elf_entry_offset(str(exe))


@pytest.mark.skipif(not shutil.which("readelf"), reason="no readelf (binutils)")
def test_entry_offset_of_bin_true_matches_readelf() -> None:
    out = subprocess.run(
        ["readelf", "-hlW", "/bin/true"], capture_output=True, text=True, check=True
    ).stdout
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", out)[1], 16)  # type: ignore[index]
    for m in re.finditer(r"LOAD\s+(0x\w+) (0x\w+) 0x\w+ (0x\w+)", out):
        offset, vaddr, filesz = (int(g, 16) for g in m.groups())
        if vaddr <= entry < vaddr + filesz:
            assert elf_entry_offset("/bin/true") == entry - vaddr + offset
            return
    pytest.fail(f"readelf shows no segment holding the entry point:\n{out}")


def test_entry_offset_of_a_non_elf_file(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(ProbeError, match="not a readable ELF file"):
        elf_entry_offset(str(script))
