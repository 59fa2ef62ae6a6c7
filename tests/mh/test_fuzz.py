"""Hypothesis fuzzing: random bytes raise only codec errors; valid encodings round-trip byte for byte."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmiprouter.mh import MESSAGES, OPTIONS, BindingUpdate, BUFlags, DecodeError, EncodeError, MobilityOption, decode, encode
from pmiprouter.mh.codec import decode_options
from tests.mh.samples import MESSAGE_SAMPLES, OPTION_SAMPLES

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    """Arbitrary bytes either decode or raise DecodeError, and what decodes re-encodes to an equal message."""
    try:
        message = decode(data)
    except DecodeError:
        return
    assert decode(encode(message)) == message


@st.composite
def mh_shaped(draw: st.DrawFn) -> bytes:
    """Bytes with a plausible header (registered type, right Header Len) and random options area."""
    mh_type = draw(st.sampled_from(sorted(MESSAGES)))
    body = draw(st.binary(min_size=6, max_size=200))
    body += bytes(-(6 + len(body)) % 8)
    return bytes((59, (6 + len(body)) // 8 - 1, mh_type, 0, 0, 0)) + body


@FUZZ
@given(mh_shaped())
def test_header_shaped_bytes_raise_only_decode_errors(data: bytes) -> None:
    """Well-framed headers with random bodies reach the option decoders; only DecodeError escapes."""
    try:
        message = decode(data)
    except DecodeError:
        return
    assert decode(encode(message)) == message


@st.composite
def option_tlvs(draw: st.DrawFn) -> bytes:
    option_type = draw(st.sampled_from(sorted(OPTIONS)))
    body = draw(st.binary(max_size=40))
    return bytes((option_type, len(body))) + body


@FUZZ
@given(st.lists(option_tlvs(), max_size=8))
def test_registered_options_with_random_bodies(tlvs: list[bytes]) -> None:
    """Registered option types with random bodies decode or raise DecodeError, nothing else."""
    data = b''.join(tlvs)
    try:
        decode_options(data, 0, len(data))
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(data)


@FUZZ
@given(st.lists(st.sampled_from(OPTION_SAMPLES), max_size=10), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_valid_messages_roundtrip_byte_for_byte(options: list[MobilityOption], sequence: int, units: int) -> None:
    """For a valid encoding b, encode(decode(b)) == b."""
    message = BindingUpdate(sequence, BUFlags.A | BUFlags.P, units * 4, tuple(options))
    try:
        wire = encode(message)
    except EncodeError as exc:  # only a too-long message may be refused
        assert 'at most 2048' in str(exc)
        return
    assert encode(decode(wire)) == wire
    assert decode(wire) == message


@FUZZ
@given(st.sampled_from(MESSAGE_SAMPLES), st.data())
def test_bit_flips_raise_only_decode_errors(message: object, data: st.DataObject) -> None:
    """Flipping any byte of a valid message never makes anything but DecodeError escape."""
    wire = bytearray(encode(message))  # type: ignore[arg-type]
    at = data.draw(st.integers(0, len(wire) - 1))
    wire[at] ^= data.draw(st.integers(1, 255))
    try:
        decoded = decode(bytes(wire))
    except DecodeError:
        return
    assert decode(encode(decoded)) == decoded
