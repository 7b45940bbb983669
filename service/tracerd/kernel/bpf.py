"""Raw bpf(2), perf_event_open(2) and perf ioctls through ctypes: just what probing needs.

Mechanism: `syscall(2)` from libc with the machine's syscall numbers, structures laid out as
in `include/uapi/linux/bpf.h` (`union bpf_attr`) and `include/uapi/linux/perf_event.h`
(`struct perf_event_attr`, PERF_ATTR_SIZE_VER5). Every fd is close-on-exec (the kernel
sets it on bpf fds; PERF_FLAG_FD_CLOEXEC for perf fds). A failed call raises
`KernelCallError`, whose text names the errno, the step and (for loads) the verifier log.
Requirements: x86_64 (other machines raise KernelCallError); root, or CAP_BPF + CAP_PERFMON.
Caveats: the attr structures are the 5.5+ layouts, filled with zeros past what is set: older
kernels accept them as long as the fields they do not know are zero.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
from contextlib import ExitStack

PROGRAM_NAME = "tracerd_probe"
LOG_BUF_BYTES = 64 << 10

# Syscall numbers per machine (arch/x86/entry/syscalls/syscall_64.tbl).
_SYSCALL_NR = {"x86_64": {"bpf": 321, "perf_event_open": 298}}

# include/uapi/linux/bpf.h
BPF_PROG_LOAD = 5
BPF_PROG_GET_NEXT_ID = 11
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_RAW_TRACEPOINT_OPEN = 17
BPF_PROG_TYPE_KPROBE = 2
BPF_PROG_TYPE_TRACEPOINT = 5
BPF_PROG_TYPE_PERF_EVENT = 7
BPF_PROG_TYPE_RAW_TRACEPOINT = 17
BPF_PROG_TYPE_TRACING = 26
BPF_TRACE_FENTRY = 24
# r0 = 0 (BPF_ALU64 | BPF_MOV | BPF_K); exit (BPF_JMP | BPF_EXIT): 8 bytes each, imm 0.
RETURN_ZERO_PROGRAM = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
BPF_INSN_BYTES = 8

# include/uapi/linux/perf_event.h
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_ATTR_SIZE_VER5 = 112
PERF_FLAG_FD_CLOEXEC = 8
PERF_ATTR_FLAG_DISABLED = 1 << 0
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408  # _IOW('$', 8, __u32)

_u32, _u64 = ctypes.c_uint32, ctypes.c_uint64


class _ProgLoadAttr(ctypes.Structure):
    """union bpf_attr, BPF_PROG_LOAD part up to attach_prog_fd (120 bytes)."""

    _fields_ = (
        ("prog_type", _u32),
        ("insn_cnt", _u32),
        ("insns", _u64),
        ("license", _u64),
        ("log_level", _u32),
        ("log_size", _u32),
        ("log_buf", _u64),
        ("kern_version", _u32),
        ("prog_flags", _u32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", _u32),
        ("expected_attach_type", _u32),
        ("prog_btf_fd", _u32),
        ("func_info_rec_size", _u32),
        ("func_info", _u64),
        ("func_info_cnt", _u32),
        ("line_info_rec_size", _u32),
        ("line_info", _u64),
        ("line_info_cnt", _u32),
        ("attach_btf_id", _u32),
        ("attach_prog_fd", _u32),
    )


class _RawTracepointAttr(ctypes.Structure):
    _fields_ = (("name", _u64), ("prog_fd", _u32), ("pad", _u32))


class _IdAttr(ctypes.Structure):
    """BPF_PROG_GET_NEXT_ID (start_id) and BPF_PROG_GET_FD_BY_ID (prog_id)."""

    _fields_ = (("id", _u32), ("next_id", _u32), ("open_flags", _u32))


class _InfoAttr(ctypes.Structure):
    _fields_ = (("bpf_fd", _u32), ("info_len", _u32), ("info", _u64))


class _ProgInfo(ctypes.Structure):
    """struct bpf_prog_info up to `name` (the kernel fills what fits in info_len)."""

    _fields_ = (
        ("type", _u32),
        ("id", _u32),
        ("tag", ctypes.c_uint8 * 8),
        ("jited_prog_len", _u32),
        ("xlated_prog_len", _u32),
        ("jited_prog_insns", _u64),
        ("xlated_prog_insns", _u64),
        ("load_time", _u64),
        ("created_by_uid", _u32),
        ("nr_map_ids", _u32),
        ("map_ids", _u64),
        ("name", ctypes.c_char * 16),
    )


class _PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr up to PERF_ATTR_SIZE_VER5; `flags` holds the bit fields."""

    _fields_ = (
        ("type", _u32),
        ("size", _u32),
        ("config", _u64),
        ("sample_period", _u64),
        ("sample_type", _u64),
        ("read_format", _u64),
        ("flags", _u64),
        ("wakeup_events", _u32),
        ("bp_type", _u32),
        ("config1", _u64),
        ("config2", _u64),
        ("branch_sample_type", _u64),
        ("sample_regs_user", _u64),
        ("sample_stack_user", _u32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", _u64),
        ("aux_watermark", _u32),
        ("sample_max_stack", ctypes.c_uint16),
        ("reserved_2", ctypes.c_uint16),
    )


class KernelCallError(Exception):
    """A syscall failed: "EPERM (Operation not permitted) at STEP (what): detail"."""

    def __init__(self, err: int, step: str, what: str = "", detail: str = "") -> None:
        name = errno.errorcode.get(err, str(err))
        super().__init__(
            f"{name} ({os.strerror(err)}) at {step}"
            + (f" ({what})" if what else "")
            + (f": {detail}" if detail else "")
        )
        self.errno = err
        self.step = step


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall_nr(name: str) -> int:
    table = _SYSCALL_NR.get(platform.machine())
    if table is None:
        raise KernelCallError(
            errno.ENOSYS,
            name,
            f"no syscall number known for machine "
            f"{platform.machine()!r}; supported: {', '.join(_SYSCALL_NR)}",
        )
    return table[name]


def _checked(ret: int, step: str, what: str = "", detail: str = "") -> int:
    if ret < 0:
        raise KernelCallError(ctypes.get_errno(), step, what, detail)
    return ret


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    """bpf(2): the result, or -1 with ctypes' errno set."""
    return int(
        _libc.syscall(
            ctypes.c_long(_syscall_nr("bpf")),
            ctypes.c_int(cmd),
            ctypes.byref(attr),
            ctypes.c_uint(ctypes.sizeof(attr)),
        )
    )


def kernel_version_code(release: str | None = None) -> int:
    """LINUX_VERSION_CODE of `release` (default: the running kernel's); kprobe programs
    had to carry it before Linux 5.0."""
    parts = [*(release or platform.release()).split("-")[0].split("."), "0", "0"][:3]
    nums = [int(m[0]) if (m := re.match(r"\d+", p)) else 0 for p in parts]
    return (nums[0] << 16) + (nums[1] << 8) + min(nums[2], 255)


def load_program(
    prog_type: int,
    attach_type: int = 0,
    attach_btf_id: int = 0,
    what: str = "",
    insns: bytes = RETURN_ZERO_PROGRAM,
) -> int:
    """BPF_PROG_LOAD of `insns` (default `r0 = 0; exit`) named PROGRAM_NAME, license GPL,
    with a verifier log (its last lines go into the error). Returns the program fd."""
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"GPL")
    log_buf = ctypes.create_string_buffer(LOG_BUF_BYTES)
    attr = _ProgLoadAttr(
        prog_type=prog_type,
        insn_cnt=len(insns) // BPF_INSN_BYTES,
        insns=ctypes.addressof(code),
        license=ctypes.addressof(license_),
        log_level=1,
        log_size=LOG_BUF_BYTES,
        log_buf=ctypes.addressof(log_buf),
        kern_version=kernel_version_code(),
        prog_name=PROGRAM_NAME.encode(),
        expected_attach_type=attach_type,
        attach_btf_id=attach_btf_id,
    )
    ret = _bpf(BPF_PROG_LOAD, attr)
    verifier_log = log_buf.value.decode("utf-8", "replace").strip()
    return _checked(ret, "BPF_PROG_LOAD", what, " | ".join(verifier_log.splitlines()[-3:]))


