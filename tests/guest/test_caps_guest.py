"""The BPF program-type probe on Debian's stock 6.1 kernel (shared/tools/kvm-guest), where
kprobes and fentry work: the same code that says "not usable" on the 6.18 development VM
must say usable here. BCC's agreement is checked by running
tests/integration/test_bpf_probe_live.py in the guest too."""

from __future__ import annotations

import os
import platform

import pytest

from tracerd.system.bpf_probe import PROGRAM_TYPES, probe_program_types
from tracerd.system.bpf_syscall import PROGRAM_NAME, loaded_programs

pytestmark = [
    pytest.mark.guest,
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.needs_kprobes,
    pytest.mark.needs_fentry,
    pytest.mark.skipif(
        os.environ.get("KVM_GUEST") != "1", reason="runs in the Debian 6.1 guest (kvm-guest)"
    ),
]

USABLE = {"usable": True, "where": None, "reason": None}


def test_every_program_type_is_usable_on_debian_6_1() -> None:
    assert platform.release().startswith("6.1."), platform.release()
    assert probe_program_types() == dict.fromkeys(PROGRAM_TYPES, USABLE)
    assert PROGRAM_NAME not in [name for _, _, name in loaded_programs()]
