"""Kernel I/O of the ptrace engine: ptrace(2), waitpid, tracee memory, /proc lookups.

Mechanism: ctypes over glibc's variadic `ptrace()` with prebuilt argtypes (kernel-interfaces
3.9: always four arguments, `use_errno=True`), one preallocated `PTRACE_GET_SYSCALL_INFO`
buffer (3.5) and `process_vm_readv` for tracee memory (one syscall per read, bounded by
page ends so a partly mapped string still reads). Every call here must come from the thread
that attached the tracee (3.9); nothing here keeps state about tracees.

Requirements: Linux >= 5.3 (PTRACE_GET_SYSCALL_INFO), x86-64, CAP_SYS_PTRACE.
"""

from __future__ import annotations

import ctypes
import os
import struct
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_ptrace = _libc.ptrace
_ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
_ptrace.restype = ctypes.c_long

PTRACE_PEEKDATA = 2
PTRACE_POKEDATA = 5
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_SINGLESTEP = 9
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E

O_TRACESYSGOOD = 0x1
O_TRACEFORK = 0x2
O_TRACEVFORK = 0x4
O_TRACECLONE = 0x8
O_TRACEEXEC = 0x10
O_TRACESECCOMP = 0x80
O_EXITKILL = 0x100000

EVENT_FORK = 1
EVENT_VFORK = 2
EVENT_CLONE = 3
EVENT_EXEC = 4
EVENT_VFORK_DONE = 5
EVENT_EXIT = 6
EVENT_SECCOMP = 7
EVENT_STOP = 128

OP_NONE = 0
OP_ENTRY = 1
OP_EXIT = 2
OP_SECCOMP = 3

WALL = 0x40000000
WNOTHREAD = 0x20000000
AUDIT_ARCH_X86_64 = 0xC000003E
SYSCALL_STOP_SIG = 0x80 | 5  # SIGTRAP | 0x80 with PTRACE_O_TRACESYSGOOD
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

_INFO_SIZE = 88
_info_buf = ctypes.create_string_buffer(_INFO_SIZE)
_info_addr = ctypes.addressof(_info_buf)
_info_unpack_head = struct.Struct("=B3xIQQ").unpack_from
_info_unpack_entry = struct.Struct("=7Q").unpack_from
_info_unpack_exit = struct.Struct("=qB").unpack_from
_msg = ctypes.c_ulong()
_msg_addr = ctypes.addressof(_msg)
_siginfo = ctypes.create_string_buffer(128)
_siginfo_addr = ctypes.addressof(_siginfo)


class PtraceError(OSError):
    pass


def _check(result: int, what: str, tid: int) -> int:
    if result == -1:
        err = ctypes.get_errno()
        if err:
            raise PtraceError(err, f"{what}({tid}): {os.strerror(err)}")
    return result


def seize(tid: int, options: int) -> None:
    _check(_ptrace(PTRACE_SEIZE, tid, None, options), "PTRACE_SEIZE", tid)


def interrupt(tid: int) -> None:
    _check(_ptrace(PTRACE_INTERRUPT, tid, None, None), "PTRACE_INTERRUPT", tid)


def restart(request: int, tid: int, sig: int = 0) -> bool:
    """PTRACE_SYSCALL/CONT/LISTEN/DETACH; False if the tracee is gone (ESRCH)."""
    if _ptrace(request, tid, None, sig) == -1:
        err = ctypes.get_errno()
        if err == 3:  # ESRCH: killed meanwhile (e.g. SIGKILL from exit_group)
            return False
        raise PtraceError(err, f"ptrace({request:#x}, {tid}): {os.strerror(err)}")
    return True


def syscall_info(tid: int) -> tuple[int, int, tuple[int, ...]]:
    """(op, arch, values): ENTRY/SECCOMP -> (nr, a0..a5); EXIT -> (rval, is_error)."""
    if _ptrace(PTRACE_GET_SYSCALL_INFO, tid, _INFO_SIZE, _info_addr) <= 0:
        return OP_NONE, 0, ()
    op, arch, _ip, _sp = _info_unpack_head(_info_buf, 0)
    if op == OP_EXIT:
        return op, arch, _info_unpack_exit(_info_buf, 24)
    if op in (OP_ENTRY, OP_SECCOMP):
        return op, arch, _info_unpack_entry(_info_buf, 24)
    return op, arch, ()


def stack_pointer() -> int:
    """The tracee's stack pointer at the stop of the last `syscall_info` call."""
    return int(_info_unpack_head(_info_buf, 0)[3])