def raw_tracepoint_open(prog_fd: int, name: str | None, what: str = "") -> int:
    """BPF_RAW_TRACEPOINT_OPEN of tracepoint `name`; None attaches a tracing (fentry)
    program to its attach_btf_id. Returns the link fd (closing it detaches)."""
    name_buf = ctypes.create_string_buffer(name.encode()) if name is not None else None
    attr = _RawTracepointAttr(name=ctypes.addressof(name_buf) if name_buf else 0, prog_fd=prog_fd)
    return _checked(
        _bpf(BPF_RAW_TRACEPOINT_OPEN, attr), "BPF_RAW_TRACEPOINT_OPEN", what or name or ""
    )


def perf_event_open(
    pmu_type: int,
    config: int,
    *,
    config1: int = 0,
    config2: int = 0,
    sample_period: int = 1,
    cpu: int = 0,
    what: str = "",
) -> int:
    """perf_event_open(2) of a disabled event counting every process on `cpu`. `config1`
    and `config2` carry pointers/offsets for the kprobe and uprobe PMUs."""
    attr = _PerfEventAttr(
        type=pmu_type,
        size=PERF_ATTR_SIZE_VER5,
        config=config,
        sample_period=sample_period,
        flags=PERF_ATTR_FLAG_DISABLED,
        wakeup_events=1,
        config1=config1,
        config2=config2,
    )
    ret = _libc.syscall(
        ctypes.c_long(_syscall_nr("perf_event_open")),
        ctypes.byref(attr),
        ctypes.c_int(-1),
        ctypes.c_int(cpu),
        ctypes.c_int(-1),
        ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
    )
    return _checked(int(ret), "perf_event_open", what)


