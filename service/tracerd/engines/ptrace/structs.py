"""strace-style rendering of tracee data: quoted strings, buffers and the common structs.

Pure: bytes fetched from the tracee in, text out. Strings are quoted as strace quotes them
(C escapes, octal for other non-printables, `"..."...` when cut at the string limit);
structs print briefly where strace's abbreviated output does (`{st_mode=S_IFREG|0644,
st_size=20, ...}`). x86-64 layouts (asm/stat.h, asm/signal.h, linux/sched.h).
"""

from __future__ import annotations

import struct

from . import flags

_ESCAPES = {
    0x0A: "\\n",
    0x09: "\\t",
    0x0D: "\\r",
    0x0B: "\\v",
    0x0C: "\\f",
    0x22: '\\"',
    0x5C: "\\\\",
}


_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in (0x22, 0x5C))


def quote(data: bytes, cut: bool = False, force_hex: bool = False) -> str:
    """`"text"` with strace's escapes; `"text"...` when `cut`."""
    if not force_hex and not data.translate(None, _PLAIN):  # printable, nothing to escape
        return f'"{data.decode("ascii")}"...' if cut else f'"{data.decode("ascii")}"'
    out = ['"']
    n = len(data)
    for i, byte in enumerate(data):
        if force_hex:
            out.append(f"\\x{byte:02x}")
        elif byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        elif i + 1 < n and 0x30 <= data[i + 1] <= 0x37:
            out.append(f"\\{byte:03o}")  # a following digit would extend a short escape
        else:
            out.append(f"\\{byte:o}")
    out.append('"')
    if cut:
        out.append("...")
    return "".join(out)


def pointer(value: int) -> str:
    return "NULL" if value == 0 else hex(value)


def timespec(data: bytes) -> str | None:
    if len(data) < 16:
        return None
    sec, nsec = struct.unpack_from("=qq", data)
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def stat(data: bytes) -> str | None:
    """struct stat (144 bytes on x86-64), abbreviated as strace prints it without -v."""
    if len(data) < 144:
        return None
    st_mode = struct.unpack_from("=I", data, 24)[0]
    rdev, size = struct.unpack_from("=Qq", data, 40)
    kind = st_mode & 0o170000
    if kind in (0o020000, 0o060000):
        major = (rdev >> 8) & 0xFFF | (rdev >> 32) & ~0xFFF
        minor = rdev & 0xFF | (rdev >> 12) & ~0xFF
        tail = f"st_rdev=makedev({major:#x}, {minor:#x})"
    else:
        tail = f"st_size={size}"
    return f"{{st_mode={flags.file_mode(st_mode)}, {tail}, ...}}"


def statx(data: bytes) -> str | None:
    """struct statx (linux/stat.h), abbreviated as strace prints it without -v."""
    if len(data) < 48:
        return None
    mask = struct.unpack_from("=I", data, 0)[0]
    attributes = struct.unpack_from("=Q", data, 8)[0]
    stx_mode = struct.unpack_from("=H", data, 28)[0]
    size = struct.unpack_from("=Q", data, 40)[0]
    mask_text = flags.bits(mask, flags.STATX_MASK)
    attrs = flags.bits(attributes, flags.STATX_ATTRIBUTES)
    return (
        f"{{stx_mask={mask_text}, stx_attributes={attrs}, "
        f"stx_mode={flags.file_mode(stx_mode)}, stx_size={size}, ...}}"
    )


def sigset_bytes(data: bytes) -> str | None:
    if len(data) < 8:
        return None
    return flags.sigset(struct.unpack_from("=Q", data)[0])


def sigaction(data: bytes) -> str | None:
    """struct kernel_sigaction: handler, flags, restorer, mask."""
    if len(data) < 32:
        return None
    handler, sa_flags, restorer, mask = struct.unpack_from("=QQQQ", data)
    name = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, hex(handler))
    parts = [f"sa_handler={name}", f"sa_mask={flags.sigset(mask)}"]
    parts.append(f"sa_flags={flags.bits(sa_flags, flags.SA_FLAGS)}")
    if sa_flags & 0x04000000:
        parts.append(f"sa_restorer={hex(restorer)}")
    return "{" + ", ".join(parts) + "}"


