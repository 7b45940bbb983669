"""CLI: `tracerd tcpdump` — a packet session with tcpdump's habits.

`tracerd tcpdump [-i IF] [-p] [-n] [-e] [-c N] [-s SNAPLEN] [-Q in|out|inout] [-B KiB]
[-d|-dd|-ddd] [-w FILE] [-y LINKTYPE] EXPRESSION...`: lines on stdout as `tcpdump -n`
prints them (local time of day, then the summary; with -e the link-level header first, on
Ethernet interfaces), "listening on ..." and the closing
counts ("N packets captured / received by filter / dropped by kernel") on stderr; Ctrl-C
stops. As with tcpdump the interface is promiscuous unless -p is given; the default
interface is `any` (the daemon's host may not be this one). -d/-dd/-ddd print the program
the daemon's libpcap compiles for the expression and exit without capturing; -w writes the
capture as a pcap file (tcpdump -r, Wireshark) when it ends, instead of printing lines.
Names are never resolved (-n is implied). -v is refused: the lines are tcpdump's default
one-line summaries (write a file with -w and read it with `tcpdump -v -r`).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from . import add_client_options, client
from .client import Client
from .live import follow

LINK_NAMES = {"EN10MB": "Ethernet", "LINUX_SLL2": "Linux cooked v2"}
ETHERNET_ONLY = "-e is shown for Ethernet interfaces only (link-type {linktype} here)"


def register(sub: Any) -> None:
    p = sub.add_parser("tcpdump", help="capture packets (tcpdump)")
    p.add_argument("-i", "--interface", default="any", help="interface (default: any)")
    p.add_argument("-p", "--no-promiscuous-mode", action="store_true", dest="no_promisc")
    p.add_argument("-n", action="count", default=0, help="numeric output (always)")
    p.add_argument("-e", action="store_true", dest="link", help="print the link-level header")
    p.add_argument("-v", action="count", default=0, dest="verbose", help="refused (see -w)")
    p.add_argument("-c", type=int, dest="count", help="exit after N packets")
    p.add_argument("-s", "--snapshot-length", type=int, dest="snaplen", default=262144)
    p.add_argument("-Q", "--direction", choices=["in", "out", "inout"], default="inout")
    p.add_argument("-B", "--buffer-size", type=int, dest="buffer_kb", help="ring size in KiB")
    p.add_argument("-d", action="count", default=0, dest="dump", help="-d, -dd, -ddd: program")
    p.add_argument("-y", "--linktype", help="link type for -d (default: the interface's)")
    p.add_argument("-w", dest="write", metavar="FILE", help="write a pcap file instead")
    p.add_argument("--name", dest="session_name", help="session name")
    p.add_argument("expression", nargs="*", help="a tcpdump filter expression")
    add_client_options(p)
    p.set_defaults(handler=cmd_tcpdump)


def cmd_tcpdump(args: argparse.Namespace) -> None:
    api = client(args)
    expression = " ".join(args.expression)
    snaplen = args.snaplen if args.snaplen > 0 else 262144
    if args.verbose:
        _refuse(
            "-v is not supported: lines are tcpdump's default one-line summaries; "
            "write the capture with -w FILE and read it with tcpdump -v -r FILE"
        )
    if args.link and args.interface == "any":
        _refuse(ETHERNET_ONLY.format(linktype="LINUX_SLL2"))
    if args.dump:
        linktype = args.linktype or ("LINUX_SLL2" if args.interface == "any" else "EN10MB")
        program = api.get(
            "/v1/packet/compile",
            params={"filter": expression, "linktype": linktype, "snaplen": snaplen},
        )
        sys.stdout.write(program[("d", "dd", "ddd")[min(args.dump, 3) - 1]])
        return
    spec: dict[str, Any] = {
        "interface": args.interface,
        "filter": expression,
        "snaplen": snaplen,
        "promiscuous": not args.no_promisc,
        "direction": args.direction,
    }
    if args.count:
        spec["max_events"] = args.count
    if args.buffer_kb:
        spec["buffer_size_kb"] = args.buffer_kb
    body = {"kind": "packet", "spec": spec, "name": args.session_name}
    session = api.post("/v1/sessions", json=body, params={"wait": "true"})
    info = session.get("info") or {}
    linktype = str(info.get("linktype", "EN10MB"))
    if args.link and linktype != "EN10MB":
        api.post(f"/v1/sessions/{session['id']}/stop", params={"wait": "true"})
        _refuse(ETHERNET_ONLY.format(linktype=linktype))
    sys.stderr.write(
        "tracerd tcpdump: verbose output suppressed, decoded as tcpdump -n\n"
        f"listening on {info.get('interface', args.interface)}, link-type {linktype}"
        f" ({LINK_NAMES.get(linktype, linktype)}), snapshot length {snaplen} bytes\n"
    )
    sys.stderr.flush()
    captured: list[int] = []
    printer = _line_printer(
        int(session["wall_offset_ns"]), args.write is not None, captured, link=args.link
    )
    follow(api, session["id"], printer)
    if args.write:
        _write_pcap(api, session["id"], args.write)
    _closing_counts(api, session["id"], len(captured))


def _refuse(message: str) -> None:
    sys.stderr.write(f"tracerd tcpdump: {message}\n")
    raise SystemExit(2)


def _line_printer(wall_offset_ns: int, quiet: bool, captured: list[int], link: bool) -> Any:
    from ..engines.packet.decode import link_line  # dpkt: only when capturing

    out = sys.stdout
    line = link_line if link else _summary

    def printer(message: dict[str, Any]) -> None:
        if message.get("type") == "events":
            for event in message["events"]:
                if event.get("name") != "packet":
                    continue
                captured.append(int(event["ts_ns"]))
                if quiet:
                    continue
                wall = int(event["ts_ns"]) + wall_offset_ns
                clock = time.strftime("%H:%M:%S", time.localtime(wall // 1_000_000_000))
                out.write(f"{clock}.{wall % 1_000_000_000 // 1000:06d} {line(event['fields'])}\n")
            out.flush()
        elif message.get("type") == "flush":
            out.flush()

    return printer


def _summary(fields: dict[str, Any]) -> str:
    return str(fields["text"])


def _write_pcap(api: Client, session_id: str, path: str) -> None:
    with open(path, "wb") as f:
        for chunk in api.stream_bytes(f"/v1/sessions/{session_id}/export", {"format": "pcap"}):
            f.write(chunk)


def _closing_counts(api: Client, session_id: str, captured: int) -> None:
    """tcpdump's closing counts: packets printed (or written), seen by the filter, dropped."""
    session = api.get(f"/v1/sessions/{session_id}")
    info = session.get("info") or {}
    sys.stderr.write(
        f"\n{captured} packets captured\n"
        f"{int(info.get('kernel_packets', captured))} packets received by filter\n"
        f"{int(info.get('kernel_drops', 0))} packets dropped by kernel\n"
    )
    if session["state"] == "failed":
        sys.stderr.write(f"tracerd tcpdump: {session.get('reason')}\n")
        raise SystemExit(1)
