"""The optimised codec against the straightforward one in tests/mh/reference.py (hypothesis).

Same bytes for every encodable message, the same messages for every decodable wire, the same
error (class and offset) for every other one, including PBUs of one layout with other bodies
(as one MAG sends them), and messages whose options are shared objects with cached encodings.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.errors import DecodeError, EncodeError
from pmiprouter.mh.iana import BAFlags, BAStatus, BUFlags
from pmiprouter.mh.messages import BindingAcknowledgement, BindingUpdate
from pmiprouter.mh.option import MobilityOption
from pmiprouter.mh.options_ipv4 import BindingIdentifier
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)
from tests.mh.reference import outcome, reference_decode, reference_encode
from tests.mh.samples import MESSAGE_SAMPLES, OPTION_SAMPLES

CHECK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def messages(draw: st.DrawFn) -> BindingUpdate | BindingAcknowledgement:
    """PBUs and PBAs of sample options (or fresh copies of them), in any order and number."""
    options = draw(st.lists(st.sampled_from(OPTION_SAMPLES), max_size=9))
    sequence = draw(st.integers(0, 0xFFFF))
    lifetime = draw(st.integers(0, 0xFFFF)) * 4
    if draw(st.booleans()):
        return BindingUpdate(sequence, BUFlags.A | BUFlags.P, lifetime, tuple(options))
    status = draw(st.sampled_from([BAStatus.ACCEPTED, BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE]))
    return BindingAcknowledgement(status, BAFlags.P, sequence, lifetime, tuple(options))


@CHECK
@given(messages())
def test_encode_matches_the_reference_and_decode_inverts_it(message: BindingUpdate) -> None:
    try:
        expected = reference_encode(message)
    except AssertionError:  # an option body over 255 bytes: the codec must refuse it too
        expected = None
    if expected is None or len(expected) > 2048:
        try:
            encode(message)
        except EncodeError:
            return
        raise AssertionError('encode accepted a message the reference cannot frame')
    wire = encode(message)
    assert wire == expected
    assert decode(wire) == message == reference_decode(wire)
    assert encode(decode(wire)) == wire  # decoded options are shared objects with cached encodings
    assert decode(wire) == message  # and a second decode finds the shared options


@CHECK
@given(st.sampled_from(MESSAGE_SAMPLES), st.lists(st.tuples(st.integers(0, 2047), st.integers(1, 255)), max_size=3))
def test_decoding_mutated_wires_agrees_with_the_reference(message: object, flips: list[tuple[int, int]]) -> None:
    """Mutated copies of a decoded wire (its shared options now known) decode like the reference."""
    wire = encode(message)  # type: ignore[arg-type]
    decode(wire)
    mutated = bytearray(wire)
    for at, bits in flips:
        mutated[at % len(mutated)] ^= bits
    assert outcome(decode, bytes(mutated)) == outcome(reference_decode, bytes(mutated))


@st.composite
def same_layout_pbus(draw: st.DrawFn) -> list[bytes]:
    """PBUs of one layout (as one MAG sends them) whose bodies differ: identifiers, prefixes, values, garbage."""
    name_length = draw(st.integers(1, 30))
    wires = []
    for _ in range(draw(st.integers(2, 6))):
        options: list[MobilityOption] = [
            MobileNodeIdentifier(draw(st.integers(0, 255)), draw(st.binary(min_size=name_length, max_size=name_length))),
            HomeNetworkPrefix(draw(st.integers(0, 128)), draw(st.sampled_from(OPTION_SAMPLES[12:14])).address),
            HandoffIndicatorOption(draw(st.integers(0, 255))),
            AccessTechnologyTypeOption(draw(st.integers(0, 255))),
            MobileNodeLinkLayerIdentifier(draw(st.binary(min_size=6, max_size=6))),
            Timestamp(draw(st.integers(0, 2**64 - 1))),
            # Longer than a shared option, decoded per message, and refused when its id is 0.
            BindingIdentifier(draw(st.integers(0, 3)), 0, False, 0, IPv6Address('2001:db8::5')),
        ]
        wire = bytearray(encode(BindingUpdate.proxy(draw(st.integers(0, 0xFFFF)), 400, tuple(options))))
        if draw(st.booleans()):  # a body byte that may be invalid (a prefix length over 128, reserved bits...)
            at = draw(st.integers(12, len(wire) - 1))
            wire[at] = draw(st.integers(0, 255))
        wires.append(bytes(wire))
    return wires


@CHECK
@given(same_layout_pbus())
def test_pbus_of_one_layout_decode_like_the_reference(wires: list[bytes]) -> None:
    for wire in wires * 2:  # the second round finds the shared options the first one decoded
        got = outcome(decode, wire)
        assert got == outcome(reference_decode, wire)
        if got[0] == 'ok':
            assert encode(got[1]) == reference_encode(got[1])  # type: ignore[arg-type]


def test_a_body_error_is_reported_at_its_offset_after_the_layout_was_seen() -> None:
    good = encode(BindingUpdate.proxy(1, 4, (MobileNodeIdentifier(1, b'abc'), HomeNetworkPrefix.of('2001:db8::/64'))))
    decode(good)
    decode(good)
    bad = bytearray(good)
    prefix_length_at = good.index(bytes((22, 18))) + 3  # HNP: type, length, reserved, prefix length
    bad[prefix_length_at] = 200
    try:
        decode(bytes(bad))
    except DecodeError as exc:
        assert exc.offset == prefix_length_at and outcome(reference_decode, bytes(bad)) == ('error', (type(exc), exc.offset))
    else:
        raise AssertionError('a prefix length of 200 was accepted')
