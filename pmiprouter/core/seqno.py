"""Ordering of binding updates: 16-bit serial numbers and PMIPv6 timestamps (pure).

RFC 6275 §9.5.1 (sequence numbers compared modulo 2**16), RFC 5213 §5.5 and §8.8
(Timestamp option: 48.16 fixed point since 1970, validity window).
"""

from __future__ import annotations

SEQ_MODULUS = 1 << 16
SEQ_HALF = 1 << 15


def seq_newer(received: int, last: int) -> bool:
    """True when `received` is greater than `last` in 16-bit serial arithmetic.

    RFC 6275 §9.5.1: received is not greater when it lies in [last - 32767, last] mod 2**16.
    """
    diff = (received - last) % SEQ_MODULUS
    return 0 < diff < SEQ_HALF


def seq_next(sequence: int) -> int:
    """The following sequence number, wrapping at 2**16."""
    return (sequence + 1) % SEQ_MODULUS


def timestamp_from_seconds(seconds: float) -> int:
    """Seconds since 1970 as the 64-bit 48.16 value of the Timestamp option (RFC 5213 §8.8)."""
    return (int(seconds) << 16) | int((seconds % 1) * 65536)


def timestamp_to_seconds(value: int) -> float:
    """The 48.16 Timestamp value as seconds since 1970."""
    return (value >> 16) + (value & 0xFFFF) / 65536


def timestamp_within_window(value: int, now: float, window_s: float) -> bool:
    """RFC 5213 §5.5: the timestamp is within TimestampValidityWindow of the LMA's clock."""
    return abs(timestamp_to_seconds(value) - now) <= window_s
