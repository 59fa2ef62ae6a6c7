"""Malformed input raises the codec's own typed errors, with the offset of the fault (RFC 6275 §9.2)."""

from __future__ import annotations

import pytest

from pmiprouter.mh import (
    BadHeaderLength,
    BadMessageValue,
    BadOptionLength,
    BadOptionValue,
    BadPayloadProto,
    BindingUpdate,
    DecodeError,
    GREKey,
    HomeNetworkPrefix,
    Truncated,
    UnknownMHType,
    decode,
    encode,
)

PBU = encode(BindingUpdate.proxy(1, 600, (HomeNetworkPrefix.of('2001:db8::/64'), GREKey(7))))


def test_short_packet_is_truncated() -> None:
    """Fewer than 8 octets cannot be a Mobility Header."""
    with pytest.raises(Truncated) as info:
        decode(b'\x3b\x00\x05')
    assert info.value.offset == 0 and 'need 8 bytes, have 3' in str(info.value)


def test_header_length_beyond_packet_is_truncated() -> None:
    """Header Len promising more than the packet holds points at Header Len."""
    with pytest.raises(Truncated) as info:
        decode(PBU[:-8])
    assert info.value.offset == 1


def test_trailing_bytes_are_refused() -> None:
    """Bytes after the length Header Len covers are a bad header length."""
    with pytest.raises(BadHeaderLength):
        decode(PBU + bytes(8))


def test_unknown_mh_type_names_the_type() -> None:
    """An MH type without a message class raises UnknownMHType (the engine answers BE status 2)."""
    wire = bytes((59, 0, 8, 0, 0, 0, 0, 0))
    with pytest.raises(UnknownMHType) as info:
        decode(wire)
    assert info.value.mh_type == 8 and info.value.offset == 2


def test_payload_proto_other_than_59() -> None:
    """Payload Proto must be 59; the error points at byte 0 for ICMPv6 Parameter Problem."""
    with pytest.raises(BadPayloadProto) as info:
        decode(bytes((6,)) + PBU[1:])
    assert info.value.offset == 0 and info.value.payload_proto == 6


def test_header_length_below_fixed_part() -> None:
    """A Binding Error (18-octet fixed part) in 8 octets is refused with the Header Len offset."""
    with pytest.raises(BadHeaderLength) as info:
        decode(bytes((59, 0, 7, 0, 0, 0, 1, 0)))
    assert info.value.offset == 1


def test_option_running_past_the_end() -> None:
    """An option Length reaching beyond the message is truncated at that option."""
    wire = bytes((59, 1, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 1, 0x16, 0x12, 0, 0))
    with pytest.raises(Truncated) as info:
        decode(wire)
    assert info.value.offset == 13


def test_bad_option_length_offset_is_absolute() -> None:
    """A wrong Length on a known option reports the offset of that Length byte in the MH."""
    wire = bytes((59, 1, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 1, 23, 1, 0, 0))  # HI with Length 1
    with pytest.raises(BadOptionLength) as info:
        decode(wire)
    assert info.value.offset == 13 and info.value.option_type == 23


def test_bad_option_value() -> None:
    """An HNP prefix length over 128 is a bad option value at the prefix length byte."""
    wire = bytearray(PBU)
    at = wire.index(bytes((22, 18)))
    wire[at + 3] = 129
    with pytest.raises(BadOptionValue) as info:
        decode(bytes(wire))
    assert info.value.offset == at + 3


def test_gre_key_length_must_be_2_or_6() -> None:
    """GRE Key option Lengths other than 2 and 6 are refused (RFC 5845 §6.1)."""
    wire = bytes((59, 1, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 1, 33, 4, 0, 0, 0, 0)) + bytes(6)
    wire = wire[:1] + bytes((len(wire) // 8 - 1,)) + wire[2:]
    with pytest.raises(BadOptionLength, match='2 or 6'):
        decode(wire)


def test_unknown_revocation_type() -> None:
    """A Binding Revocation message whose B.R. Type is neither BRI nor BRA is refused."""
    wire = bytes((59, 1, 16, 0, 0, 0, 3, 0, 0, 1, 0, 0, 1, 2, 0, 0))
    with pytest.raises(BadMessageValue):
        decode(wire)


def test_error_text_has_offset_and_reason() -> None:
    """Errors print as '<kind> at offset N: <reason>'."""
    error = DecodeError(12, 'something odd')
    assert str(error) == 'Malformed at offset 12: something odd'
