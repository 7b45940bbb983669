"""Classic BPF filters compiled by Debian's libpcap (libpcap0.8), through ctypes.

`compile_filter` runs pcap_open_dead + pcap_compile (optimised, as tcpdump compiles) and
copies the program out; `Program.dump(level)` prints it as `tcpdump -d`, `-dd` and `-ddd`
do: level 1 uses libpcap's own `bpf_image` per instruction (the function tcpdump's
`bpf_dump` calls), levels 2 and 3 are the C-fragment and decimal forms. `Program.matches`
runs the program in user space with libpcap's `bpf_filter` (for what the kernel cannot run,
see `socket_program`). A syntax error raises CompileError with libpcap's own message.

No kernel access here: the daemon uses this for `GET /v1/packet/compile` and the worker
for the program it attaches.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import cache

from ...errors import BadRequest, CompileError

LIBPCAP = "libpcap.so.0.8"
DEFAULT_SNAPLEN = 262144
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
DLT_EN10MB = 1
DLT_LINUX_SLL2 = 276


class BpfInsn(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    )


class BpfProgram(ctypes.Structure):
    _fields_ = (("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(BpfInsn)))


Insn = tuple[int, int, int, int]
"""(code, jt, jf, k) as `struct sock_filter` holds it"""


@cache
def libpcap() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(LIBPCAP)
    except OSError as e:
        raise CompileError(
            f"libpcap is not installed ({LIBPCAP}: apt-get install libpcap0.8)"
        ) from e
    lib.pcap_open_dead.argtypes = (ctypes.c_int, ctypes.c_int)
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_compile.argtypes = (
        ctypes.c_void_p,
        ctypes.POINTER(BpfProgram),
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint32,
    )
    lib.pcap_compile.restype = ctypes.c_int
    lib.pcap_geterr.argtypes = (ctypes.c_void_p,)
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_freecode.argtypes = (ctypes.POINTER(BpfProgram),)
    lib.pcap_close.argtypes = (ctypes.c_void_p,)
    lib.bpf_image.argtypes = (ctypes.POINTER(BpfInsn), ctypes.c_int)
    lib.bpf_image.restype = ctypes.c_char_p
    lib.bpf_filter.argtypes = (
        ctypes.POINTER(BpfInsn),
        ctypes.c_char_p,
        ctypes.c_uint,
        ctypes.c_uint,
    )
    lib.bpf_filter.restype = ctypes.c_uint
    lib.pcap_datalink_name_to_val.argtypes = (ctypes.c_char_p,)
    lib.pcap_datalink_name_to_val.restype = ctypes.c_int
    lib.pcap_datalink_val_to_name.argtypes = (ctypes.c_int,)
    lib.pcap_datalink_val_to_name.restype = ctypes.c_char_p
    lib.pcap_lib_version.restype = ctypes.c_char_p
    return lib


_compile_lock = threading.Lock()  # pcap_compile's parser state is not re-entrant everywhere


def linktype_value(name: str | int) -> int:
    """A link type as tcpdump's -y takes it (EN10MB, LINUX_SLL2, ...) or its DLT number."""
    if isinstance(name, int) or name.isdigit():
        value = int(name)
        if libpcap().pcap_datalink_val_to_name(value) is None:
            raise BadRequest(f"unknown link type {value}", {"linktype": value})
        return value
    value = libpcap().pcap_datalink_name_to_val(name.encode())
    if value < 0:
        raise BadRequest(f"unknown link type {name!r}", {"linktype": name})
    return int(value)


