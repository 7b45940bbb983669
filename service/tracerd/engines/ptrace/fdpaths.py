"""What a tracee's descriptors are (strace -y / -yy) and which calls touch a path (-P).

Mechanism: a descriptor's name is the `/proc/TID/fd/N` link, read on the stop path (at the
entry of a call for its arguments, at its exit for the descriptors it returns), so a
`close(3</tmp/x>)` still names what it closes. `-yy` adds what strace adds: `<char 1:3>`
after a device's path, and for sockets the protocol (the `system.sockprotoname` xattr of
the fd link) with the addresses the kernel's sock_diag netlink interface reports for that
inode (`TCP:[127.0.0.1:80->127.0.0.1:4242]`, `UNIX-STREAM:[11->12,"/run/s"]`); a socket
sock_diag does not know keeps `PROTO:[inode]`. The diag socket lives in the worker's
network namespace, as strace's lives in its own: a tracee in another namespace shows the
bare form there.

`-P PATH` keeps the calls whose path or descriptor arguments name PATH (or its realpath),
with strace's rules: which argument positions count per call (`PATH_ARGS`), else the first
argument as a path for %file calls and as a descriptor for %desc calls; paths compare as
the strings the tracee passed (no resolution against its cwd), descriptors as their links.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from collections.abc import Iterable, Mapping

from . import structs

FD_KEY = 200
"""fetched key of argument i's descriptor name: FD_KEY + i"""
FD_RET_KEY = -3
"""fetched key of the name of the descriptor a call returned"""
FD_QUIET_KEY = 300
"""fetched key of argument i's descriptor name read for -P alone (not shown): + i"""

FD_RETURNS = frozenset(
    {
        "open", "openat", "openat2", "creat", "dup", "dup2", "dup3", "socket", "accept",
        "accept4", "epoll_create", "epoll_create1", "eventfd", "eventfd2", "signalfd",
        "signalfd4", "timerfd_create", "inotify_init", "inotify_init1", "memfd_create",
        "pidfd_open", "pidfd_getfd", "fanotify_init", "perf_event_open", "userfaultfd",
        "mq_open", "open_by_handle_at", "fsopen", "fspick", "fsmount", "open_tree",
        "io_uring_setup", "memfd_secret", "landlock_create_ruleset",
    }
)  # fmt: skip
"""calls whose return value is a new descriptor (strace's RVAL_FD); fcntl's F_DUPFD* too"""
FCNTL_DUPFD = frozenset({0, 1030})

_PATH_RULES = """
dup2 dup3 sendfile tee: fd0 fd1
execveat faccessat faccessat2 fchmodat fchownat fspick futimesat inotify_add_watch mkdirat
  mknodat name_to_handle_at newfstatat open_tree openat openat2 readlinkat statx unlinkat
  utimensat: fd0 path1
link mount pivot_root: path0 path1
symlink quotactl: path1
linkat move_mount renameat renameat2: fd0 fd2 path1 path3
mmap: fd4
symlinkat: fd1 path2
copy_file_range splice: fd0 fd2
epoll_ctl: fd2
accept accept4 bpf epoll_create epoll_create1 eventfd eventfd2 fanotify_init inotify_init
  inotify_init1 memfd_create mq_notify mq_open mq_timedreceive mq_timedsend perf_event_open
  pipe pipe2 signalfd signalfd4 socket socketpair timerfd_create timerfd_gettime
  timerfd_settime userfaultfd getcwd mq_getsetattr io_uring_setup:
"""


def _path_rules(text: str) -> dict[str, tuple[tuple[str, int], ...]]:
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    for block in text.replace("\n  ", " ").strip().splitlines():
        names, _, places = block.partition(":")
        rule = tuple((p.rstrip("0123456789"), int(p[-1])) for p in places.split())
        out.update(dict.fromkeys(names.split(), rule))
    return out


PATH_ARGS = _path_rules(_PATH_RULES)
"""strace's -P rules: the (kind, argument) pairs that count, per call"""
POLL_CALLS = frozenset({"poll", "ppoll"})
SELECT_CALLS = frozenset({"select", "pselect6"})


