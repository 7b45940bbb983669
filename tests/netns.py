"""Two network namespaces joined by a veth pair, made by a test and always removed.

`VethPair()` creates `<prefix>a` and `<prefix>b` (namespaces) with `<prefix>va` in the
first and `<prefix>vb` in the second, IPv4 10.254.N.1/.2 and IPv6 fd00:254:N::1/::2
(no DAD); `traffic()` makes ARP, ICMP echo, a TCP connection with data and UDP datagrams
between them. No route leads anywhere else: nothing leaves the machine. `close()` (also
on failure, as a context manager) deletes both namespaces, which deletes the veth pair.
"""

from __future__ import annotations

import contextlib
import os
import socket as sockets
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from types import TracebackType

SERVER = r"""
import socket, sys
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 40000)); tcp.listen(4)
print("ready", flush=True)
conn, _ = tcp.accept()
data = conn.recv(100)
conn.sendall(data.upper())
conn.close()
tcp.close()
"""
CLIENT = r"""
import socket, sys, time
dst, dst6 = sys.argv[1], sys.argv[2]
s = socket.create_connection((dst, 40000), timeout=5)
s.sendall(b"hello tracerd")
s.recv(100)
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    u.sendto(b"x" * (10 + i), (dst, 40001 + i))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.sendto(b"six", (dst6, 40010))
u.sendto(b"y" * 3000, (dst, 40020))  # fragmented
for family, addr in ((socket.AF_INET, dst), (socket.AF_INET6, dst6)):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(2)
    try:
        c.connect((addr, 40099))  # closed: RST
    except OSError:
        pass
    c.close()
time.sleep(0.2)
"""
MORE_SERVER = r"""
import socket, struct
tcp6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
tcp6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp6.bind(("::", 40100)); tcp6.listen(4)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("0.0.0.0", 53))
print("ready", flush=True)
conn, _ = tcp6.accept()
conn.sendall(conn.recv(100).upper())
conn.close()
for _ in range(2):  # answer an A query with one address, an AAAA query with no answer
    query, peer = dns.recvfrom(512)
    qid, _flags, _qd, _an, _ns, _ar = struct.unpack_from(">HHHHHH", query)
    question = query[12:]
    qtype = struct.unpack_from(">H", question, len(question) - 4)[0]
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 7])
    head = struct.pack(">HHHHHH", qid, 0x8580, 1, 1 if answers else 0, 0, 0)
    dns.sendto(head + question + answers, peer)
"""
MORE_CLIENT = r"""
import socket, struct, sys, time
dst, dst6 = sys.argv[1], sys.argv[2]
c = socket.create_connection((dst6, 40100), timeout=5)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
c.sendall(b"over ipv6")
c.recv(100)
c.close()
def query(qid, name, qtype):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", qtype, 1)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(2)
for qid, qtype in ((0x1234, 1), (0x2345, 28)):
    d.sendto(query(qid, "tracerd.example.org", qtype), (dst, 53))
    d.recvfrom(512)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"\x23" + b"\0" * 47, (dst, 123))  # NTPv4 client request (port closed)
u.sendto(b"<13>tracerd: hello", (dst, 514))  # syslog user.notice
u.sendto(b"x" * 20, (dst, 514))  # the syslog port, not a syslog message
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.sendto(b"closed", (dst6, 40011))  # ICMPv6 port unreachable back
time.sleep(0.2)
"""


