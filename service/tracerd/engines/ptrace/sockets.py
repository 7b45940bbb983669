"""strace's spelling of the socket calls' arguments: protocols, socket options, and the
value-result address lengths of accept/getsockname/getpeername (`[16]`, `[128 => 16]`).

Pure: `socket_args` rewrites the generic rendering of `parse.render_args` for these calls.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

SOCKET_CALLS = frozenset(
    {
        "socket", "socketpair", "setsockopt", "getsockopt", "accept", "accept4", "getsockname",
        "getpeername", "recvfrom",
    }
)  # fmt: skip
"""the calls `socket_args` renders"""
OUT_LEN_KEY = -3
"""fetched key of the address length the kernel wrote back (read at exit)"""
INET_FAMILIES = frozenset({2, 10})  # AF_INET, AF_INET6
IPPROTO = {
    0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP",
    41: "IPPROTO_IPV6", 58: "IPPROTO_ICMPV6", 132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE",
    255: "IPPROTO_RAW", 262: "IPPROTO_MPTCP",
}  # fmt: skip
SOL = {0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"}
SOCKOPTS = {
    1: {
        1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE",
        6: "SO_BROADCAST", 7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE",
        10: "SO_OOBINLINE", 12: "SO_PRIORITY", 13: "SO_LINGER", 15: "SO_REUSEPORT",
        16: "SO_PASSCRED", 17: "SO_PEERCRED", 18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT",
        20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD", 25: "SO_BINDTODEVICE",
        29: "SO_TIMESTAMP_OLD", 30: "SO_ACCEPTCONN", 32: "SO_SNDBUFFORCE",
        33: "SO_RCVBUFFORCE", 38: "SO_PROTOCOL", 39: "SO_DOMAIN",
    },
    6: {
        1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE",
        5: "TCP_KEEPINTVL", 6: "TCP_KEEPCNT", 9: "TCP_DEFER_ACCEPT", 12: "TCP_QUICKACK",
        13: "TCP_CONGESTION", 18: "TCP_USER_TIMEOUT", 23: "TCP_FASTOPEN",
    },
    0: {1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 4: "IP_OPTIONS", 11: "IP_RECVERR"},
    41: {26: "IPV6_V6ONLY", 16: "IPV6_UNICAST_HOPS", 25: "IPV6_RECVERR"},
}  # fmt: skip


def _name(table: Mapping[int, str], value: int) -> str:
    return table.get(value, str(value))


_OPTION_PREFIXES = {0: "IP", 1: "SO", 6: "TCP", 17: "UDP", 41: "IPV6"}


def _option_name(level: int, option: int) -> str:
    """SO_REUSEADDR; an unknown option of a known level as strace: `0x270f /* SO_??? */`."""
    name = SOCKOPTS.get(level, {}).get(option)
    if name is not None:
        return name
    prefix = _OPTION_PREFIXES.get(level)
    return f"{option:#x} /* {prefix}_??? */" if prefix else str(option)


def _socklen(entry: object, exit_: object, ok: bool) -> str | None:
    """`[16]`, or `[128 => 16]` when the kernel wrote back another length."""
    if not isinstance(entry, bytes) or len(entry) < 4:
        return None
    before = struct.unpack_from("=I", entry)[0]
    after = exit_ if isinstance(exit_, int) and ok else before
    return f"[{before}]" if after == before else f"[{before} => {after}]"


NETLINK = {
    0: "NETLINK_ROUTE", 4: "NETLINK_SOCK_DIAG", 9: "NETLINK_AUDIT", 15: "NETLINK_KOBJECT_UEVENT",
    16: "NETLINK_GENERIC",
}  # fmt: skip


def _linger(value: object) -> str | None:
    if isinstance(value, bytes) and len(value) >= 8:
        onoff, linger = struct.unpack_from("=ii", value)
        return f"{{l_onoff={onoff}, l_linger={linger}}}"
    return None


def _int_option(value: object) -> str | None:
    if isinstance(value, bytes) and len(value) >= 4:
        return f"[{struct.unpack_from('=i', value)[0]}]"
    return None


def socket_args(
    name: str, args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool
) -> list[str]:
    """strace's rendering of a socket call's arguments, from the generic `out`."""
    if name in ("socket", "socketpair") and len(out) >= 3:
        family, proto = args[0] & 0xFFFF, args[2] & 0xFFFFFFFF
        if family in INET_FAMILIES:
            protocol = IPPROTO.get(proto, f"{proto:#x} /* IPPROTO_??? */")
            return [*out[:2], protocol, *out[3:]]
        if family == 16:  # AF_NETLINK
            return [*out[:2], NETLINK.get(proto, str(proto)), *out[3:]]
        return out
    if name == "recvfrom" and len(out) == 6:
        length = _socklen(fetched.get(5), fetched.get(OUT_LEN_KEY), ok)
        return [*out[:5], length or out[5]]
    if name in ("setsockopt", "getsockopt") and len(out) >= 5:
        level, option = args[1] & 0xFFFFFFFF, args[2] & 0xFFFFFFFF
        shown = [out[0], _name(SOL, level), _option_name(level, option)]
        if name == "setsockopt":
            value = _int_option(fetched.get(3)) if args[4] == 4 else None
            if level == 1 and option == 13:  # SO_LINGER
                value = _linger(fetched.get(3))
            return [*shown, value or out[3], str(args[4])]
        value = _int_option(fetched.get(3)) if ok and fetched.get(OUT_LEN_KEY) == 4 else None
        length = _socklen(fetched.get(4), fetched.get(OUT_LEN_KEY), ok)
        return [*shown, value or out[3], length or out[4]]
    if name in ("accept", "accept4", "getsockname", "getpeername") and len(out) >= 3:
        length = _socklen(fetched.get(2), fetched.get(OUT_LEN_KEY), ok)
        return [out[0], out[1], length or out[2], *out[3:]]
    return out