def path_args(name: str, classes: str) -> tuple[tuple[str, int], ...]:
    """The arguments -P looks at for a call (its classes are sysent letters)."""
    rule = PATH_ARGS.get(name)
    if rule is not None:
        return rule
    if "f" in classes:
        return (("path", 0),)
    if "d" in classes:
        return (("fd", 0),)
    return ()


def fd_link(tid: int, fd: int) -> str | None:
    """`/proc/TID/fd/N`'s target (AT_FDCWD: the cwd); None for a descriptor not open."""
    where = f"/proc/{tid}/cwd" if fd == -100 else f"/proc/{tid}/fd/{fd}"
    if fd < 0 and fd != -100:
        return None
    try:
        return os.readlink(where)
    except OSError:
        return None


def fd_name(tid: int, fd: int, level: int, sockets: dict[int, str] | None = None) -> str | None:
    """What strace prints between `<` and `>` after a descriptor at -y (1) or -yy (2).
    `sockets` caches -yy socket details by inode, as strace does: a socket keeps the
    details first found for it (a closed peer or a shut-down connection still shows them)."""
    link = fd_link(tid, fd)
    if link is None or level < 2 or fd == -100:
        return link
    if link.startswith("socket:["):
        inode = int(link[8:-1])
        cache = sockets if sockets is not None else {}
        if inode in cache:
            return cache[inode]
        details = _socket_details(tid, fd, inode)
        if details is None:
            return link
        if details[1]:
            if len(cache) >= SOCKET_CACHE:
                cache.clear()
            cache[inode] = details[0]
        return details[0]
    if link.startswith("/"):
        with contextlib.suppress(OSError):
            st = os.stat(f"/proc/{tid}/fd/{fd}")
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                kind = "char" if stat.S_ISCHR(st.st_mode) else "block"
                return f"{link}<{kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}>"
    return link


def shown(name: str) -> str:
    """A descriptor name as strace escapes it inside `<...>` (a path's bytes; the details
    of sockets are built already escaped)."""
    if not name.startswith("/"):
        return name
    return structs.quote(name.encode("utf-8", "surrogateescape"))[1:-1]


def bracketed(name: str) -> str:
    """`<path>`; a deleted file's link ends in ` (deleted)`, which strace puts after `>`."""
    if name.endswith(_DELETED) and name.startswith("/"):
        return f"<{shown(name[: -len(_DELETED)])}>(deleted)"
    return f"<{shown(name)}>"


_DELETED = " (deleted)"


def suffix(fetched: Mapping[int, object], key: int) -> str:
    name = fetched.get(key)
    return bracketed(name) if isinstance(name, str) else ""


def pair(raw: object, names: object) -> str:
    """pipe/socketpair's `[4<pipe:[9]>, 5<pipe:[9]>]`."""
    if not isinstance(raw, bytes) or len(raw) < 8 or not isinstance(names, tuple):
        return "[?]"
    fds = struct.unpack_from("=ii", raw)
    items = (f"{fd}{bracketed(n)}" if n else str(fd) for fd, n in zip(fds, names, strict=False))
    return "[" + ", ".join(items) + "]"


def fds_match(tid: int, fds: Iterable[int], paths: frozenset[str]) -> bool:
    """-P for poll/select: one of the descriptors names a traced path."""
    return any(fd_link(tid, fd) in paths for fd in fds)


def path_matches(
    rules: Iterable[tuple[str, int]],
    fetched: Mapping[int, object],
    paths: frozenset[str],
) -> bool:
    """-P: does a call whose entry fetched `fetched` touch one of `paths`?"""
    for kind, index in rules:
        if kind == "fd":
            name = fetched.get(FD_KEY + index, fetched.get(FD_QUIET_KEY + index))
            if name in paths:
                return True
            continue
        value = fetched.get(index)
        if (
            isinstance(value, tuple)
            and isinstance(value[0], bytes)
            and value[0].decode("utf-8", "surrogateescape") in paths
        ):
            return True
    return False


# -- -yy: sockets through sock_diag ---------------------------------------------------------

