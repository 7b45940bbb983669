"""strace-style rendering of tracee data: quoted strings, buffers and the common structs.

Pure: bytes fetched from the tracee in, text out. Strings are quoted as strace quotes them
(C escapes, octal for other non-printables, `"..."...` when cut at the string limit);
structs print briefly where strace's abbreviated output does (`{st_mode=S_IFREG|0644,
st_size=20, ...}`). x86-64 layouts (asm/stat.h, asm/signal.h, linux/sched.h).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from . import argtypes, flags

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
        return f"{value // 1024}*1024" if value > 1024 and value % 1024 == 0 else str(value)

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
    if family == 16 and len(data) >= 12:  # AF_NETLINK
        nl_pid, groups = struct.unpack_from("=II", data, 4)
        return f"{{{head}, nl_pid={nl_pid}, nl_groups={groups:08x}}}"
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


# -- more structs (argtypes' struct kinds; x86-64 layouts) ---------------------------------


def timeval(data: bytes) -> str | None:
    if len(data) < 16:
        return None
    sec, usec = struct.unpack_from("=qq", data)
    return f"{{tv_sec={sec}, tv_usec={usec}}}"


def itimerspec(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    return f"{{it_interval={timespec(data[:16])}, it_value={timespec(data[16:32])}}}"


def itimerval(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    return f"{{it_interval={timeval(data[:16])}, it_value={timeval(data[16:32])}}}"


EPOLL_EVENTS: flags.Table = (
    (0x1, "EPOLLIN"), (0x2, "EPOLLPRI"), (0x4, "EPOLLOUT"), (0x8, "EPOLLERR"), (0x10, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"), (0x40, "EPOLLRDNORM"), (0x80, "EPOLLRDBAND"), (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"), (0x400, "EPOLLMSG"), (0x2000, "EPOLLRDHUP"),
    (0x10000000, "EPOLLEXCLUSIVE"), (0x20000000, "EPOLLWAKEUP"), (0x40000000, "EPOLLONESHOT"),
    (0x80000000, "EPOLLET"),
)  # fmt: skip
POLL_EVENTS: flags.Table = (
    (0x1, "POLLIN"), (0x2, "POLLPRI"), (0x4, "POLLOUT"), (0x8, "POLLERR"), (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"), (0x40, "POLLRDNORM"), (0x80, "POLLRDBAND"), (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"), (0x400, "POLLMSG"), (0x1000, "POLLREMOVE"), (0x2000, "POLLRDHUP"),
)  # fmt: skip


def epoll_event(data: bytes) -> str | None:
    if len(data) < 12:
        return None
    events, u64 = struct.unpack_from("=IQ", data)
    return (
        f"{{events={flags.bits(events, EPOLL_EVENTS)}, data={{u32={u64 & 0xFFFFFFFF}, u64={u64}}}}}"
    )


def epoll_events(data: bytes) -> str:
    return (
        "["
        + ", ".join(epoll_event(data[i : i + 12]) or "" for i in range(0, len(data) - 11, 12))
        + "]"
    )


def pollfds(
    data: bytes, field: str = "events", only_set: bool = False, names: Sequence[str] = ()
) -> str:
    """`[{fd=3, events=POLLIN}]`; `names`: what -y prints after each fd (`<pipe:[9]>`)."""
    items = []
    for n, i in enumerate(range(0, len(data) - 7, 8)):
        fd, events, revents = struct.unpack_from("=ihh", data, i)
        value = (events if field == "events" else revents) & 0xFFFF
        if only_set and not value:
            continue
        if fd < 0 and not only_set:  # strace: an ignored entry shows its fd only
            items.append(f"{{fd={fd}}}")
            continue
        name = names[n] if n < len(names) else ""
        items.append(f"{{fd={fd}{name}, {field}={flags.bits(value, POLL_EVENTS)}}}")
    return "[" + ", ".join(items) + "]"


def fd_set(data: bytes, nfds: int) -> str:
    bits_ = int.from_bytes(data, "little")
    return "[" + " ".join(str(i) for i in range(min(nfds, len(data) * 8)) if bits_ >> i & 1) + "]"


def stack_t(data: bytes) -> str | None:
    if len(data) < 24:
        return None
    sp, ss_flags, size = struct.unpack_from("=Qi4xQ", data)
    shown = flags.bits(ss_flags & 0xFFFFFFFF, ((1, "SS_ONSTACK"), (2, "SS_DISABLE")))
    return f"{{ss_sp={pointer(sp)}, ss_flags={shown}, ss_size={size}}}"


LOCK_TYPES = {0: "F_RDLCK", 1: "F_WRLCK", 2: "F_UNLCK"}


def flock(data: bytes, with_pid: bool = False) -> str | None:
    if len(data) < 32:
        return None
    l_type, whence, start, length, pid = struct.unpack_from("=hh4xqqi", data)
    text = (
        f"{{l_type={flags.enum(l_type, LOCK_TYPES)}, "
        f"l_whence={flags.enum(whence, flags.SEEK_WHENCE)}, "
        f"l_start={start}, l_len={length}"
    )
    return text + (f", l_pid={pid}}}" if with_pid else "}")


RESOLVE: flags.Table = (
    (0x1, "RESOLVE_NO_XDEV"), (0x2, "RESOLVE_NO_MAGICLINKS"), (0x4, "RESOLVE_NO_SYMLINKS"),
    (0x8, "RESOLVE_BENEATH"), (0x10, "RESOLVE_IN_ROOT"), (0x20, "RESOLVE_CACHED"),
)  # fmt: skip


def open_how(data: bytes) -> str | None:
    if len(data) < 24:
        return None
    fl, mode, resolve = struct.unpack_from("=QQQ", data)
    parts = [f"flags={flags.open_flags(fl)}"]
    if fl & 0o100 or fl & 0o20200000 == 0o20200000 or mode:
        parts.append(f"mode={flags.mode(mode)}")
    parts.append(f"resolve={flags.bits(resolve, RESOLVE)}")
    return "{" + ", ".join(parts) + "}"


def int_array(data: bytes, fmt: str = "=i") -> str:
    size = struct.calcsize(fmt)
    return (
        "["
        + ", ".join(
            str(struct.unpack_from(fmt, data, i)[0]) for i in range(0, len(data) - size + 1, size)
        )
        + "]"
    )


def int_ref(data: bytes) -> str | None:
    return f"[{struct.unpack_from('=i', data)[0]}]" if len(data) >= 4 else None


def uint_ref(data: bytes) -> str | None:
    return f"[{struct.unpack_from('=I', data)[0]}]" if len(data) >= 4 else None


def cpu_mask(data: bytes) -> str:
    bits_ = int.from_bytes(data, "little")
    return "[" + " ".join(str(i) for i in range(len(data) * 8) if bits_ >> i & 1) + "]"


def rusage(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    return f"{{ru_utime={timeval(data[:16])}, ru_stime={timeval(data[16:32])}, ...}}"


def sysinfo(data: bytes) -> str | None:
    if len(data) < 112:
        return None
    uptime, l1, l5, l15, total, free, shared, buffer, tswap, fswap = struct.unpack_from(
        "=q9Q", data
    )
    procs = struct.unpack_from("=H", data, 80)[0]
    thigh, fhigh = struct.unpack_from("=QQ", data, 88)
    unit = struct.unpack_from("=I", data, 104)[0]
    return (
        f"{{uptime={uptime}, loads=[{l1}, {l5}, {l15}], totalram={total}, freeram={free}, "
        f"sharedram={shared}, bufferram={buffer}, totalswap={tswap}, freeswap={fswap}, "
        f"procs={procs}, totalhigh={thigh}, freehigh={fhigh}, mem_unit={unit}}}"
    )


def hex0(value: int) -> str:
    """C's `%#x` of a 32-bit value: `0x15`, but `0`."""
    value &= 0xFFFFFFFF
    return f"{value:#x}" if value else "0"


