"""One packet session's state in its worker: the compiled program, the ring, the capture
thread and the ledger key of the socket (the engine drives it)."""

from __future__ import annotations

from dataclasses import dataclass

from ...specs import PacketSpec
from ..base import Ledger
from .cbpf import Program
from .reader import Capture
from .ring import PacketRing


@dataclass
class PacketState:
    spec: PacketSpec
    program: Program
    ring: PacketRing
    ledger: Ledger
    key: str
    user_filter: bool
    capture: Capture | None = None
    closed: bool = False
