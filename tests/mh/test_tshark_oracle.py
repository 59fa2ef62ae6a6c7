"""An independent decoder agrees: tshark reads every message and option we encode with the same values.

Each message type (over IPv6 with its checksum, and the PMIPv6 ones also over IPv4/UDP
5436) and each option type is written into one pcap; tshark dissects it once; every
packet must show our field values, no malformed marker, and no expert info other than
the dissector bugs protocol.md §9 documents.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmiprouter.mh import BindingAcknowledgement, BindingUpdate, Heartbeat, MobilityMessage, encode
from pmiprouter.mh.framing import ipv4_udp_packet, ipv6_packet
from pmiprouter.pcap import pcap_bytes
from tests.mh.samples import LMA, LMA4, MAG, MAG4, MESSAGE_SAMPLES, OPTION_SAMPLES
from tests.mh.tshark_fields import UNDISSECTED_MESSAGES, expected_bugs, message_fields, option_fields

pytestmark = [
    pytest.mark.needs_tshark,
    pytest.mark.skipif(shutil.which('tshark') is None, reason='tshark not installed (make test installs it)'),
]

SEVERITY_NAMES = {0x00200000: 'chat', 0x00400000: 'note', 0x00600000: 'warning', 0x00800000: 'error'}


@dataclass(frozen=True)
class Case:
    name: str
    message: MobilityMessage
    transport: str

    @property
    def mh(self) -> bytes:
        return encode(self.message, MAG, LMA) if self.transport == 'ipv6' else encode(self.message)

    @property
    def packet(self) -> bytes:
        if self.transport == 'ipv6':
            return ipv6_packet(MAG, LMA, self.mh)
        return ipv4_udp_packet(MAG4, LMA4, self.mh)


def build_cases() -> list[Case]:
    cases = [Case(f'{type(m).__name__}-{i}-ipv6', m, 'ipv6') for i, m in enumerate(MESSAGE_SAMPLES)]
    cases += [
        Case(f'{type(m).__name__}-{i}-udp4', m, 'udp4')
        for i, m in enumerate(MESSAGE_SAMPLES)
        if isinstance(m, BindingUpdate | BindingAcknowledgement | Heartbeat)
    ]
    cases += [Case(f'option-{type(o).__name__}-{i}', BindingUpdate.proxy(1, 4, (o,)), 'ipv6') for i, o in enumerate(OPTION_SAMPLES)]
    all_options = tuple(o for o in OPTION_SAMPLES if o.wire_type != 9)  # AUTH must be last; it has its own case
    cases.append(Case('option-everything-in-one-pbu', BindingUpdate.proxy(2, 600, all_options), 'ipv6'))
    return cases


CASES = build_cases()


@dataclass
class Dissection:
    fields: list[tuple[str, str]]  # (name, shown value) under the Mobile IPv6 tree, in order
    values: set[str]  # raw hex of every field, to find option TLVs byte for byte
    experts: list[tuple[str, str]]  # (severity, message)
    malformed: bool


@pytest.fixture(scope='module')
def dissections(tmp_path_factory: pytest.TempPathFactory) -> list[Dissection]:
    path: Path = tmp_path_factory.mktemp('tshark') / 'mh.pcap'
    path.write_bytes(pcap_bytes(case.packet for case in CASES))
    pdml = subprocess.run(
        ['tshark', '-n', '-r', str(path), '-T', 'pdml'], capture_output=True, check=True, timeout=120
    ).stdout
    out = []
    for packet in ET.fromstring(pdml).findall('packet'):
        trees = [p for p in packet.iter('proto') if p.get('name') == 'mipv6']
        fields = [(f.get('name', ''), f.get('show', '')) for f in trees[0].iter('field')] if trees else []
        values = {f.get('value', '') for f in trees[0].iter('field')} if trees else set()
        experts = []
        for expert in packet.iter('field'):
            if expert.get('name') == '_ws.expert':
                sub = {f.get('name'): f.get('show', '') for f in expert.iter('field')}
                severity = SEVERITY_NAMES.get(int(sub.get('_ws.expert.severity', '0')), 'unknown')
                experts.append((severity, sub.get('_ws.expert.message', '')))
        malformed = any(p.get('name') == '_ws.malformed' for p in packet.iter('proto'))
        out.append(Dissection(fields, values, experts, malformed))
    assert len(out) == len(CASES)
    return out


def is_subsequence(expected: list[tuple[str, str]], actual: list[tuple[str, str]]) -> tuple[bool, tuple[str, str] | None]:
    """Whether `expected` appears in `actual` in order (other fields may come between)."""
    it = iter(actual)
    for pair in expected:
        if not any(pair == seen for seen in it):
            return False, pair
    return True, None


@pytest.mark.parametrize('index', range(len(CASES)), ids=[c.name for c in CASES])
def test_tshark_agrees(dissections: list[Dissection], index: int) -> None:
    """tshark shows our values for the message and every option, with no malformed or unexplained expert info."""
    case, seen = CASES[index], dissections[index]
    assert seen.fields, f'tshark found no Mobile IPv6 header in {case.name}'
    expected = message_fields(case.message, case.mh)
    options = () if isinstance(case.message, UNDISSECTED_MESSAGES) else case.message.options
    for option in options:
        expected += option_fields(option)
    ok, missing = is_subsequence(expected, seen.fields)
    assert ok, f'{case.name}: tshark does not show {missing}; it shows {seen.fields}'
    for option in options:
        tlv = (bytes((option.wire_type, len(option.encode_body()))) + option.encode_body()).hex()
        if option.wire_type not in (42,) and option.wire_type < 100:  # options tshark has a decoder for
            assert tlv in seen.values, f'{case.name}: option {type(option).__name__} not found byte for byte'
    assert not seen.malformed, f'{case.name}: tshark marks the packet malformed'
    unexplained = [e for e in seen.experts if e[1] not in expected_bugs(case.message)]
    assert not unexplained, f'{case.name}: tshark expert info {unexplained}'


def test_everything_case_holds_every_option() -> None:
    """The combined case carries one of each option sample but AUTH (which must be last)."""
    combined = CASES[-1].message
    assert len(combined.options) == len(OPTION_SAMPLES) - 1