SOCKET_CACHE = 4096
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_DONE = 3
_NLMSG_ERROR = 2
_INET_PROTOCOLS = {
    "TCP": (socket.AF_INET, socket.IPPROTO_TCP),
    "UDP": (socket.AF_INET, socket.IPPROTO_UDP),
    "UDPLITE": (socket.AF_INET, 136),
    "TCPv6": (socket.AF_INET6, socket.IPPROTO_TCP),
    "UDPv6": (socket.AF_INET6, socket.IPPROTO_UDP),
    "UDPLITEv6": (socket.AF_INET6, 136),
}


def _socket_details(tid: int, fd: int, inode: int) -> tuple[str, bool] | None:
    """(`PROTO:[details]`, found by sock_diag) for a socket; None without its protocol."""
    try:
        proto = os.getxattr(f"/proc/{tid}/fd/{fd}", "system.sockprotoname").rstrip(b"\0")
    except OSError:
        return None
    name = proto.decode("ascii", "replace")
    body: str | None = None
    with contextlib.suppress(OSError):
        if name in _INET_PROTOCOLS:
            body = _inet(inode, *_INET_PROTOCOLS[name])
        elif name.startswith("UNIX"):
            body = _unix(inode)
    return f"{name}:[{body if body is not None else inode}]", body is not None


def _diag(request: bytes, flags: int) -> list[bytes]:
    """The payloads of the answer to one SOCK_DIAG_BY_FAMILY request."""
    out: list[bytes] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, flags, 1, 0)
        nl.sendto(header + request, (0, 0))
        while True:
            data = nl.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind in (_NLMSG_DONE, _NLMSG_ERROR) or length < 16:
                    return out
                out.append(data[offset + 16 : offset + length])
                offset += (length + 3) & ~3
            if not flags & _NLM_F_DUMP:
                return out


def _inet(inode: int, family: int, protocol: int) -> str | None:
    request = struct.pack("=BBBBI48x", family, protocol, 0, 0, 0xFFFFFFFF)
    for msg in _diag(request, _NLM_F_REQUEST | _NLM_F_DUMP):
        if len(msg) < 72 or struct.unpack_from("=I", msg, 68)[0] != inode:
            continue
        sport, dport = struct.unpack_from(">HH", msg, 4)
        size = 4 if family == socket.AF_INET else 16
        src, dst = msg[8 : 8 + size], msg[24 : 24 + size]
        local = _endpoint(family, src, sport)
        if dport or any(dst):
            return f"{local}->{_endpoint(family, dst, dport)}"
        return local
    return None


def _endpoint(family: int, addr: bytes, port: int) -> str:
    text = socket.inet_ntop(family, addr)
    return f"{text}:{port}" if family == socket.AF_INET else f"[{text}]:{port}"


_UDIAG_SHOW_NAME = 1
_UDIAG_SHOW_PEER = 4
_UNIX_DIAG_NAME = 0
_UNIX_DIAG_PEER = 2


def _unix(inode: int) -> str | None:
    show = _UDIAG_SHOW_NAME | _UDIAG_SHOW_PEER
    request = struct.pack("=BBHIII8x", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, inode, show)
    request = request[:16] + struct.pack("=II", 0xFFFFFFFF, 0xFFFFFFFF)  # any cookie
    for msg in _diag(request, _NLM_F_REQUEST):
        if len(msg) < 16 or struct.unpack_from("=I", msg, 4)[0] != inode:
            continue
        peer, path = 0, b""
        offset = 16
        while offset + 4 <= len(msg):
            length, kind = struct.unpack_from("=HH", msg, offset)
            if length < 4:
                break
            value = msg[offset + 4 : offset + length]
            if kind == _UNIX_DIAG_PEER and len(value) >= 4:
                peer = struct.unpack_from("=I", value)[0]
            elif kind == _UNIX_DIAG_NAME:
                path = value
            offset += (length + 3) & ~3
        if not peer and not path:
            return None
        text = f"{inode}->{peer}" if peer else str(inode)
        if path.startswith(b"\0"):
            text += ",@" + structs.quote(path[1:])
        elif path:
            text += "," + structs.quote(path.rstrip(b"\0"))
        return text
    return None