FS_MAGIC = {
    0xEF53: "EXT2_SUPER_MAGIC", 0x01021994: "TMPFS_MAGIC", 0x9FA0: "PROC_SUPER_MAGIC",
    0x62656572: "SYSFS_MAGIC", 0x58465342: "XFS_SUPER_MAGIC", 0x9123683E: "BTRFS_SUPER_MAGIC",
    0x794C7630: "OVERLAYFS_SUPER_MAGIC", 0x1373: "DEVFS_SUPER_MAGIC",
    0x63677270: "CGROUP2_SUPER_MAGIC", 0x1CD1: "DEVPTS_SUPER_MAGIC", 0xEF51: "EXT2_OLD_SUPER_MAGIC",
    0x0027E0EB: "CGROUP_SUPER_MAGIC", 0x0BAD1DEA: "FUTEXFS_SUPER_MAGIC",
    0x50495045: "PIPEFS_MAGIC", 0x534F434B: "SOCKFS_MAGIC", 0x64626720: "DEBUGFS_MAGIC",
    0x64646178: "DAXFS_MAGIC", 0x74726163: "TRACEFS_MAGIC", 0xCAFE4A11: "BPF_FS_MAGIC",
    0xA501FCF5: "VXFS_SUPER_MAGIC", 0x73727279: "BTRFS_TEST_MAGIC",
    0x42494E4D: "BINFMTFS_MAGIC", 0x73636673: "SECURITYFS_MAGIC", 0xF97CFF8C: "SELINUX_MAGIC",
    0x6E736673: "NSFS_MAGIC", 0x9FA2: "USBDEVICE_SUPER_MAGIC",
    0x65735546: "FUSE_SUPER_MAGIC", 0x6969: "NFS_SUPER_MAGIC", 0x858458F6: "RAMFS_MAGIC",
    0x62646576: "BDEVFS_MAGIC", 0x9660: "ISOFS_SUPER_MAGIC", 0x4D44: "MSDOS_SUPER_MAGIC",
    0x68191122: "QNX6_SUPER_MAGIC", 0x73717368: "SQUASHFS_MAGIC",
    0x01021997: "V9FS_MAGIC", 0x19800202: "MQUEUE_MAGIC", 0x6165676C: "PSTOREFS_MAGIC",
    0x09041934: "ANON_INODE_FS_MAGIC", 0xABBA1974: "XENFS_SUPER_MAGIC",
    0xF2F52010: "F2FS_SUPER_MAGIC", 0x7461636F: "OCFS2_SUPER_MAGIC",
}  # fmt: skip
ST_FLAGS: flags.Table = (
    (0x1, "ST_RDONLY"), (0x2, "ST_NOSUID"), (0x4, "ST_NODEV"), (0x8, "ST_NOEXEC"),
    (0x10, "ST_SYNCHRONOUS"), (0x20, "ST_VALID"), (0x40, "ST_MANDLOCK"), (0x400, "ST_NOATIME"),
    (0x800, "ST_NODIRATIME"), (0x1000, "ST_RELATIME"), (0x2000, "ST_NOSYMFOLLOW"),
)  # fmt: skip


