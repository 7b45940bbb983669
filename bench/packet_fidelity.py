"""Summary-line fidelity of packet sessions against tcpdump -n, on traffic made for it.

Usage (root): PYTHONPATH=service python bench/packet_fidelity.py [--save PCAP] [--show N]

Two network namespaces joined by a veth pair (tests/netns.py; nothing leaves the machine).
A tracerd packet session (no filter) and `tcpdump -w` run side by side on a's veth while b
makes the corpus traffic: `traffic()` (ARP request/reply, ICMP echo v4/v6, NDP, a TCP
connection with data, FIN and RST v4/v6, UDP v4/v6, fragments, ICMP port unreachables)
then `more_traffic()` (TCP over IPv6 with options and data, DNS A/AAAA queries and their
answers, datagrams to the NTP and syslog ports, an ICMPv6 port unreachable, IPv4 options:
record route and timestamps, jumbo pings v4/v6 at MTU 9000, an IPv6 fragment train) and
802.1Q / 802.1ad tagged frames. Printed:

- lines identical to `tcpdump -n -t -r` of the session's own pcap export (the same bytes:
  the decoder's fidelity), in order;
- lines identical to `tcpdump -n -t -r` of tcpdump's own capture (the same traffic seen
  by both: what the session keeps and how it prints it), as a multiset.

`--save` keeps the export (tests/data/packet/ holds one: tests/unit/engines/packet).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import REPO, Daemon

sys.path.insert(0, str(REPO))
from tests.netns import VethPair


def tcpdump_read(path: Path) -> list[str]:
    out = subprocess.run(
        ["tcpdump", "-n", "-t", "-r", str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def capture(daemon: Daemon, pair: VethPair, workdir: Path) -> tuple[list[str], Path, Path]:
    """(the session's lines, its pcap export, tcpdump's capture) of the corpus traffic."""
    theirs = workdir / "tcpdump.pcap"
    peer = pair.popen(
        pair.ns_a,
        ["tcpdump", "-i", pair.veth_a, "-p", "-n", "-w", str(theirs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    session = daemon.create("packet", {"interface": pair.veth_a, "promiscuous": False})
    try:
        time.sleep(1.0)
        pair.traffic()
        pair.more_traffic()
        pair.send_frames(pair.tagged_frames())
        time.sleep(1.5)  # past tcpdump's 1 s block timeout
    finally:
        peer.send_signal(signal.SIGINT)
        peer.communicate(timeout=60)
        daemon.api.post(f"/v1/sessions/{session['id']}/stop", params={"wait": "true"})
        daemon.wait_final(session["id"])
    ours = [e["fields"]["text"] for e in daemon.events(session["id"], name="packet")]
    export = workdir / "tracerd.pcap"
    resp = daemon.api.get(f"/v1/sessions/{session['id']}/export", params={"format": "pcap"})
    resp.raise_for_status()
    export.write_bytes(resp.content)
    daemon.api.delete(f"/v1/sessions/{session['id']}")
    return ours, export, theirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--save", type=Path, help="keep the session's pcap export here")
    parser.add_argument("--show", type=int, default=20, help="differing lines to print")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pkf"))
    try:
        with VethPair() as pair, Daemon(prefix=pair.nsenter(pair.ns_a)) as daemon:
            ours, export, theirs = capture(daemon, pair, workdir)
        same_bytes = tcpdump_read(export)
        live = tcpdump_read(theirs)
        if args.save:
            shutil.copyfile(export, args.save)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    same = sum(1 for a, b in zip(ours, same_bytes, strict=False) if a == b)
    shown = 0
    for a, b in zip(ours, same_bytes, strict=False):
        if a != b and shown < args.show:
            print(f"  differs: tracerd {a!r}\n           tcpdump {b!r}")
            shown += 1
    total = max(len(ours), len(same_bytes))
    print(
        f"same packets (the session's pcap read by tcpdump -n): {same}/{total} lines "
        f"identical ({100 * same / max(total, 1):.1f}%)"
    )
    both = sum((collections.Counter(ours) & collections.Counter(live)).values())
    total = max(len(ours), len(live))
    print(
        f"same traffic (tcpdump's own capture): {both}/{total} lines identical "
        f"({100 * both / max(total, 1):.1f}%; tracerd {len(ours)} packets, tcpdump {len(live)})"
    )
    for line in sorted((collections.Counter(live) - collections.Counter(ours)).elements())[:5]:
        print(f"  only tcpdump: {line!r}")
    for line in sorted((collections.Counter(ours) - collections.Counter(live)).elements())[:5]:
        print(f"  only tracerd: {line!r}")


if __name__ == "__main__":
    main()
