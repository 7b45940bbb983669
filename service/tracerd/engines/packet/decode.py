"""Packets decoded (dpkt) into event fields, with the one-line summary `tcpdump -n` prints.

`Decoder.decode(frame, wirelen)` returns the fields of one packet: link (`eth_src`,
`eth_dst`, `ethertype`; `ifname`/`direction` on cooked captures), `proto` (arp, ipv4,
ipv6, ...), addresses, `ip_proto`, `ttl`/`hlim`, ports, TCP `flags`/`seq`/`ack`/`win`,
ICMP `icmp_type`/`icmp_code`, `payload_len`, and `text`: the summary line without the
timestamp, as tcpdump 4.99 prints it with -n and no -v (`IP a.1 > b.2: Flags [S], seq
..., length 0`). TCP sequence numbers are relative after the handshake as tcpdump's are
(without -S), which needs the conversation state the decoder keeps: decode a session's
packets in order, with one decoder. What tcpdump would print for a protocol not handled
here falls back to its generic form (`ethertype ...`, `ip-proto-N`, `UDP, length N`).
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import dpkt

from .apps import APP_PORTS, Truncated, udp_app_text
from .cbpf import DLT_EN10MB, DLT_LINUX_SLL2

TCP_FLAGS = tuple((1 << i, ch) for i, ch in enumerate("FSRP.UEW"))
TH_SYN, TH_ACK, TH_URG = 0x02, 0x10, 0x20
ARP_OPS = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply"}
ARP_OPS |= {8: "InARP Request", 9: "InARP Reply", 10: "NAK Reply"}
SLL_DIRECTION = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
ICMP_UNREACH = {
    0: "net {dst} unreachable",
    1: "host {dst} unreachable",
    2: "{dst} protocol {proto} unreachable",
    3: "{dst} {tproto} port {port} unreachable",
    9: "net {dst} unreachable - admin prohibited",
    10: "host {dst} unreachable - admin prohibited",
    13: "host {dst} unreachable - admin prohibited filter",
}
ICMP_TYPES = {
    0: "echo reply",
    4: "source quench",
    8: "echo request",
    9: "router advertisement",
    10: "router solicitation",
    13: "time stamp request",
    14: "time stamp reply",
    17: "address mask request",
    18: "address mask reply",
}
ICMP6_TYPES = {
    1: "destination unreachable",
    2: "packet too big",
    3: "time exceeded in-transit",
    4: "parameter problem",
    128: "echo request",
    129: "echo reply",
    130: "multicast listener query",
    131: "multicast listener report",
    132: "multicast listener done",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
    137: "redirect",
    143: "multicast listener report v2",
}
ICMP6_UNREACH = {
    0: "unreachable route {dst}",
    1: "unreachable prohibited {dst}",
    3: "unreachable address {dst}",
    4: "unreachable port, {dst} {tproto} port {port}",
}
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})
ETHERTYPE_NAMES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q"}
ETHERTYPE_NAMES |= {0x88CC: "LLDP", 0x8035: "Reverse ARP", 0x888E: "EAPOL", 0x88A8: "802.1Q-QinQ"}
IP_PROTO_NAMES = {1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ip6"}
IP_PROTO_NAMES |= {47: "gre", 50: "esp", 51: "ah", 58: "icmp6", 132: "sctp"}
TCP_OPTION_NAMES = {2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS", 19: "md5", 30: "mptcp"}
IPV6_EXT_TRUNCATED = {0: "hbhopt", 60: "dstopt", 43: "srcrt", 44: "frag6"}
IPV6_EXT_NAMES = {0: "HBH", 43: "srcrt", 44: "frag", 60: "DSTOPT"}
FLOW_CACHE_SIZE = 4096


NETWORK_MINIMUM = {0x0800: ("ip", 20), 0x86DD: ("ip6", 40), 0x0806: ("arp", 28)}
"""tcpdump's name of a network layer and the bytes it needs to print anything of it"""
TRANSPORT_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}
NETWORK_LAYERS: dict[int, Any] = {
    dpkt.ethernet.ETH_TYPE_IP: dpkt.ip.IP,
    dpkt.ethernet.ETH_TYPE_IP6: dpkt.ip6.IP6,
    dpkt.ethernet.ETH_TYPE_ARP: dpkt.arp.ARP,
}


