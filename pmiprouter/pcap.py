"""A minimal pcap writer (pure: bytes in, bytes out) for captures of our own packets.

Link type 101 (LINKTYPE_RAW: each record starts with an IPv4 or IPv6 header). Used by
tests that hand our encodings to an independent decoder (tshark) and by debug captures.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

LINKTYPE_RAW = 101
_GLOBAL = struct.Struct('<IHHiIII')
_RECORD = struct.Struct('<IIII')


def pcap_bytes(packets: Iterable[bytes], start_time: float = 1_700_000_000.0, step: float = 0.001) -> bytes:
    """A pcap file holding `packets`, timestamped `start_time + i * step`."""
    out = bytearray(_GLOBAL.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
    for i, packet in enumerate(packets):
        when = start_time + i * step
        seconds = int(when)
        out += _RECORD.pack(seconds, int((when - seconds) * 1e6), len(packet), len(packet)) + packet
    return bytes(out)