def statfs(data: bytes) -> str | None:
    if len(data) < 120:
        return None
    f_type, bsize, blocks, bfree, bavail, files, ffree = struct.unpack_from("=7q", data)
    fsid0, fsid1 = struct.unpack_from("=ii", data, 56)
    namelen, frsize, fl = struct.unpack_from("=3q", data, 64)
    kind = FS_MAGIC.get(f_type, hex(f_type))
    return (
        f"{{f_type={kind}, f_bsize={bsize}, f_blocks={blocks}, f_bfree={bfree}, "
        f"f_bavail={bavail}, f_files={files}, f_ffree={ffree}, "
        f"f_fsid={{val=[{hex0(fsid0)}, {hex0(fsid1)}]}}, "
        f"f_namelen={namelen}, f_frsize={frsize}, f_flags={flags.bits(fl, ST_FLAGS)}}}"
    )


def sembufs(data: bytes) -> str:
    items = []
    for i in range(0, len(data) - 5, 6):
        num, op, flg = struct.unpack_from("=Hhh", data, i)
        shown = flags.bits(flg & 0xFFFF, ((0x1000, "SEM_UNDO"), (0o4000, "IPC_NOWAIT")))
        items.append(f"{{sem_num={num}, sem_op={op}, sem_flg={shown}}}")
    return "[" + ", ".join(items) + "]"