def int_pair(data: bytes) -> str | None:
    if len(data) < 8:
        return None
    a, b = struct.unpack_from("=ii", data)
    return f"[{a}, {b}]"


def wstatus(data: bytes) -> str | None:
    if len(data) < 4:
        return None
    return "[" + flags.wait_status(struct.unpack_from("=i", data)[0]) + "]"


def rlimit(data: bytes) -> str | None:
    if len(data) < 16:
        return None

    def one(value: int) -> str:
        if value == 0xFFFFFFFFFFFFFFFF:
            return "RLIM64_INFINITY"
        return f"{value // 1024}*1024" if value and value % 1024 == 0 else str(value)

    cur, high = struct.unpack_from("=QQ", data)
    return f"{{rlim_cur={one(cur)}, rlim_max={one(high)}}}"


def clone_args(data: bytes) -> str | None:
    """struct clone_args (clone3), the fields strace shows when they are set."""
    if len(data) < 64:
        return None
    fl, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = struct.unpack_from(
        "=8Q", data
    )
    parts = [f"flags={flags.bits(fl, flags.CLONE_FLAGS)}"]
    shown = (
        ("pidfd", pidfd, 0x1000),
        ("child_tid", child_tid, 0x01200000),
        ("parent_tid", parent_tid, 0x00100000),
    )
    parts += [f"{name}={pointer(value)}" for name, value, need in shown if fl & need]
    parts.append(f"exit_signal={flags.signal_name(exit_signal) if exit_signal else 0}")
    parts.append(f"stack={pointer(stack)}")
    parts.append(f"stack_size={stack_size:#x}" if stack_size else "stack_size=0")
    if tls:
        parts.append(f"tls={hex(tls)}")
    return "{" + ", ".join(parts) + "}"


def sockaddr(data: bytes) -> str | None:
    if len(data) < 2:
        return None
    family = struct.unpack_from("=H", data)[0]
    name = flags.ADDRESS_FAMILIES.get(family, str(family))
    head = f"sa_family={name}"
    if family == 1:
        path = data[2:]
        if not path:  # unnamed (an unbound socket's own address)
            return f"{{{head}}}"
        if path[:1] == b"\0":
            return f"{{{head}, sun_path=@{quote(path[1:].rstrip(bytes(1)))}}}"
        return f"{{{head}, sun_path={quote(path.split(bytes(1))[0])}}}"
    if family == 2 and len(data) >= 8:
        port = struct.unpack_from("!H", data, 2)[0]
        addr = ".".join(str(b) for b in data[4:8])
        return f'{{{head}, sin_port=htons({port}), sin_addr=inet_addr("{addr}")}}'
    if family == 10 and len(data) >= 24:
        import ipaddress

        port = struct.unpack_from("!H", data, 2)[0]
        addr6 = ipaddress.IPv6Address(data[8:24])
        return (
            f"{{{head}, sin6_port=htons({port}), sin6_flowinfo=htonl(0), "
            f'inet_pton(AF_INET6, "{addr6}", &sin6_addr), sin6_scope_id=0}}'
        )
    return f"{{{head}, sa_data={quote(data[2:16])}}}"


def utsname(data: bytes) -> str | None:
    if len(data) < 65 * 2:
        return None
    sysname = data[:65].split(b"\0")[0]
    nodename = data[65:130].split(b"\0")[0]
    return f"{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}"


STRUCT_SIZES = {
    "stat": 144,
    "statx": 48,
    "timespec": 16,
    "sigset": 8,
    "sigaction": 32,
    "pipe": 8,
    "wstatus": 4,
    "rlimit": 16,
    "clone_args": 88,
    "utsname": 390,
}
RENDERERS = {
    "stat": stat,
    "statx": statx,
    "timespec": timespec,
    "sigset": sigset_bytes,
    "sigaction": sigaction,
    "pipe": int_pair,
    "wstatus": wstatus,
    "rlimit": rlimit,
    "clone_args": clone_args,
    "utsname": utsname,
    "sockaddr": sockaddr,
}