IPV4_HEADER = struct.Struct(">BxHHHBB")
"""version/IHL, total length, id, flags/fragment offset, TTL, protocol"""
UDP_HEADER = struct.Struct(">HHH")
TCP_HEADER = struct.Struct(">HHIIHHxxH")
"""ports, seq, ack, offset/flags, window, urgent pointer"""


class _CutLine(Exception):
    """A packet cut short whose line is complete as it is (str of the exception)."""


class _AppTruncated(Exception):
    """An application message cut short: the line printed so far (str of the exception)."""


class TcpHeader:
    """The TCP header fields the summary reads (what dpkt's TCP object offers), unpacked
    with struct alone on the fast path."""

    __slots__ = ("ack", "dport", "flags", "off", "opts", "seq", "sport", "urp", "win")

    def __init__(self, segment: bytes) -> None:
        self.sport, self.dport, self.seq, self.ack, off_flags, self.win, self.urp = (
            TCP_HEADER.unpack_from(segment)
        )
        self.off, self.flags = off_flags >> 12, off_flags & 0x1FF
        self.opts = segment[20 : self.off * 4]


def ip4(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, raw)


def ip6(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


def mac(raw: bytes) -> str:
    return raw.hex(":")


def tcp_flags(flags: int) -> str:
    return "".join(ch for bit, ch in TCP_FLAGS if flags & bit) or "none"


class Decoder:
    """One capture's decoder (keeps TCP conversations for relative sequence numbers)."""

    def __init__(
        self,
        linktype: int = DLT_EN10MB,
        ifnames: dict[int, str] | None = None,
        *,
        fast: bool = True,
    ) -> None:
        self.linktype = linktype
        self.fast = fast
        """IPv4 UDP/TCP over Ethernet decoded without dpkt's objects (same fields, same text)"""
        self.ifnames = dict(ifnames or {})
        self._tcp: dict[tuple[bytes, bytes, int], tuple[int, int]] = {}
        self._layer = "ether"
        """the layer being decoded, named in a truncated packet's `[|layer]`"""
        self._udp_flows: dict[bytes, dict[str, Any]] = {}
        """fields of whole IPv4 UDP packets by the header bytes they come from (a flood's
        packets differ only in their IP id): one dict copy a packet instead of decoding"""
        self._cacheable = False
        self._flows = fast and linktype == DLT_EN10MB

    def decode(self, frame: bytes, wirelen: int) -> dict[str, Any]:
        if (
            self._flows
            and frame[12:15] == b"\x08\x00\x45"
            and frame[23:24] == b"\x11"
            and wirelen == len(frame)
        ):
            # Ethernet, IPv4 without options, UDP, not cut: everything but the IP id comes
            # from these bytes (addresses, ports, lengths, TTL, fragment bits)
            key = frame[:18] + frame[20:24] + frame[26:40]
            known = self._udp_flows.get(key)
            if known is not None and known["len"] == wirelen:
                fields = known.copy()
                fields["ip_id"] = int.from_bytes(frame[18:20], "big")
                return fields
            fields = self._decode(frame, wirelen)
            if self._cacheable:
                if len(self._udp_flows) >= FLOW_CACHE_SIZE:
                    self._udp_flows.clear()
                self._udp_flows[key] = fields.copy()
            return fields
        return self._decode(frame, wirelen)

    def _decode(self, frame: bytes, wirelen: int) -> dict[str, Any]:
        self._cacheable = False
        fields: dict[str, Any] = {"len": wirelen, "caplen": len(frame)}
        self._layer = "ether"
        try:
            if self.linktype == DLT_LINUX_SLL2:
                text = self._sll2(frame, fields)
            else:
                text = self._ether(frame, wirelen, fields)
        except _AppTruncated as cut:
            text = f"{cut} [|{self._layer}]"
            fields["truncated"] = True
        except _CutLine as cut:
            text = str(cut)
            fields["truncated"] = True
        except (dpkt.UnpackError, struct.error, IndexError, ValueError):
            # cut short by the snap length: tcpdump's "[|proto]" after what it could print
            text = fields.get("text_head", "") + f" [|{self._layer}]"
            fields["truncated"] = True
        fields.pop("text_head", None)
        fields["text"] = text
        return fields

    # -- link layers ------------------------------------------------------------------

    def _ether(self, frame: bytes, wirelen: int, fields: dict[str, Any]) -> str:
        ethertype = int.from_bytes(frame[12:14], "big")
        fields.update(eth_src=mac(frame[6:12]), eth_dst=mac(frame[:6]), ethertype=ethertype)
        if ethertype == 0x0800 and self.fast:
            text = self._fast_ipv4(frame, fields)
            if text is not None:
                return text
        header = 14
        if ethertype in VLAN_TPIDS:  # 802.1Q/802.1ad tags: tcpdump prints them with -e only
            tags = []
            while ethertype in VLAN_TPIDS and len(frame) >= header + 4:
                tci, ethertype = struct.unpack_from(">HH", frame, header)
                tags.append({"id": tci & 0x0FFF, "pcp": tci >> 13, "ethertype": ethertype})
                if tci & 0x1000:
                    tags[-1]["dei"] = 1
                header += 4
            fields["vlan"] = tags
        if ethertype in NETWORK_LAYERS:  # the common case without dpkt's generic Ethernet
            payload = self._parse_network(ethertype, frame[header:], fields)
        elif header == 14:  # LLC, MPLS, ...: dpkt's Ethernet sorts them out
            eth = dpkt.ethernet.Ethernet(frame)
            ethertype, payload = eth.type, eth.data
        else:
            payload = frame[header:]
        return self._network(ethertype, payload, wirelen - header, fields)

    def _fast_ipv4(self, frame: bytes, fields: dict[str, Any]) -> str | None:
        """An untruncated, unfragmented IPv4 UDP or TCP packet, read with struct alone (the
        flood's common case: dpkt's objects cost most of a packet's decoding); None leaves
        the packet to the general path. Same fields and text as `_ipv4` + `_transport`."""
        if len(frame) < 34:
            return None
        vhl, ip_len, ip_id, frag, ttl, proto = IPV4_HEADER.unpack_from(frame, 14)
        hl = (vhl & 0x0F) * 4
        start = 14 + hl
        end = min(len(frame), 14 + ip_len) if ip_len else len(frame)
        if vhl >> 4 != 4 or hl < 20 or frag & 0x1FFF or start > len(frame):
            return None
        if not ((proto == 17 and end - start >= 8) or (proto == 6 and end - start >= 20)):
            return None
        raw_src, raw_dst = frame[26:30], frame[30:34]
        src, dst = ip4(raw_src), ip4(raw_dst)
        fields.update(
            proto="ipv4", src=src, dst=dst, ip_proto=proto, ttl=ttl, ip_len=ip_len, ip_id=ip_id
        )
        if proto == 17:
            sport, dport, ulen = UDP_HEADER.unpack_from(frame, start)
            fields.update(sport=sport, dport=dport, payload_len=ulen - 8)
            head = f"IP {src}.{sport} > {dst}.{dport}: "
            return head + self._udp_text(sport, dport, frame[start + 8 : end], ulen - 8, head)
        tcp = TcpHeader(frame[start:end])
        if tcp.off < 5:
            return None  # dpkt refuses the header: the general path prints it cut short
        head = f"IP {src}.{tcp.sport} > {dst}.{tcp.dport}: "
        self._layer = "tcp"
        fields["text_head"] = head
        return head + self._tcp_text(tcp, raw_src, raw_dst, ip_len - hl, fields)

    def _sll2(self, frame: bytes, fields: dict[str, Any]) -> str:
        proto, _r, ifindex, hatype, pkttype, halen, addr = struct.unpack_from(">HHIHBB8s", frame)
        ifname = self.ifnames.get(ifindex) or socket.if_indextoname(ifindex)
        direction = SLL_DIRECTION.get(pkttype, "?")
        fields.update(
            ifindex=ifindex, ifname=ifname, direction=direction, ethertype=proto, hatype=hatype
        )
        if halen == 6:
            fields["eth_src"] = mac(addr[:6])
        head = f"{ifname:<6} {direction:<3} "
        fields["text_head"] = head
        body = self._cooked_payload(proto, frame[20:], fields["len"] - 20, fields)
        return head + body

    def _cooked_payload(self, proto: int, data: bytes, length: int, fields: dict[str, Any]) -> str:
        known = proto in NETWORK_LAYERS
        payload = self._parse_network(proto, data, fields) if known else data
        return self._network(proto, payload, length, fields)

    def _parse_network(self, ethertype: int, data: bytes, fields: dict[str, Any]) -> Any:
        """dpkt's IP, IPv6 or ARP header; NeedData when the snap length cut it short."""
        self._layer, minimum = NETWORK_MINIMUM[ethertype]
        if len(data) < minimum:
            raise dpkt.NeedData(self._layer)
        if minimum == 20 and len(data) < (data[0] & 0x0F) * 4:  # options cut short
            fields["text_head"] = fields.get("text_head", "") + (
                f"IP {ip4(data[12:16])} > {ip4(data[16:20])}:  [remaining caplen({len(data)})"
                f" < header length({(data[0] & 0x0F) * 4})]"
            )
            raise dpkt.NeedData(self._layer)
        try:
            return NETWORK_LAYERS[ethertype](data)
        except dpkt.UnpackError:
            if ethertype == 0x86DD:  # an extension header cut short
                head = f"IP6 {ip6(data[8:24])} > {ip6(data[24:40])}: "
                fields["text_head"] = fields.get("text_head", "") + head
                self._layer = IPV6_EXT_TRUNCATED.get(data[6], "ip6")
                if data[6] == 44 and len(data) >= 44:  # tcpdump got the fragment's offset
                    offset = int.from_bytes(data[42:44], "big") & 0xFFF8
                    plen = int.from_bytes(data[4:6], "big")
                    line = fields["text_head"] + f"frag ({offset}|{plen - 8})"
                    raise _CutLine(line if offset else line + " ") from None
            raise

    def _network(self, ethertype: int, payload: Any, length: int, fields: dict[str, Any]) -> str:
        if isinstance(payload, dpkt.arp.ARP):
            return self._arp(payload, length, fields)
        if isinstance(payload, dpkt.ip.IP):
            return self._ipv4(payload, fields)
        if isinstance(payload, dpkt.ip6.IP6):
            return self._ipv6(payload, fields)
        fields["proto"] = f"0x{ethertype:04x}"
        if self.linktype == DLT_EN10MB:  # not decoded: tcpdump shows the link-level header
            return (
                f"{fields['eth_src']} > {fields['eth_dst']}, {_ethertype_text(ethertype)}, "
                f"length {fields['len']}: "
            )
        name = ETHERTYPE_NAMES.get(ethertype, "Unknown")
        return f"ethertype {name} (0x{ethertype:04x}), length {length + 14}: "

    def _arp(self, arp: Any, length: int, fields: dict[str, Any]) -> str:
        fields.update(
            proto="arp",
            arp_op=arp.op,
            src=ip4(arp.spa),
            dst=ip4(arp.tpa),
            arp_sha=mac(arp.sha),
            arp_tha=mac(arp.tha),
        )
        op = ARP_OPS.get(arp.op, f"Unknown ({arp.op})")
        if arp.op == 1:
            known = f" ({mac(arp.tha)})" if any(arp.tha) else ""
            body = f"who-has {fields['dst']}{known} tell {fields['src']}"
        elif arp.op == 2:
            body = f"{fields['src']} is-at {mac(arp.sha)}"
        else:
            body = ""
        return f"ARP, {op} {body}, length {length}" if body else f"ARP, {op}, length {length}"

    # -- IP ---------------------------------------------------------------------------

    def _ipv4(self, ip: Any, fields: dict[str, Any]) -> str:
        src, dst = ip4(ip.src), ip4(ip.dst)
        fields.update(
            proto="ipv4", src=src, dst=dst, ip_proto=ip.p, ttl=ip.ttl, ip_len=ip.len, ip_id=ip.id
        )
        payload_len = ip.len - ip.hl * 4
        if ip.offset:  # a later fragment: no transport header
            return f"IP {src} > {dst}: ip-proto-{ip.p}"
        return "IP " + self._transport(ip.p, ip.data, src, dst, ip.src, ip.dst, payload_len, fields)

    def _ipv6(self, ip: Any, fields: dict[str, Any]) -> str:
        src, dst = ip6(ip.src), ip6(ip.dst)
        fields.update(proto="ipv6", src=src, dst=dst, ip_proto=ip.p, hlim=ip.hlim, ip_len=ip.plen)
        ext = ""
        nxt, length = ip.nxt, ip.plen
        for hdr in getattr(ip, "all_extension_headers", []):
            if nxt == 44:  # tcpdump: frag (offset|length); a later fragment ends the line
                offset = hdr.frag_off * 8
                ext += f"frag ({offset}|{length - hdr.length}) "
                if offset:
                    fields["frag_offset"] = offset
                    return f"IP6 {src} > {dst}: {ext.rstrip()}"
            else:
                ext += f"{IPV6_EXT_NAMES.get(nxt, f'ext-{nxt}')} "
            nxt, length = hdr.nxt, length - hdr.length
        return "IP6 " + self._transport(
            ip.p, ip.data, src, dst, ip.src, ip.dst, length, fields, ext
        )

    def _transport(
        self,
        proto: int,
        data: Any,
        src: str,
        dst: str,
        raw_src: bytes,
        raw_dst: bytes,
        length: int,
        fields: dict[str, Any],
        ext: str = "",
    ) -> str:
        if isinstance(data, bytes) and proto in TRANSPORT_NAMES:  # cut short by the snap length
            fields["truncated"] = True
            name = TRANSPORT_NAMES[proto]
            if proto in (6, 17) and len(data) >= 4:
                sport, dport = struct.unpack_from(">HH", data)
                fields.update(sport=sport, dport=dport)
                return f"{src}.{sport} > {dst}.{dport}: {ext} [|{name}]"
            if proto == 58 and data:
                known = ICMP6_TYPES.get(data[0], f"unknown icmp6 type ({data[0]})")
                return f"{src} > {dst}: {ext}ICMP6, {known} [|icmp6]"
            return f"{src} > {dst}: {ext}{'' if proto == 6 else ' '}[|{name}]"
        if isinstance(data, dpkt.tcp.TCP):
            head = f"{src}.{data.sport} > {dst}.{data.dport}: {ext}"
            self._layer = "tcp"
            fields["text_head"] = fields.get("text_head", "") + ("IP6 " if ":" in src else "IP ")
            fields["text_head"] += head
            return head + self._tcp_text(data, raw_src, raw_dst, length, fields)
        if isinstance(data, dpkt.udp.UDP):
            fields.update(sport=data.sport, dport=data.dport, payload_len=data.ulen - 8)
            head = f"{src}.{data.sport} > {dst}.{data.dport}: {ext}"
            ip_name = "IP6 " if ":" in src else "IP "
            return head + self._udp_text(
                data.sport, data.dport, bytes(data.data), data.ulen - 8, ip_name + head
            )
        if isinstance(data, dpkt.icmp.ICMP) and proto == 1:
            self._layer = "icmp"
            fields["text_head"] = fields.get("text_head", "") + f"IP {src} > {dst}: {ext}"
            return f"{src} > {dst}: {ext}ICMP " + self._icmp(data, length, fields)
        if isinstance(data, dpkt.icmp6.ICMP6):
            self._layer = "icmp6"
            fields["text_head"] = fields.get("text_head", "") + f"IP6 {src} > {dst}: {ext}"
            return f"{src} > {dst}: {ext}ICMP6, " + self._icmp6(data, length, fields)
        fields["payload_len"] = length
        if proto not in IP_PROTO_NAMES:
            return f"{src} > {dst}: {ext} ip-proto-{proto} {length}"
        return f"{src} > {dst}: {ext}{IP_PROTO_NAMES[proto]} {length}"

    def _udp_text(self, sport: int, dport: int, payload: bytes, length: int, head: str) -> str:
        """What follows `src.port > dst.port: `: an application's summary for the ports
        tcpdump decodes (apps.py), else `UDP, length N` (which alone may be cached)."""
        if sport in APP_PORTS or dport in APP_PORTS:
            try:
                text = udp_app_text(sport, dport, payload, length)
            except Truncated as cut:
                self._layer = cut.proto
                raise _AppTruncated(head + cut.printed) from None
            except ValueError:
                text = None  # what tcpdump prints escaped or in detail: the generic line
            if text is not None:
                return text
        self._cacheable = True
        return f"UDP, length {length}"

    def _tcp_text(
        self, tcp: Any, raw_src: bytes, raw_dst: bytes, length: int, fields: dict[str, Any]
    ) -> str:
        flags, seq, ack = tcp.flags, tcp.seq, tcp.ack
        hlen = tcp.off * 4
        payload = length - hlen
        fields.update(
            sport=tcp.sport,
            dport=tcp.dport,
            flags=tcp_flags(flags),
            seq=seq,
            ack=ack,
            win=tcp.win,
            payload_len=payload,
        )
        rev = tcp.sport > tcp.dport or (tcp.sport == tcp.dport and raw_src > raw_dst)
        if flags & TH_ACK:
            key = (
                (raw_dst, raw_src, tcp.dport << 16 | tcp.sport)
                if rev
                else (raw_src, raw_dst, tcp.sport << 16 | tcp.dport)
            )
            known = self._tcp.get(key)
            if known is None or flags & TH_SYN:
                base = (ack - 1) & 0xFFFFFFFF, seq
                self._tcp[key] = base if rev else (seq, (ack - 1) & 0xFFFFFFFF)
            else:
                th_seq, th_ack = known
                if rev:
                    seq, ack = (seq - th_ack) & 0xFFFFFFFF, (ack - th_seq) & 0xFFFFFFFF
                else:
                    seq, ack = (seq - th_seq) & 0xFFFFFFFF, (ack - th_ack) & 0xFFFFFFFF
        th_seq, th_ack = self._tcp.get(key, (0, 0)) if flags & TH_ACK else (0, 0)
        out = f"Flags [{tcp_flags(flags)}]"
        if payload > 0 or flags & 0x07:
            out += f", seq {seq}"
            if payload > 0:
                out += f":{(seq + payload) & 0xFFFFFFFF}"
        if flags & TH_ACK:
            out += f", ack {ack}"
        out += f", win {tcp.win}"
        if flags & TH_URG:
            out += f", urg {tcp.urp}"
        if hlen > 20:
            opts = bytes(tcp.opts)
            shown = self._tcp_options(opts, rev, th_seq, th_ack, cut=len(opts) < hlen - 20)
            if len(opts) < hlen - 20:  # the snap length cut the options
                if shown.endswith(("[|tcp]", "[|tcp]>")):
                    return out + ", options [" + shown
                return out + ", options [" + shown + ("," if shown else "") + " [|tcp]"
            out += ", options [" + shown + "]"
        return out + f", length {payload}"

    @staticmethod
    def _tcp_options(opts: bytes, rev: bool, th_seq: int, th_ack: int, cut: bool = False) -> str:
        parts: list[str] = []
        i = 0
        while i < len(opts):
            kind = opts[i]
            if kind in (0, 1):
                parts.append("eol" if kind == 0 else "nop")
                i += 1
                if kind == 0:
                    break
                continue
            if i + 1 >= len(opts) or i + opts[i + 1] > len(opts):
                if cut and i + 1 < len(opts):  # kind and length captured, not the value
                    name = TCP_OPTION_NAMES.get(kind, f"unknown-{kind}")
                    parts.append(f"{name} [|tcp]" + (">" if kind in (3, 8) else ""))  # as tcpdump
                elif not cut:
                    parts.append("[bad opt]")
                break
            size = opts[i + 1]
            body = opts[i + 2 : i + size]
            if size < 2:
                parts.append("[bad opt]")
                break
            if kind == 2 and size == 4:
                parts.append(f"mss {struct.unpack('>H', body)[0]}")
            elif kind == 3 and size == 3:
                parts.append(f"wscale {body[0]}")
            elif kind == 4 and size == 2:
                parts.append("sackOK")
            elif kind == 8 and size == 10:
                val, ecr = struct.unpack(">II", body)
                parts.append(f"TS val {val} ecr {ecr}")
            elif kind == 5 and (size - 2) % 8 == 0:
                base = th_seq if rev else th_ack
                blocks = "".join(
                    f"{{{(s - base) & 0xFFFFFFFF}:{(e - base) & 0xFFFFFFFF}}}"
                    for s, e in struct.iter_unpack(">II", body)
                )
                parts.append(f"sack {(size - 2) // 8} {blocks}")
            else:
                parts.append(f"unknown-{kind} 0x{body.hex()}")
            i += size
        return ",".join(parts)

    @staticmethod
    def _icmp(icmp: Any, length: int, fields: dict[str, Any]) -> str:
        fields.update(icmp_type=icmp.type, icmp_code=icmp.code, payload_len=length)
        if icmp.type in (0, 8):
            ident, seq = struct.unpack_from(">HH", bytes(icmp.data)[:4])
            fields.update(icmp_id=ident, icmp_seq=seq)
            return f"{ICMP_TYPES[icmp.type]}, id {ident}, seq {seq}, length {length}"
        if icmp.type == 3:
            inner = bytes(icmp.data)[4:]
            orig = dpkt.ip.IP(inner)
            template = ICMP_UNREACH.get(icmp.code)
            if template is not None:
                port = struct.unpack_from(">H", inner, orig.hl * 4 + 2)[0] if len(inner) else 0
                text = template.format(
                    dst=ip4(orig.dst),
                    proto=orig.p,
                    tproto=IP_PROTO_NAMES.get(orig.p, str(orig.p)),
                    port=port,
                )
                return f"{text}, length {length}"
        if icmp.type == 11:
            what = "in-transit" if icmp.code == 0 else "reassembly"
            return f"time exceeded {what}, length {length}"
        name = ICMP_TYPES.get(icmp.type, f"type-#{icmp.type}")
        return f"{name}, length {length}"

    @staticmethod
    def _icmp6(icmp: Any, length: int, fields: dict[str, Any]) -> str:
        fields.update(icmp_type=icmp.type, icmp_code=icmp.code, payload_len=length)
        name = ICMP6_TYPES.get(icmp.type, f"unknown icmp6 type ({icmp.type})")
        fields["text_head"] += f"ICMP6, {name}"
        body = bytes(icmp.data)
        if icmp.type in (128, 129):
            ident, seq = struct.unpack_from(">HH", body)
            fields.update(icmp_id=ident, icmp_seq=seq)
            return f"{name}, id {ident}, seq {seq}, length {length}"
        if icmp.type == 135:
            return f"{name}, who has {ip6(body[4:20])}, length {length}"
        if icmp.type == 136:
            return f"{name}, tgt is {ip6(body[4:20])}, length {length}"
        if icmp.type == 1 and icmp.code in ICMP6_UNREACH:
            fields["text_head"] += ", " + ICMP6_UNREACH[icmp.code].split(",")[0].split(" {")[0]
            orig = dpkt.ip6.IP6(body[4:])
            port = struct.unpack_from(">H", bytes(orig.data)[:4], 2)[0] if icmp.code == 4 else 0
            what = ICMP6_UNREACH[icmp.code].format(
                dst=ip6(orig.dst), tproto=IP_PROTO_NAMES.get(orig.nxt, str(orig.nxt)), port=port
            )
            return f"{name}, {what}, length {length}"
        if icmp.type == 143:
            records = struct.unpack_from(">H", body, 2)[0]
            return f"{name}, {records} group record(s), length {length}"
        return f"{name}, length {length}"


def link_head(fields: dict[str, Any]) -> str:
    """The link-level header as `tcpdump -e -n` prints it on Ethernet (with 802.1Q tags)."""
    head = (
        f"{fields.get('eth_src')} > {fields.get('eth_dst')}, "
        f"{_ethertype_text(int(fields.get('ethertype', 0)))}, length {fields['len']}: "
    )
    for tag in fields.get("vlan") or ():
        dei = ", DEI" if tag.get("dei") else ""
        head += f"vlan {tag['id']}, p {tag['pcp']}{dei}, {_ethertype_text(tag['ethertype'])}, "
    return head


def link_line(fields: dict[str, Any]) -> str:
    """The summary as `tcpdump -e -n` prints it on Ethernet: the link-level header before
    the network layer's line, which then goes without its name."""
    head, text = link_head(fields), str(fields.get("text", ""))
    if str(fields.get("proto", "")).startswith("0x"):  # not decoded: the header is the line
        return head
    for name in ("IP ", "IP6 ", "ARP, "):
        if text.startswith(name):
            return head + text[len(name) :]
    return head + text


def _ethertype_text(ethertype: int) -> str:
    return f"ethertype {ETHERTYPE_NAMES.get(ethertype, 'Unknown')} (0x{ethertype:04x})"
