"""Registry sweep: every registered option and message, every length 0..40, truncations — only codec errors escape."""

from __future__ import annotations

import random

import pytest

from pmiprouter.mh import MESSAGES, OPTIONS, DecodeError, decode, encode
from pmiprouter.mh.codec import decode_options

RNG_SEED = 5213


def option_bodies(length: int) -> list[bytes]:
    """Zeros, ones and random bytes of the given length."""
    rng = random.Random(RNG_SEED + length)
    return [bytes(length), b'\xff' * length, bytes(rng.randrange(256) for _ in range(length))]


@pytest.mark.parametrize('option_type', sorted(OPTIONS))
def test_option_sweep(option_type: int) -> None:
    """Each option type with every body length 0..40 decodes or raises DecodeError; decodes re-encode stably."""
    for length in range(41):
        for body in option_bodies(length):
            tlv = bytes((option_type, length)) + body
            try:
                options = decode_options(tlv, 0, len(tlv))
            except DecodeError as exc:
                assert 0 <= exc.offset <= len(tlv)
                continue
            (option,) = options
            again = option.encode_body()
            assert type(option).decode_body(again) == option


@pytest.mark.parametrize('mh_type', sorted(MESSAGES))
def test_message_sweep(mh_type: int) -> None:
    """Each MH type with every data length 0..40 (and every truncation) decodes or raises DecodeError."""
    rng = random.Random(RNG_SEED + mh_type)
    for length in range(41):
        for fill in (0, 0xFF, None):
            data = bytes(rng.randrange(256) if fill is None else fill for _ in range(length))
            total = 6 + length
            padded = data + bytes(-total % 8)
            wire = bytes((59, (6 + len(padded)) // 8 - 1, mh_type, 0, 0, 0)) + padded
            for cut in range(len(wire) + 1):
                try:
                    message = decode(wire[:cut])
                except DecodeError:
                    continue
                assert decode(encode(message)) == message