class VethPair:
    def __init__(self, tag: str | None = None) -> None:
        n = os.getpid() % 250 + 1
        self.prefix = tag or f"trp{os.getpid() % 100000}"
        self.ns_a, self.ns_b = f"{self.prefix}a", f"{self.prefix}b"
        self.veth_a, self.veth_b = f"{self.prefix}va", f"{self.prefix}vb"
        self.ip_a, self.ip_b = f"10.254.{n}.1", f"10.254.{n}.2"
        self.ip6_a, self.ip6_b = f"fd00:254:{n}::1", f"fd00:254:{n}::2"
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        for ns in (self.ns_a, self.ns_b):
            self.run(["ip", "netns", "add", ns])
            self.exec(ns, ["ip", "link", "set", "lo", "up"])
        link = ["ip", "link", "add", self.veth_a, "netns", self.ns_a, "type", "veth"]
        self.run([*link, "peer", "name", self.veth_b, "netns", self.ns_b])
        for ns, dev, ip, ip6 in (
            (self.ns_a, self.veth_a, self.ip_a, self.ip6_a),
            (self.ns_b, self.veth_b, self.ip_b, self.ip6_b),
        ):
            # quiet links: no router solicitations or MLD reports mixed in the traffic
            for key in ("accept_ra=0", "router_solicitations=0", "force_mld_version=2"):
                self.exec(ns, ["sysctl", "-qw", f"net.ipv6.conf.{dev}.{key}"])
            self.exec(ns, ["ip", "addr", "add", f"{ip}/24", "dev", dev])
            self.exec(ns, ["ip", "-6", "addr", "add", f"{ip6}/64", "dev", dev, "nodad"])
            self.exec(ns, ["ip", "link", "set", dev, "up"])

    def send_frames(self, frames: Sequence[bytes]) -> None:
        """Raw Ethernet frames sent from b's veth (an AF_PACKET socket in namespace b)."""
        script = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
            "s.bind((sys.argv[1], 0))\n"
            "for hexed in sys.argv[2:]:\n"
            "    s.send(bytes.fromhex(hexed))\n"
        )
        self.exec(
            self.ns_b, [sys.executable, "-c", script, self.veth_b, *(f.hex() for f in frames)]
        )

    def tagged_frames(self) -> list[bytes]:
        """Frames with 802.1Q (and 802.1ad + 802.1Q) tags from b to a: UDP datagrams and an
        ARP request. The receiving veth takes the outer tag off into the packet's metadata."""
        src, dst = bytes.fromhex("02aabbccdd02"), bytes.fromhex("02aabbccdd01")
        a, b = sockets.inet_aton(self.ip_a), sockets.inet_aton(self.ip_b)
        out = []
        for i in range(3):
            payload = b"tag" * (i + 1)
            udp = struct.pack(">HHHH", 40000 + i, 9, 8 + len(payload), 0) + payload
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, b, a) + udp
            out.append(dst + src + struct.pack(">HHH", 0x8100, 100 + i, 0x0800) + ip)
        arp = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, b, bytes(6), a)
        out.append(b"\xff" * 6 + src + struct.pack(">HHH", 0x8100, 0x6000 | 7, 0x0806) + arp)
        out.append(dst + src + struct.pack(">HHHHH", 0x88A8, 10, 0x8100, 20, 0x0800) + ip)
        return out

    @staticmethod
    def run(argv: Sequence[str], **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), check=True, capture_output=True, text=True, timeout=30, **kw
        )  # type: ignore[call-overload, no-any-return]

    def exec(self, ns: str, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return self.run(["ip", "netns", "exec", ns, *argv])

    def popen(self, ns: str, argv: Sequence[str], **kw: object) -> subprocess.Popen[str]:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", ns, *argv], text=True, **kw
        )

    def nsenter(self, ns: str) -> list[str]:
        """A command prefix entering only the network namespace (sysfs, tracefs stay)."""
        return ["nsenter", f"--net=/run/netns/{ns}"]

    def traffic(self) -> None:
        """ARP, ICMP echo (v4, v6), a TCP connection with data, UDP (v4, v6, fragmented), TCP
        resets (v4, v6), from b to a."""
        for ns in (self.ns_a, self.ns_b):
            self.exec(ns, ["ip", "neigh", "flush", "all"])
        with self._server(SERVER) as server:
            self.exec(self.ns_b, ["ping", "-c", "2", "-i", "0.2", "-W", "2", self.ip_a])
            self.exec(self.ns_b, ["ping", "-6", "-c", "1", "-W", "2", self.ip6_a])
            self.exec(self.ns_b, ["ping", "-c", "1", "-s", "2000", "-W", "2", self.ip_a])
            self.exec(self.ns_b, [sys.executable, "-c", CLIENT, self.ip_a, self.ip6_a])
            server.wait(10)

    @contextlib.contextmanager
    def _server(self, script: str) -> Iterator[subprocess.Popen[str]]:
        """A Python server in namespace a, once it printed "ready"; killed if still there."""
        server = self.popen(self.ns_a, [sys.executable, "-c", script], stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "ready"
            yield server
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            if server.stdout is not None:
                server.stdout.close()

    def more_traffic(self) -> None:
        """Beyond `traffic`: a TCP connection over IPv6, DNS A/AAAA queries with answers,
        datagrams to the NTP and syslog ports, an ICMPv6 port unreachable, IPv4 options
        (record route, timestamps), jumbo pings (MTU 9000) v4 and v6, an IPv6 fragment,
        from b to a."""
        for ns, dev in ((self.ns_a, self.veth_a), (self.ns_b, self.veth_b)):
            self.exec(ns, ["ip", "link", "set", dev, "mtu", "9000"])
            self.exec(ns, ["ip", "neigh", "flush", "all"])
        with self._server(MORE_SERVER) as server:
            self.exec(self.ns_b, [sys.executable, "-c", MORE_CLIENT, self.ip_a, self.ip6_a])
            server.wait(10)
            for opts in (["-R"], ["-T", "tsonly"], ["-s", "8000"], ["-6", "-s", "8000"]):
                dst = self.ip6_a if "-6" in opts else self.ip_a
                self.exec(self.ns_b, ["ping", *opts, "-c", "1", "-W", "2", dst])
            self.exec(self.ns_b, ["ping", "-6", "-s", "9100", "-c", "1", "-W", "2", self.ip6_a])

    def close(self) -> None:
        for ns in (self.ns_a, self.ns_b):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    ["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False
                )

    def __enter__(self) -> VethPair:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
