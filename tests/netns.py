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
import subprocess
import sys
from collections.abc import Sequence
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
        server = self.popen(self.ns_a, [sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "ready"
            self.exec(self.ns_b, ["ping", "-c", "2", "-i", "0.2", "-W", "2", self.ip_a])
            self.exec(self.ns_b, ["ping", "-6", "-c", "1", "-W", "2", self.ip6_a])
            self.exec(self.ns_b, ["ping", "-c", "1", "-s", "2000", "-W", "2", self.ip_a])
            self.exec(self.ns_b, [sys.executable, "-c", CLIENT, self.ip_a, self.ip6_a])
            server.wait(10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            if server.stdout is not None:
                server.stdout.close()

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
