"""RFC 4285 Mobility Message Authentication as pure functions.

MN-HA (subtype 1): Authenticator = First(96, HMAC_SHA1(key, CoA | HoA | MH-Data)).
MN-AAA (subtype 2) with SPI HMAC_SHA1_SPI: HMAC_SHA1(key, SHA1(CoA | HoA | MH-Data)), 20
bytes (RFC 4285 states no truncation). MH-Data is the Mobility Header from Payload Proto up
to and including the option's SPI field, with the checksum zeroed (RFC 4285 §5.1, §5.2).

PMIPv6 itself protects PBU/PBA with IPsec (RFC 5213 §4); using this option with one key per
MAG–LMA pair (CoA = Proxy-CoA, HoA = LMA address) is this project's local choice, so that a
domain without IPsec still authenticates signalling without any per-MN association.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from pmiprouter.mh.checksum import packed
from pmiprouter.mh.codec import HEADER_LENGTH, encode
from pmiprouter.mh.errors import DecodeError, EncodeError
from pmiprouter.mh.iana import AuthSubtype, OptionType
from pmiprouter.mh.message import MESSAGES, MobilityMessage
from pmiprouter.mh.options_mipv6 import MobilityMessageAuthentication

MN_HA_LENGTH = 12  # HMAC-SHA1-96
MN_AAA_LENGTH = 20
_SPI_END = 7  # option bytes up to and including the SPI: type, length, subtype, SPI(4)


def authenticator(subtype: int, key: bytes, coa: object, hoa: object, mh_data: bytes) -> bytes:
    """The authenticator over `mh_data` for the given subtype (MN-HA or MN-AAA)."""
    addresses = packed(coa) + packed(hoa)
    if subtype == AuthSubtype.MN_HA:
        return hmac.new(key, addresses + mh_data, hashlib.sha1).digest()[:MN_HA_LENGTH]
    if subtype == AuthSubtype.MN_AAA:
        return hmac.new(key, hashlib.sha1(addresses + mh_data).digest(), hashlib.sha1).digest()
    raise EncodeError(f'authentication subtype {subtype} is not MN-HA (1) or MN-AAA (2)')


def _auth_option_offset(wire: bytes) -> int | None:
    """MH offset of the last AUTH option in `wire` (already a well-formed MH), or None."""
    kind = MESSAGES[wire[2]]
    i, end, found = HEADER_LENGTH + kind.FIXED_LENGTH, len(wire), None
    while i < end:
        if wire[i] == 0:
            i += 1
            continue
        if wire[i] == OptionType.AUTH:
            found = i
        i += 2 + wire[i + 1]
    return found


def _mh_data(wire: bytes, option_offset: int) -> bytes:
    zeroed = wire[:4] + b'\0\0' + wire[6:]
    return zeroed[: option_offset + _SPI_END]


def sign(
    message: MobilityMessage, *, spi: int, key: bytes, coa: object, hoa: object, subtype: int = AuthSubtype.MN_HA
) -> bytes:
    """Encode `message` with a Mobility Message Authentication option appended as its last option.

    Returns the wire bytes with checksum 0 (the kernel or the UDP path fills or ignores it).
    """
    length = MN_HA_LENGTH if subtype == AuthSubtype.MN_HA else MN_AAA_LENGTH
    placeholder = MobilityMessageAuthentication(subtype, spi, bytes(length))
    wire = encode(replace(message, options=(*message.options, placeholder)))  # type: ignore[type-var]
    offset = _auth_option_offset(wire)
    assert offset is not None  # we just appended it
    value = authenticator(subtype, key, coa, hoa, _mh_data(wire, offset))
    start = offset + _SPI_END
    return wire[:start] + value + wire[start + length :]


def verify(wire: bytes, *, key: bytes, coa: object, hoa: object) -> bool:
    """True when `wire` (a decodable MH) ends its options with a valid authentication option."""
    try:
        offset = _auth_option_offset(wire)
    except (KeyError, IndexError):
        return False
    if offset is None:
        return False
    length = wire[offset + 1] - 5
    if length < 0:
        return False
    received = wire[offset + _SPI_END : offset + _SPI_END + length]
    try:
        expected = authenticator(wire[offset + 2], key, coa, hoa, _mh_data(wire, offset))
    except (EncodeError, DecodeError):
        return False
    return hmac.compare_digest(received, expected)