STRUCT_SIZES.update(
    timeval=16, itimerspec=32, itimerval=32, epoll_event=12, stack_t=24, open_how=24,
    rusage=144, sysinfo=112, statfs=120, int=4, uint=4, timespec2=32, timeval2=32,
)  # fmt: skip
RENDERERS.update(
    timeval=timeval,
    itimerspec=itimerspec,
    itimerval=itimerval,
    epoll_event=epoll_event,
    stack_t=stack_t,
    open_how=open_how,
    rusage=rusage,
    sysinfo=sysinfo,
    statfs=statfs,
    int=int_ref,
    uint=uint_ref,
)


def tms(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    u, s, cu, cs = struct.unpack_from("=4q", data)
    return f"{{tms_utime={u}, tms_stime={s}, tms_cutime={cu}, tms_cstime={cs}}}"


def _stamp(sec: int, frac: str) -> str:
    import time as _time

    try:
        when = _time.localtime(sec)
    except (OverflowError, OSError, ValueError):
        return ""
    return (
        " /* "
        + _time.strftime("%Y-%m-%dT%H:%M:%S", when)
        + frac
        + _time.strftime("%z", when)
        + " */"
    )


UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def timespec_pair(data: bytes) -> str | None:
    """utimensat's times: `[{tv_sec=1, tv_nsec=2} /* 1970-01-01T00:00:01.000000002+0000 */,
    UTIME_OMIT]`."""
    if len(data) < 32:
        return None
    items = []
    for sec, nsec in struct.iter_unpack("=qq", data[:32]):
        if nsec in (UTIME_NOW, UTIME_OMIT):
            items.append("UTIME_NOW" if nsec == UTIME_NOW else "UTIME_OMIT")
        else:
            items.append(f"{{tv_sec={sec}, tv_nsec={nsec}}}" + _stamp(sec, f".{nsec:09d}"))
    return "[" + ", ".join(items) + "]"


def timeval_pair(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    items = [
        f"{{tv_sec={sec}, tv_usec={usec}}}" + _stamp(sec, f".{usec:06d}")
        for sec, usec in struct.iter_unpack("=qq", data[:32])
    ]
    return "[" + ", ".join(items) + "]"


SIGEV_NOTIFY = {0: "SIGEV_SIGNAL", 1: "SIGEV_NONE", 2: "SIGEV_THREAD", 4: "SIGEV_THREAD_ID"}


def sigevent(data: bytes) -> str | None:
    """strace 6.1's print_sigevent: sigev_value only when set, the thread id or function by
    notification kind."""
    if len(data) < 16:
        return None
    value, signo, notify = struct.unpack_from("=Qii", data)
    parts = []
    if value:
        parts.append(f"sigev_value={{sival_int={argtypes.s32(value)}, sival_ptr={hex(value)}}}")
    named = notify in (0, 2, 4)
    parts.append(
        f"sigev_signo={flags.signal_name(signo) if named and signo else signo & 0xFFFFFFFF}"
    )
    parts.append(f"sigev_notify={flags.enum(notify, SIGEV_NOTIFY)}")
    if notify == 4 and len(data) >= 20:
        parts.append(f"sigev_notify_thread_id={struct.unpack_from('=i', data, 16)[0]}")
    elif notify == 2 and len(data) >= 32:
        function, attributes = struct.unpack_from("=QQ", data, 16)
        parts.append(f"sigev_notify_function={pointer(function)}")
        parts.append(f"sigev_notify_attributes={pointer(attributes)}")
    return "{" + ", ".join(parts) + "}"


def mq_attr(data: bytes) -> str | None:
    if len(data) < 32:
        return None
    fl, maxmsg, msgsize, cur = struct.unpack_from("=4q", data)
    shown = "O_NONBLOCK" if fl & 0o4000 else str(fl)
    return f"{{mq_flags={shown}, mq_maxmsg={maxmsg}, mq_msgsize={msgsize}, mq_curmsgs={cur}}}"


def loff(data: bytes) -> str | None:
    return f"[{struct.unpack_from('=q', data)[0]}]" if len(data) >= 8 else None


_SI_CODES = {
    0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
    -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL",
}  # fmt: skip
_CLD_CODES = {
    1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED",
    6: "CLD_CONTINUED",
}  # fmt: skip
_FAULT_CODES = {
    11: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"},
    7: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR"},
    5: {1: "TRAP_BRKPT", 2: "TRAP_TRACE"},
    4: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN"},
    8: {1: "FPE_INTDIV", 2: "FPE_INTOVF"},
}


def siginfo_text(sig: int, raw: bytes | None) -> str:
    """strace's `{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=.., ...}`."""
    name = flags.signal_name(sig)
    if raw is None or len(raw) < 48:
        return f"{{si_signo={name}}}"
    _signo, _errno, code = struct.unpack_from("=iii", raw)
    head = f"si_signo={name}"
    if code <= 0 or code == 0x80:
        code_name = _SI_CODES.get(code, str(code))
        if code in (0, -6):
            spid, suid = struct.unpack_from("=iI", raw, 16)
            return f"{{{head}, si_code={code_name}, si_pid={spid}, si_uid={suid}}}"
        if code in (-1, -3):
            spid, suid, ptr = struct.unpack_from("=iIQ", raw, 16)
            return (
                f"{{{head}, si_code={code_name}, si_pid={spid}, si_uid={suid}, "
                f"si_int={argtypes.s32(ptr)}, si_ptr={pointer(ptr)}}}"
            )
        return f"{{{head}, si_code={code_name}}}"
    if sig == 17:
        spid, suid, status, utime, stime = struct.unpack_from("=iIiqq", raw, 16)
        code_name = _CLD_CODES.get(code, str(code))
        shown = flags.signal_name(status) if code in (2, 3, 4, 5, 6) else str(status)
        return (
            f"{{{head}, si_code={code_name}, si_pid={spid}, si_uid={suid}, "
            f"si_status={shown}, si_utime={utime}, si_stime={stime}}}"
        )
    if sig in _FAULT_CODES:
        addr = struct.unpack_from("=Q", raw, 16)[0]
        code_name = _FAULT_CODES[sig].get(code, str(code))
        return f"{{{head}, si_code={code_name}, si_addr={'NULL' if not addr else hex(addr)}}}"
    return f"{{{head}, si_code={code}}}"


def siginfo(data: bytes) -> str | None:
    if len(data) < 48:
        return None
    return siginfo_text(struct.unpack_from("=i", data)[0], data)


SCHED_POLICY_NAMES = {
    0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE",
    6: "SCHED_DEADLINE",
}  # fmt: skip
SCHED_FLAGS: flags.Table = (
    (1, "SCHED_FLAG_RESET_ON_FORK"), (2, "SCHED_FLAG_RECLAIM"), (4, "SCHED_FLAG_DL_OVERRUN"),
    (8, "SCHED_FLAG_KEEP_POLICY"), (16, "SCHED_FLAG_KEEP_PARAMS"),
    (32, "SCHED_FLAG_UTIL_CLAMP_MIN"), (64, "SCHED_FLAG_UTIL_CLAMP_MAX"),
)  # fmt: skip


def sched_attr(data: bytes) -> str | None:
    """struct sched_attr (56 bytes, SCHED_ATTR_SIZE_VER1), every field as strace prints it."""
    if len(data) < 56:
        return None
    size, policy, fl, nice, prio, runtime, deadline, period, umin, umax = struct.unpack_from(
        "=IIQiIQQQII", data
    )
    return (
        f"{{size={size}, sched_policy={flags.enum(policy, SCHED_POLICY_NAMES)}, "
        f"sched_flags={flags.bits(fl, SCHED_FLAGS)}, sched_nice={nice}, sched_priority={prio}, "
        f"sched_runtime={runtime}, sched_deadline={deadline}, sched_period={period}, "
        f"sched_util_min={umin}, sched_util_max={umax}}}"
    )


STRUCT_SIZES.update(
    tms=32, timespec_pair=32, timeval_pair=32, sigevent=32, mq_attr=32, loff=8, siginfo=128,
    sched_attr=56,
)  # fmt: skip
RENDERERS.update(
    tms=tms,
    timespec_pair=timespec_pair,
    timeval_pair=timeval_pair,
    sigevent=sigevent,
    mq_attr=mq_attr,
    loff=loff,
    siginfo=siginfo,
    sched_attr=sched_attr,
)
