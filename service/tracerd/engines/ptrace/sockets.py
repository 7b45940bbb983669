"""strace's spelling of the socket calls' arguments: protocols, socket options, and the
value-result address lengths of accept/getsockname/getpeername (`[16]`, `[128 => 16]`).

Pure: `socket_args` rewrites the generic rendering of `parse.render_args` for these calls.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from . import argtypes, flags
from .structs import quote, sockaddr

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
SOL = {
    0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 40: "AF_VSOCK", 41: "SOL_IPV6",
    58: "SOL_ICMPV6", 100: "SOL_CAN_BASE", 101: "SOL_CAN_RAW", 132: "SOL_SCTP",
    136: "SOL_UDPLITE", 255: "SOL_RAW", 256: "SOL_IPX", 257: "SOL_AX25", 258: "SOL_ATALK",
    259: "SOL_NETROM", 260: "SOL_ROSE", 261: "SOL_DECNET", 262: "SOL_X25", 263: "SOL_PACKET",
    264: "SOL_ATM", 265: "SOL_AAL", 266: "SOL_IRDA", 267: "SOL_NETBEUI", 268: "SOL_LLC",
    269: "SOL_DCCP", 270: "SOL_NETLINK", 271: "SOL_TIPC", 272: "SOL_RXRPC", 273: "SOL_PPPOL2TP",
    274: "SOL_BLUETOOTH", 275: "SOL_PNPIPE", 276: "SOL_RDS", 277: "SOL_IUCV", 278: "SOL_CAIF",
    279: "SOL_ALG", 280: "SOL_NFC", 281: "SOL_KCM", 282: "SOL_TLS", 283: "SOL_XDP",
    0xFFFF: "SOL_SOCKET",
}  # fmt: skip
"""strace's socketlayers: an unknown level prints `0x3e7 /* SOL_?? */`"""


def _numbered(names: str, first: int = 1) -> dict[int, str]:
    """Consecutive option numbers from `first`; `-` skips a number."""
    return {i: n for i, n in enumerate(names.split(), first) if n != "-"}