def event_msg(tid: int) -> int:
    _check(_ptrace(PTRACE_GETEVENTMSG, tid, None, _msg_addr), "PTRACE_GETEVENTMSG", tid)
    return _msg.value


def siginfo(tid: int) -> bytes | None:
    if _ptrace(PTRACE_GETSIGINFO, tid, None, _siginfo_addr) == -1:
        return None
    return _siginfo.raw


_REG_NAMES = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
    "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
    "es", "fs", "gs",
)  # fmt: skip


class Regs(ctypes.Structure):
    """struct user_regs_struct (x86-64)."""

    _fields_ = [(name, ctypes.c_ulonglong) for name in _REG_NAMES]


def get_regs(tid: int) -> Regs:
    regs = Regs()
    _check(_ptrace(PTRACE_GETREGS, tid, None, ctypes.addressof(regs)), "PTRACE_GETREGS", tid)
    return regs


def set_regs(tid: int, regs: Regs) -> None:
    _check(_ptrace(PTRACE_SETREGS, tid, None, ctypes.addressof(regs)), "PTRACE_SETREGS", tid)


def peek(tid: int, addr: int) -> int:
    ctypes.set_errno(0)
    value = _ptrace(PTRACE_PEEKDATA, tid, addr, None)
    if value == -1 and ctypes.get_errno():
        _check(-1, "PTRACE_PEEKDATA", tid)
    return int(value) & 0xFFFFFFFFFFFFFFFF


def poke(tid: int, addr: int, word: int) -> None:
    signed = word - (1 << 64) if word >= 1 << 63 else word
    _check(_ptrace(PTRACE_POKEDATA, tid, addr, signed), "PTRACE_POKEDATA", tid)


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


_vm_readv = _libc.process_vm_readv
_vm_readv.argtypes = (
    ctypes.c_int,
    ctypes.POINTER(_IoVec),
    ctypes.c_ulong,
    ctypes.POINTER(_IoVec),
    ctypes.c_ulong,
    ctypes.c_ulong,
)
_vm_readv.restype = ctypes.c_ssize_t
_READ_MAX = 1 << 16
_read_buf = ctypes.create_string_buffer(_READ_MAX)
_read_view = memoryview(_read_buf).cast("B")
_local = _IoVec(ctypes.addressof(_read_buf), 0)
_remote = _IoVec(0, 0)


def read_memory(tid: int, addr: int, size: int) -> bytes:
    """Up to `size` bytes at `addr` (fewer where the mapping ends); b"" on a fault."""
    out = b""
    size = min(size, _READ_MAX)
    while size > 0 and addr:
        chunk = min(size, PAGE_SIZE - addr % PAGE_SIZE)
        _local.len = _remote.len = chunk
        _remote.base = addr
        got = _vm_readv(tid, _local, 1, _remote, 1, 0)
        if got <= 0:
            break
        out += _read_view[:got].tobytes()
        addr, size = addr + got, size - got
        if got < chunk:
            break
    return out


def read_string(tid: int, addr: int, limit: int) -> tuple[bytes, bool]:
    """The NUL-terminated string at `addr`, at most `limit` bytes; (bytes, complete)."""
    out = b""
    while len(out) < limit + 1 and addr:
        chunk = min(limit + 1 - len(out), PAGE_SIZE - addr % PAGE_SIZE)
        data = read_memory(tid, addr, chunk)
        nul = data.find(b"\0")
        if nul >= 0:
            return out + data[:nul], True
        out += data
        if len(data) < chunk:
            return out, True
        addr += chunk
    return out[:limit], len(out) <= limit


def read_string_at(tid: int, addr: int, limit: int) -> tuple[bytes, bool] | None:
    """`read_string`, or None where nothing at `addr` can be read (strace shows the address)."""
    text, complete = read_string(tid, addr, limit)
    if not text and complete and not read_memory(tid, addr, 1):
        return None
    return text, complete


def write_memory_word(tid: int, addr: int, data: bytes) -> bytes:
    """Replace bytes at addr (len <= 8, within one word) with data; returns the old bytes."""
    word = peek(tid, addr)
    raw = bytearray(word.to_bytes(8, "little"))
    old = bytes(raw[: len(data)])
    raw[: len(data)] = data
    poke(tid, addr, int.from_bytes(raw, "little"))
    return old


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict; {} if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def comm(tid: int) -> str | None:
    try:
        return Path(f"/proc/{tid}/comm").read_text().rstrip("\n")
    except OSError:
        return None


def tgid(tid: int) -> int | None:
    value = proc_status(tid).get("Tgid")
    return int(value) if value else None


def state_letter(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]
