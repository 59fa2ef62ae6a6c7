"""A PBU sender built from the codec alone (not the MAG engine): runs inside a namespace.

Usage: python -m tests.integration.pbu_client STEPS_JSON. Each step sends one PBU (over a
raw IPv6 MH socket, or UDP 5436 when "udp4" is set) and waits for the PBA; the results
are printed as one JSON list: status, sequence, lifetime, HNPs, IPv4 HoA of each PBA.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BindingAcknowledgement,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressReply,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
    decode,
    encode,
)


def build(step: dict[str, Any]) -> BindingUpdate:
    options: list[Any] = [MobileNodeIdentifier.nai(step['nai'])]
    options += [HomeNetworkPrefix.of(p) for p in step.get('hnps', ['::/0'])]
    options += [HandoffIndicatorOption(step.get('hi', 1)), AccessTechnologyTypeOption(3)]
    options.append(MobileNodeLinkLayerIdentifier.mac('00:11:22:33:44:55'))
    if 'ipv4' in step:
        options.append(IPv4HomeAddressRequest(step.get('ipv4_plen', 0), IPv4Address(step['ipv4'])))
    options.append(Timestamp.from_unix(time.time()))
    return BindingUpdate.proxy(step['seq'], step.get('lifetime', 600), tuple(options))


def exchange_ipv6(step: dict[str, Any], wire: bytes) -> bytes:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
    sock.bind((step['src'], 0))
    sock.settimeout(step.get('timeout', 3.0))
    sock.sendto(wire, (step['dst'], 0))
    try:
        while True:
            data, _ = sock.recvfrom(2048)
            if data[2] == 6:  # a Binding Acknowledgement
                return data
    finally:
        sock.close()


def exchange_udp4(step: dict[str, Any], wire: bytes) -> bytes:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((step['src'], 0))
    sock.settimeout(step.get('timeout', 3.0))
    sock.sendto(wire, (step['dst'], 5436))
    try:
        data, _ = sock.recvfrom(2048)
        return data
    finally:
        sock.close()


def describe(pba: BindingAcknowledgement) -> dict[str, Any]:
    reply = pba.option(IPv4HomeAddressReply)
    return {
        'status': int(pba.status),
        'sequence': pba.sequence,
        'lifetime': pba.lifetime_s,
        'hnps': [str(h.network) for h in pba.options_of(HomeNetworkPrefix)],
        'ipv4': str(reply.address) if reply is not None and reply.status == 0 else None,
    }


def main() -> int:
    results = []
    for step in json.loads(sys.argv[1]):
        wire = encode(build(step))
        try:
            raw = exchange_udp4(step, wire) if step.get('udp4') else exchange_ipv6(step, wire)
        except TimeoutError:
            results.append({'status': None})
            continue
        pba = decode(raw)
        assert isinstance(pba, BindingAcknowledgement)
        results.append(describe(pba))
    print(json.dumps(results))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