SOCKOPTS = {
    1: _numbered(
        "SO_DEBUG SO_REUSEADDR SO_TYPE SO_ERROR SO_DONTROUTE SO_BROADCAST SO_SNDBUF SO_RCVBUF "
        "SO_KEEPALIVE SO_OOBINLINE SO_NO_CHECK SO_PRIORITY SO_LINGER SO_BSDCOMPAT SO_REUSEPORT "
        "SO_PASSCRED SO_PEERCRED SO_RCVLOWAT SO_SNDLOWAT SO_RCVTIMEO_OLD SO_SNDTIMEO_OLD "
        "SO_SECURITY_AUTHENTICATION SO_SECURITY_ENCRYPTION_TRANSPORT "
        "SO_SECURITY_ENCRYPTION_NETWORK SO_BINDTODEVICE SO_ATTACH_FILTER SO_DETACH_FILTER "
        "SO_PEERNAME SO_TIMESTAMP_OLD SO_ACCEPTCONN SO_PEERSEC SO_SNDBUFFORCE SO_RCVBUFFORCE "
        "SO_PASSSEC SO_TIMESTAMPNS_OLD SO_MARK SO_TIMESTAMPING_OLD SO_PROTOCOL SO_DOMAIN "
        "SO_RXQ_OVFL SO_WIFI_STATUS SO_PEEK_OFF SO_NOFCS SO_LOCK_FILTER SO_SELECT_ERR_QUEUE "
        "SO_BUSY_POLL SO_MAX_PACING_RATE SO_BPF_EXTENSIONS SO_INCOMING_CPU SO_ATTACH_BPF "
        "SO_ATTACH_REUSEPORT_CBPF SO_ATTACH_REUSEPORT_EBPF SO_CNX_ADVICE - SO_MEMINFO "
        "SO_INCOMING_NAPI_ID SO_COOKIE - SO_PEERGROUPS SO_ZEROCOPY SO_TXTIME SO_BINDTOIFINDEX "
        "SO_TIMESTAMP_NEW SO_TIMESTAMPNS_NEW SO_TIMESTAMPING_NEW SO_RCVTIMEO_NEW "
        "SO_SNDTIMEO_NEW SO_DETACH_REUSEPORT_BPF SO_PREFER_BUSY_POLL SO_BUSY_POLL_BUDGET "
        "SO_NETNS_COOKIE SO_BUF_LOCK SO_RESERVE_MEM SO_TXREHASH SO_RCVMARK"
    ),
    6: _numbered(
        "TCP_NODELAY TCP_MAXSEG TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT TCP_SYNCNT "
        "TCP_LINGER2 TCP_DEFER_ACCEPT TCP_WINDOW_CLAMP TCP_INFO TCP_QUICKACK TCP_CONGESTION "
        "TCP_MD5SIG TCP_COOKIE_TRANSACTIONS TCP_THIN_LINEAR_TIMEOUTS TCP_THIN_DUPACK "
        "TCP_USER_TIMEOUT TCP_REPAIR TCP_REPAIR_QUEUE TCP_QUEUE_SEQ TCP_REPAIR_OPTIONS "
        "TCP_FASTOPEN TCP_TIMESTAMP TCP_NOTSENT_LOWAT TCP_CC_INFO TCP_SAVE_SYN TCP_SAVED_SYN "
        "TCP_REPAIR_WINDOW TCP_FASTOPEN_CONNECT TCP_ULP TCP_MD5SIG_EXT TCP_FASTOPEN_KEY "
        "TCP_FASTOPEN_NO_COOKIE TCP_ZEROCOPY_RECEIVE TCP_INQ TCP_TX_DELAY"
    ),
    0: {
        **_numbered(
            "IP_TOS IP_TTL IP_HDRINCL IP_OPTIONS IP_ROUTER_ALERT IP_RECVOPTS IP_RETOPTS "
            "IP_PKTINFO IP_PKTOPTIONS IP_MTU_DISCOVER IP_RECVERR IP_RECVTTL IP_RECVTOS IP_MTU "
            "IP_FREEBIND IP_IPSEC_POLICY IP_XFRM_POLICY IP_PASSSEC IP_TRANSPARENT "
            "IP_ORIGDSTADDR IP_MINTTL IP_NODEFRAG IP_CHECKSUM IP_BIND_ADDRESS_NO_PORT "
            "IP_RECVFRAGSIZE IP_RECVERR_RFC4884"
        ),
        **_numbered(
            "IP_MULTICAST_IF IP_MULTICAST_TTL IP_MULTICAST_LOOP IP_ADD_MEMBERSHIP "
            "IP_DROP_MEMBERSHIP IP_UNBLOCK_SOURCE IP_BLOCK_SOURCE IP_ADD_SOURCE_MEMBERSHIP "
            "IP_DROP_SOURCE_MEMBERSHIP IP_MSFILTER MCAST_JOIN_GROUP MCAST_BLOCK_SOURCE "
            "MCAST_UNBLOCK_SOURCE MCAST_LEAVE_GROUP MCAST_JOIN_SOURCE_GROUP "
            "MCAST_LEAVE_SOURCE_GROUP MCAST_MSFILTER IP_MULTICAST_ALL IP_UNICAST_IF",
            32,
        ),
    },
    41: {
        **_numbered(
            "IPV6_ADDRFORM IPV6_2292PKTINFO IPV6_2292HOPOPTS IPV6_2292DSTOPTS IPV6_2292RTHDR "
            "IPV6_2292PKTOPTIONS IPV6_CHECKSUM IPV6_2292HOPLIMIT IPV6_NEXTHOP IPV6_AUTHHDR "
            "IPV6_FLOWINFO"
        ),
        **_numbered(
            "IPV6_UNICAST_HOPS IPV6_MULTICAST_IF IPV6_MULTICAST_HOPS IPV6_MULTICAST_LOOP "
            "IPV6_ADD_MEMBERSHIP IPV6_DROP_MEMBERSHIP IPV6_ROUTER_ALERT IPV6_MTU_DISCOVER "
            "IPV6_MTU IPV6_RECVERR IPV6_V6ONLY IPV6_JOIN_ANYCAST IPV6_LEAVE_ANYCAST "
            "IPV6_MULTICAST_ALL IPV6_ROUTER_ALERT_ISOLATE IPV6_RECVERR_RFC4884 "
            "IPV6_FLOWLABEL_MGR IPV6_FLOWINFO_SEND IPV6_IPSEC_POLICY IPV6_XFRM_POLICY "
            "IPV6_HDRINCL - - - - - MCAST_JOIN_GROUP MCAST_BLOCK_SOURCE MCAST_UNBLOCK_SOURCE "
            "MCAST_LEAVE_GROUP MCAST_JOIN_SOURCE_GROUP MCAST_LEAVE_SOURCE_GROUP MCAST_MSFILTER "
            "IPV6_RECVPKTINFO IPV6_PKTINFO IPV6_RECVHOPLIMIT IPV6_HOPLIMIT IPV6_RECVHOPOPTS "
            "IPV6_HOPOPTS IPV6_RTHDRDSTOPTS IPV6_RECVRTHDR IPV6_RTHDR IPV6_RECVDSTOPTS "
            "IPV6_DSTOPTS IPV6_RECVPATHMTU IPV6_PATHMTU IPV6_DONTFRAG IPV6_USE_MIN_MTU - - "
            "IPV6_RECVTCLASS IPV6_TCLASS - - IPV6_AUTOFLOWLABEL - IPV6_ADDR_PREFERENCES "
            "IPV6_MINHOPCOUNT IPV6_ORIGDSTADDR IPV6_TRANSPARENT IPV6_UNICAST_IF "
            "IPV6_RECVFRAGSIZE IPV6_FREEBIND",
            16,
        ),
    },
    17: {
        1: "UDP_CORK", 100: "UDP_ENCAP", 101: "UDP_NO_CHECK6_TX", 102: "UDP_NO_CHECK6_RX",
        103: "UDP_SEGMENT", 104: "UDP_GRO",
    },
    270: _numbered(
        "NETLINK_ADD_MEMBERSHIP NETLINK_DROP_MEMBERSHIP NETLINK_PKTINFO NETLINK_BROADCAST_ERROR "
        "NETLINK_NO_ENOBUFS NETLINK_RX_RING NETLINK_TX_RING NETLINK_LISTEN_ALL_NSID "
        "NETLINK_LIST_MEMBERSHIPS NETLINK_CAP_ACK NETLINK_EXT_ACK NETLINK_GET_STRICT_CHK"
    ),
    255: {1: "ICMP_FILTER"},
}  # fmt: skip
"""strace's option tables per level (x86-64 numbers); SO_GET_FILTER is 26 for getsockopt"""
SO_INT_OPTIONS = frozenset(
    {1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 19, 27, 29, 30, 32, 33, 34, 35, 36, 37, 40,
     41, 42, 43, 44, 45, 46, 49, 53, 56, 60, 63, 64, 65, 68, 69, 70, 73, 75}
)  # fmt: skip
"""SOL_SOCKET options strace prints as `[int]` (its "int-like" list); the others of the level
print by length like any option"""
OPTVAL_MIN = 16
"""bytes of an option value always read (an int, a linger, a ucred), even under a small -s"""


