#!/usr/bin/env python3
"""Codec benchmark: encode and decode of a typical PBU and its PBA.

The PBU carries MN-ID, HNP, HI, ATT, MN-LL-ID and Timestamp (protocol.md §10's initial
attach); the PBA answers it with the assigned prefix. Prints microseconds per operation
(best of several repeats, one core). The same wire decoded again hits every cache, so the
decode of 20,000 PBUs of one layout with different MN-IDs, link-layer IDs and timestamps (as
an LMA receives them; docs/codec.md) is timed too.
Run: `make bench` or `.venv/bin/python bench/bench_codec.py`.
"""

from __future__ import annotations

import json
import sys
import timeit
from ipaddress import IPv6Address

from pmiprouter.mh import (
    AccessTechnologyType,
    BAFlags,
    BAStatus,
    BindingAcknowledgement,
    HomeNetworkPrefix,
    LinkLocalAddress,
    Timestamp,
    decode,
    encode,
)

from pbus import attach_pbu

WIFI = AccessTechnologyType.IEEE_802_11
PBU = attach_pbu('mn1@example.com', bytes.fromhex('001122334455'), 1, 600, WIFI, timestamp=Timestamp.from_unix(1_700_000_000.5))
OPTIONS = PBU.options
PBA = BindingAcknowledgement(
    BAStatus.ACCEPTED,
    BAFlags.P,
    1,
    600,
    (OPTIONS[0], HomeNetworkPrefix.of('2001:db8:aaaa:1::/64'), *OPTIONS[2:], LinkLocalAddress(IPv6Address('fe80::1'))),
)


def per_call_us(stmt: object, number: int = 20_000, repeat: int = 7) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e6  # type: ignore[arg-type]


def unique_pbus(count: int) -> list[bytes]:
    """`count` PBUs of PBU's layout, each with its own MN-ID, link-layer ID and timestamp."""
    return [
        encode(attach_pbu(f'mn{i:08d}@example.com', i.to_bytes(6, 'big'), i % 65536, 600, WIFI,
                          timestamp=Timestamp.from_unix(1_700_000_000 + i / 1000)))
        for i in range(count)
    ]


def decode_each_us(wires: list[bytes], repeat: int = 5) -> float:
    def run() -> None:
        for wire in wires:
            decode(wire)

    return min(timeit.repeat(run, number=1, repeat=repeat)) / len(wires) * 1e6


def main() -> int:
    pbu_wire, pba_wire = encode(PBU), encode(PBA)
    wires = unique_pbus(20_000)
    figures = {
        'pbu_encode_us': per_call_us(lambda: encode(PBU)),
        'pbu_decode_us': per_call_us(lambda: decode(pbu_wire)),
        'pba_encode_us': per_call_us(lambda: encode(PBA)),
        'pba_decode_us': per_call_us(lambda: decode(pba_wire)),
        'pbu_decode_unique_us': decode_each_us(wires),
        'pbu_bytes': len(pbu_wire),
        'pba_bytes': len(pba_wire),
    }
    if '--json' in sys.argv[1:]:
        print(json.dumps(figures))
        return 0
    print(f'Python {sys.version.split()[0]}, one core, best of 7 x 20000 calls')
    for name in ('pbu', 'pba'):
        print(
            f'  {name.upper()} ({figures[name + "_bytes"]} bytes): '
            f'encode {figures[name + "_encode_us"]:.2f} us, decode {figures[name + "_decode_us"]:.2f} us'
        )
    print(f'  PBU decode, 20000 different PBUs of one layout: {figures["pbu_decode_unique_us"]:.2f} us each')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