def linktype_name(value: int) -> str:
    name = libpcap().pcap_datalink_val_to_name(value)
    return name.decode() if name else str(value)


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled classic BPF program."""

    expression: str
    linktype: int
    snaplen: int
    insns: tuple[Insn, ...]

    def _array(self) -> ctypes.Array[BpfInsn]:
        return (BpfInsn * len(self.insns))(*(BpfInsn(*i) for i in self.insns))

    def dump(self, level: int) -> str:
        """The text `tcpdump -d` (1), `-dd` (2) or `-ddd` (3) prints, newline-terminated."""
        if level == 1:
            array = self._array()
            image = libpcap().bpf_image
            lines = [image(array[i], i).decode() for i in range(len(self.insns))]
        elif level == 2:
            lines = [f"{{ 0x{c:x}, {jt}, {jf}, 0x{k:08x} }}," for c, jt, jf, k in self.insns]
        elif level == 3:
            lines = [str(len(self.insns))]
            lines += [f"{c} {jt} {jf} {k}" for c, jt, jf, k in self.insns]
        else:
            raise ValueError(f"dump level {level}")
        return "".join(line + "\n" for line in lines)

    def forms(self) -> dict[str, str]:
        return {"d": self.dump(1), "dd": self.dump(2), "ddd": self.dump(3)}

    def matcher(self) -> UserFilter:
        return UserFilter(self)


class UserFilter:
    """The program run in user space by libpcap's interpreter: snap length kept, 0 = drop."""

    def __init__(self, program: Program) -> None:
        self._array = program._array()
        self._run = libpcap().bpf_filter

    def __call__(self, packet: bytes, wirelen: int) -> int:
        return int(self._run(self._array, packet, wirelen, len(packet)))


def compile_filter(
    expression: str, linktype: int = DLT_EN10MB, snaplen: int = DEFAULT_SNAPLEN
) -> Program:
    """Compile as tcpdump does (optimised); CompileError with libpcap's message."""
    lib = libpcap()
    handle = lib.pcap_open_dead(linktype, snaplen)
    if not handle:
        raise BadRequest(f"libpcap cannot open link type {linktype}", {"linktype": linktype})
    program = BpfProgram()
    try:
        with _compile_lock:
            status = lib.pcap_compile(
                handle, ctypes.byref(program), expression.encode(), 1, PCAP_NETMASK_UNKNOWN
            )
            if status != 0:
                message = (lib.pcap_geterr(handle) or b"cannot compile").decode(errors="replace")
                raise CompileError(
                    message, {"filter": expression, "linktype": linktype_name(linktype)}
                )
        try:
            insns = tuple(
                (int(i.code), int(i.jt), int(i.jf), int(i.k))
                for i in program.bf_insns[: program.bf_len]
            )
        finally:
            lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)
    return Program(expression, linktype, snaplen, insns)


SLL2_LEN = 20
SKF_AD_OFF = -0x1000 & 0xFFFFFFFF
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, SKF_AD_HATYPE = 0, 4, 8, 28
_SLL2_FIELDS = {  # (offset, size code) in the SLL2 header -> the kernel's ancillary load
    (0, 0x08): SKF_AD_PROTOCOL,
    (10, 0x10): SKF_AD_PKTTYPE,
    (4, 0x00): SKF_AD_IFINDEX,
    (8, 0x08): SKF_AD_HATYPE,
}
BPF_LD, BPF_LDX, BPF_ABS, BPF_IND, BPF_MSH = 0x00, 0x01, 0x20, 0x40, 0xA0


def cooked_kernel_program(program: Program) -> tuple[Insn, ...] | None:
    """The program of an SLL2 (`any`) capture rewritten for a SOCK_DGRAM socket, whose
    packets start at the network header: SLL2 fields become ancillary loads (protocol,
    packet type, ifindex, hardware type), other offsets move back by the header's 20 bytes;
    `len` is left as the kernel has it (without the header), as libpcap leaves it, so that
    `len > N` keeps what tcpdump keeps. None when a load cannot be rewritten (then the
    kernel keeps everything and the program runs in user space on the SLL2 header the
    reader builds)."""
    out: list[Insn] = []
    for code, jt, jf, k in program.insns:
        cls, mode, size = code & 0x07, code & 0xE0, code & 0x18
        if cls == BPF_LD and mode == BPF_ABS:
            if k >= SLL2_LEN:
                k -= SLL2_LEN
            elif (k, size) in _SLL2_FIELDS:
                k = (SKF_AD_OFF + _SLL2_FIELDS[(k, size)]) & 0xFFFFFFFF
            else:
                return None
        elif (cls == BPF_LD and mode == BPF_IND) or (cls == BPF_LDX and mode == BPF_MSH):
            if k < SLL2_LEN:
                return None
            k -= SLL2_LEN
        elif code == 0x06 and k:  # ret: the snap length counts the header the kernel lacks
            k = max(1, k - SLL2_LEN) if k < 0xFFFFFFFF else k
        out.append((code, jt, jf, k))
    return tuple(out)