def perf_ioctl(fd: int, request: int, arg: int, step: str) -> None:
    ret = _libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.c_ulong(arg))
    _checked(int(ret), step)


def attach_perf_event(stack: ExitStack, event_fd: int, prog_fd: int) -> None:
    """Give `event_fd` to `stack` (closed on exit), attach `prog_fd` to it (SET_BPF) and
    enable it; `stack` disables it before closing."""
    stack.callback(os.close, event_fd)
    perf_ioctl(event_fd, PERF_EVENT_IOC_SET_BPF, prog_fd, "PERF_EVENT_IOC_SET_BPF")
    stack.callback(perf_ioctl, event_fd, PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE")
    perf_ioctl(event_fd, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE")


def _program_info(prog_id: int) -> tuple[int, str] | None:
    """(type, name) of loaded program `prog_id`; None if it went away meanwhile."""
    ret = _bpf(BPF_PROG_GET_FD_BY_ID, _IdAttr(id=prog_id))
    if ret < 0:
        if ctypes.get_errno() == errno.ENOENT:
            return None
        _checked(ret, "BPF_PROG_GET_FD_BY_ID", str(prog_id))
    try:
        info = _ProgInfo()
        attr = _InfoAttr(bpf_fd=ret, info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
        _checked(_bpf(BPF_OBJ_GET_INFO_BY_FD, attr), "BPF_OBJ_GET_INFO_BY_FD", str(prog_id))
        return int(info.type), bytes(info.name).decode("utf-8", "replace")
    finally:
        os.close(ret)


def loaded_programs() -> list[tuple[int, int, str]]:
    """Every BPF program loaded on the machine as (id, type, name), like `bpftool prog show`
    (names are cut to 15 bytes by the kernel)."""
    programs: list[tuple[int, int, str]] = []
    prog_id = 0
    while True:
        attr = _IdAttr(id=prog_id)
        if _bpf(BPF_PROG_GET_NEXT_ID, attr) < 0:
            if ctypes.get_errno() == errno.ENOENT:
                return programs
            _checked(-1, "BPF_PROG_GET_NEXT_ID")
        prog_id = int(attr.next_id)
        found = _program_info(prog_id)
        if found is not None:
            programs.append((prog_id, *found))
