"""Application-layer summaries of UDP payloads, as `tcpdump -n` prints them without -v.

tcpdump hands a UDP payload to a protocol printer chosen by port (either port). Decoded
here: DNS (53) and mDNS (5353): the header line, the questions of a query, the answers of
a response; NTP (123): version, mode, length; syslog (514): facility.severity, length. Any
other port keeps the generic `UDP, length N` line (tcpdump decodes more of them: BOOTP,
TFTP, SNMP, RIP, VXLAN, ...; not reproduced, see README). `udp_app_text` returns None for
a payload of a port not decoded here, so the caller prints the generic line.
"""

from __future__ import annotations

import socket
import struct

DNS_PORT, MDNS_PORT, NTP_PORT, SYSLOG_PORT = 53, 5353, 123, 514
APP_PORTS = frozenset({DNS_PORT, MDNS_PORT, NTP_PORT, SYSLOG_PORT})
"""ports whose payload changes the line (a packet to or from one is never cached)"""

DNS_OPCODES: tuple[str, ...] = ("", " inv_q", " stat", " op3", " notify", " update", " op6", " op7")
DNS_OPCODES += (" op8", " updateA", " updateD", " updateDA", " updateM", " updateMA")
DNS_OPCODES += (" zoneInit", " zoneRef")
DNS_RCODES: tuple[str, ...] = (
    "",
    " FormErr",
    " ServFail",
    " NXDomain",
    " NotImp",
    " Refused",
    " YXDomain",
)
DNS_RCODES += (" YXRRSet", " NXRRSet", " NotAuth", " NotZone")
DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX"}
DNS_TYPES |= {16: "TXT", 28: "AAAA", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS"}
DNS_TYPES |= {46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF"}
DNS_TYPES |= {252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA"}
DNS_CLASSES = {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}
NAME_TYPES = frozenset({2, 5, 12, 39})
"""rdata that is one domain name"""
NTP_MODES: tuple[str, ...] = (
    "unspecified",
    "symmetric active",
    "symmetric passive",
    "Client",
    "Server",
)
NTP_MODES += ("Broadcast", "Control Message", "Reserved")
SYSLOG_FACILITIES: tuple[str, ...] = (
    "kernel",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
)
SYSLOG_FACILITIES += ("uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "cron")
SYSLOG_FACILITIES += tuple(f"local{i}" for i in range(8))
SYSLOG_SEVERITIES: tuple[str, ...] = (
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
)
SYSLOG_SEVERITIES += ("debug",)


class Truncated(Exception):
    """The payload ends before the printer is done: `[|proto]` after what was printed."""

    def __init__(self, printed: str, proto: str) -> None:
        super().__init__(proto)
        self.printed, self.proto = printed, proto


def udp_app_text(sport: int, dport: int, payload: bytes, length: int) -> str | None:
    """The line's part after `src.port > dst.port: ` for a payload tcpdump decodes by port;
    None for other ports. `length` is the UDP payload length (payload may be cut short);
    raises Truncated when the capture ends inside the message."""
    ports = (sport, dport)
    if DNS_PORT in ports:
        return dns_text(payload, length, mdns=False)
    if NTP_PORT in ports:
        if not payload:
            raise Truncated("NTP", "ntp")
        return f"NTPv{(payload[0] >> 3) & 7}, {NTP_MODES[payload[0] & 7]}, length {length}"
    if MDNS_PORT in ports:
        return dns_text(payload, length, mdns=True)
    if SYSLOG_PORT in ports:
        return syslog_text(payload, length)
    return None


def syslog_text(payload: bytes, length: int) -> str:
    """`<PRI>` read as tcpdump reads it: a byte past the capture is a truncation."""

    def byte(i: int) -> int:
        if i >= len(payload):
            raise Truncated("", "syslog")
        return payload[i]

    if byte(0) != ord("<"):
        return " (invalid)"
    end, pri = 1, 0
    while end <= 3 and 0x30 <= byte(end) <= 0x39:
        pri = pri * 10 + byte(end) - 0x30
        end += 1
    if byte(end) != ord(">"):
        return " (invalid)"
    facility, severity = (pri & 0x03F8) >> 3, pri & 7
    name = SYSLOG_FACILITIES[facility] if facility < len(SYSLOG_FACILITIES) else ""
    return (
        f"SYSLOG {name or f'unknown ({facility})'}.{SYSLOG_SEVERITIES[severity]}, length: {length}"
    )


class _Dns:
    """One message being printed (names may point back into it)."""

    def __init__(self, msg: bytes, mdns: bool) -> None:
        self.msg, self.mdns = msg, mdns
        self.out: list[str] = []

    def u16(self, pos: int) -> int:
        if pos + 2 > len(self.msg):
            raise IndexError(pos)
        return int(struct.unpack_from(">H", self.msg, pos)[0])

    def skip_name(self, pos: int) -> int:
        while True:
            label = self.msg[pos]
            if label & 0xC0 == 0xC0:
                return pos + 2
            if label & 0xC0:
                raise ValueError("label type")
            pos += 1 + label
            if label == 0:
                return pos

    def name(self, pos: int) -> str:
        labels: list[str] = []
        jumps = 0
        while True:
            label = self.msg[pos]
            if label & 0xC0 == 0xC0:
                jumps += 1
                if jumps > len(self.msg):
                    raise ValueError("loop")
                pos = ((label & 0x3F) << 8) | self.msg[pos + 1]
                continue
            if label & 0xC0:
                raise ValueError("label type")
            if label == 0:
                return ".".join(labels) + "." if labels else "."
            raw = self.msg[pos + 1 : pos + 1 + label]
            if len(raw) < label:
                raise IndexError(pos)
            if not all(0x21 <= c < 0x7F for c in raw):
                raise ValueError("a name tcpdump escapes")
            labels.append(raw.decode())
            pos += 1 + label

    def question(self, pos: int) -> int:
        end = self.skip_name(pos)
        qtype, qclass = self.u16(end), self.u16(end + 2)
        text = f" {DNS_TYPES.get(qtype, f'Type{qtype}')}"
        cls = qclass & ~0x8000 if self.mdns else qclass
        if cls != 1:
            text += f" {DNS_CLASSES.get(cls, f'(Class {cls})')}"
        if self.mdns:
            text += " (QU)" if qclass & 0x8000 else " (QM)"
        self.out.append(text + "? " + self.name(pos))
        return end + 4

    def answer(self, pos: int) -> int:
        """One resource record (printed as it is read: a record cut short leaves its type
        printed); the end of the message if its fixed part is not all there."""
        try:
            pos = self.skip_name(pos)
        except IndexError:
            return len(self.msg)
        if pos + 10 > len(self.msg):
            return len(self.msg)
        rtype, rclass = self.u16(pos), self.u16(pos + 2)
        size = self.u16(pos + 8)
        data = pos + 10
        cls = rclass & ~0x8000 if self.mdns else rclass
        text = ""
        if cls != 1 and rtype != 41:
            text += f" {DNS_CLASSES.get(cls, f'(Class {cls})')}"
        if self.mdns and rclass & 0x8000:
            text += " (Cache flush)"
        self.out.append(text + f" {DNS_TYPES.get(rtype, f'Type{rtype}')}")
        if data + size > len(self.msg):
            raise IndexError(data)
        rdata = self.msg[data : data + size]
        if rtype == 1:
            text = " " + socket.inet_ntop(socket.AF_INET, rdata[:4])
        elif rtype == 28:
            text = " " + socket.inet_ntop(socket.AF_INET6, rdata[:16])
        elif rtype in NAME_TYPES:
            text = " " + self.name(data)
        elif rtype == 15:
            text = f" {self.name(data + 2)} {self.u16(data)}"
        elif rtype == 33:
            text = f" {self.name(data + 6)}:{self.u16(data + 4)} {self.u16(data)} "
            text += f"{self.u16(data + 2)}"
        elif rtype == 41:
            text = f" UDPsize={rclass}" + (" DO" if self.u16(pos + 6) & 0x8000 else "")
            if size:
                raise ValueError("EDNS options")
        elif rtype in (6, 46, 47, 48, 43):  # printed by type name alone without -v
            text = ""
        else:
            raise ValueError("rdata not reproduced")
        self.out.append(text)
        return data + size


def dns_text(msg: bytes, length: int, *, mdns: bool) -> str:
    """tcpdump's domain_print without -v (queries: questions; responses: answers)."""
    if length < 12:
        return f"domain [length {length} < 12] (invalid)"
    dns = _Dns(msg, mdns)
    try:
        return _dns_lines(dns, length)
    except (IndexError, struct.error):
        raise Truncated("".join(dns.out), "domain") from None


def _dns_lines(dns: _Dns, length: int) -> str:
    qid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", dns.msg)
    opcode, rcode = (flags >> 11) & 0xF, flags & 0xF
    out = dns.out
    if flags & 0x8000:
        rcode |= _extended_rcode(dns, qd, an + ns, ar) << 4
        out.append(
            f"{qid}{DNS_OPCODES[opcode]}"
            + (DNS_RCODES[rcode] if rcode < len(DNS_RCODES) else f" Resp{rcode}")
            + ("*" if flags & 0x0400 else "")
            + ("" if flags & 0x0080 else "-")
            + ("|" if flags & 0x0200 else "")
            + ("$" if flags & 0x0020 else "")
        )
        if qd != 1:
            out.append(f" [{qd}q]")
        pos = 12
        for _ in range(qd):
            pos = dns.skip_name(pos) + 4
        out.append(f" {an}/{ns}/{ar}")
        left = an
        if left:
            pos, left = dns.answer(pos), left - 1
            while pos < len(dns.msg) and left:
                out.append(",")
                pos, left = dns.answer(pos), left - 1
        if left:
            raise IndexError(pos)
    else:
        out.append(f"{qid}{DNS_OPCODES[opcode]}" + ("+" if flags & 0x0100 else ""))
        out.append("%" if flags & 0x0010 else "")
        if flags & 0x6CF:
            out.append(f" [b2&3=0x{flags:x}]")
        if opcode == 1:
            out.append((f" [{qd}q]" if qd else "") + (f" [{an}a]" if an != 1 else ""))
        else:
            out.append((f" [{an}a]" if an else "") + (f" [{qd}q]" if qd != 1 else ""))
        out.append((f" [{ns}n]" if ns else "") + (f" [{ar}au]" if ar else ""))
        pos = 12
        for _ in range(qd):
            pos = dns.question(pos)
    out.append(f" ({length})")
    return "".join(out)


def _extended_rcode(dns: _Dns, qd: int, an_ns: int, ar: int) -> int:
    """The high bits of the rcode from an OPT record's TTL, as tcpdump looks for it."""
    try:
        pos = 12
        for _ in range(qd):
            pos = dns.skip_name(pos) + 4
        for _ in range(an_ns):
            pos = dns.skip_name(pos) + 8
            pos += 2 + dns.u16(pos)
        for _ in range(ar):
            pos = dns.skip_name(pos)
            if dns.u16(pos) == 41:
                return dns.msg[pos + 4]
            pos += 8
            pos += 2 + dns.u16(pos)
    except (IndexError, ValueError, struct.error):
        pass
    return 0