def _name(table: Mapping[int, str], value: int) -> str:
    return table.get(value, str(value))


_OPTION_PREFIXES = {
    0: "IP", 1: "SO", 6: "TCP", 17: "UDP", 41: "IPV6", 40: "SO_VM", 256: "IPX", 257: "AX25",
    263: "PACKET", 101: "CAN_RAW", 132: "SCTP", 255: "RAW", 270: "NETLINK", 266: "IRLMP",
    268: "LLC_OPT", 269: "DCCP_SOCKOPT", 271: "TIPC", 272: "RXRPC", 273: "PPPOL2TP_SO",
    274: "BT", 275: "PNPIPE", 276: "RDS", 277: "SO", 278: "CAIFSO", 279: "ALG", 280: "NFC_LLCP",
    281: "KCM", 282: "TLS", 283: "XDP",
}  # fmt: skip


def _option_name(level: int, option: int, get: bool) -> str:
    """SO_REUSEADDR; an unknown option of a known level as strace: `0x270f /* SO_??? */`."""
    if level == 1 and option == 26 and get:
        return "SO_GET_FILTER"
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


ETH_P = {
    0x0003: "ETH_P_ALL", 0x0800: "ETH_P_IP", 0x0806: "ETH_P_ARP", 0x86DD: "ETH_P_IPV6",
    0x8100: "ETH_P_8021Q", 0x88CC: "ETH_P_LLDP", 0x8035: "ETH_P_RARP", 0x0004: "ETH_P_802_2",
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


def _level_name(level: int) -> str:
    return SOL.get(level) or f"{level:#x} /* SOL_?? */"


def _bytes_of(value: object, size: int, force_hex: bool = False) -> str | None:
    """strace's printstrn: the option's bytes as a string, cut at -s."""
    if not isinstance(value, tuple):
        return None
    data, limit = value
    if size > 0 and not data:
        return None  # unreadable: the address
    return quote(data[: max(limit, 0)], cut=size > limit, force_hex=force_hex)


def _set_value(level: int, option: int, value: object, size: int) -> str | None:
    """setsockopt's optval as strace 6.1 prints it (None: the address)."""
    data = value[0] if isinstance(value, tuple) else None
    if level == 1 and option == 13:  # SO_LINGER
        return _linger(data) if size >= 8 else None
    if (level == 1 and option in SO_INT_OPTIONS) or level == 270:
        return _int_option(data) if size >= 4 else None
    return _int_option(data) if size == 4 else _bytes_of(value, size)


def _get_value(level: int, option: int, value: object, rlen: int) -> str | None:
    """getsockopt's optval once the call wrote `rlen` bytes (None: the address)."""
    data = value[0] if isinstance(value, tuple) else None
    if rlen <= 0 or data is None:
        return None
    if level == 1 and option == 13:  # SO_LINGER
        return _linger(data)
    if level == 1 and option == 17 and len(data) >= 12:  # SO_PEERCRED
        pid, uid, gid = struct.unpack_from("=iII", data)
        return f"{{pid={pid}, uid={_id(uid)}, gid={_id(gid)}}}"
    if level == 1 and option == 4:  # SO_ERROR: an errno
        if rlen < 4:
            return _bytes_of(value, rlen, force_hex=True)
        err = struct.unpack_from("=I", data)[0]
        return f"[{flags.errno_name(err) if err else 0}]"
    if level == 1 and option in SO_INT_OPTIONS:
        return _int_option(data) if rlen >= 4 else _bytes_of(value, rlen, force_hex=True)
    if level == 270:
        return _int_option(data)
    return _int_option(data) if rlen == 4 else _bytes_of(value, rlen)


def _id(value: int) -> str:
    return "-1" if value == 0xFFFFFFFF else str(value)


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
        if family == 17:  # AF_PACKET: an ethertype in network order
            eth = ((proto & 0xFF) << 8) | ((proto >> 8) & 0xFF)
            ethertype = ETH_P.get(eth, f"{eth:#x} /* ETH_P_??? */" if eth else "0 /* ETH_P_??? */")
            return [*out[:2], f"htons({ethertype})", *out[3:]]
        return out
    if name == "recvfrom" and len(out) == 6:
        length = _socklen(fetched.get(5), fetched.get(OUT_LEN_KEY), ok)
        return [*out[:5], length or out[5]]
    if name in ("setsockopt", "getsockopt") and len(out) >= 5:
        level, option = args[1] & 0xFFFFFFFF, args[2] & 0xFFFFFFFF
        shown = [out[0], _level_name(level), _option_name(level, option, name == "getsockopt")]
        value = fetched.get(3)
        if name == "setsockopt":
            size = argtypes.s32(args[4])
            return [*shown, _set_value(level, option, value, size) or out[3], str(size)]
        rlen = fetched.get(OUT_LEN_KEY)
        length = _socklen(fetched.get(4), rlen, ok)
        got = ok and isinstance(fetched.get(4), bytes)
        rlen = rlen if isinstance(rlen, int) else 0
        shown_value = _get_value(level, option, value, argtypes.s32(rlen)) if got and rlen else None
        return [*shown, shown_value or out[3], length or out[4]]
    if name in ("accept", "accept4", "getsockname", "getpeername") and len(out) >= 3:
        length = _socklen(fetched.get(2), fetched.get(OUT_LEN_KEY), ok)
        before, data = fetched.get(2), fetched.get(1)
        address = out[1]
        if isinstance(before, bytes) and len(before) >= 4 and isinstance(data, bytes):
            room = struct.unpack_from("=I", before)[0]  # strace shows what fit the buffer
            if room < len(data):
                address = sockaddr(data[:room]) or address
        return [out[0], address, length or out[2], *out[3:]]
    return out
