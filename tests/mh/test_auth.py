"""RFC 4285 authenticators: MN-HA HMAC-SHA1-96 and MN-AAA, computed over the right bytes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from pmiprouter.mh import AuthSubtype, BindingUpdate, MobilityMessageAuthentication, decode, encode
from pmiprouter.mh.auth import authenticator, sign, verify
from tests.mh.samples import LMA, MAG, PBU_OPTIONS

KEY = bytes(range(16))


def test_mn_ha_is_truncated_hmac_sha1() -> None:
    """MN-HA = First(96, HMAC_SHA1(key, CoA | HoA | MH-Data))."""
    data = b'mobility header bytes'
    expected = hmac.new(KEY, MAG.packed + LMA.packed + data, hashlib.sha1).digest()[:12]
    assert authenticator(AuthSubtype.MN_HA, KEY, MAG, LMA, data) == expected


def test_mn_aaa_hashes_the_data_first() -> None:
    """MN-AAA = HMAC_SHA1(key, SHA1(CoA | HoA | MH-Data)), 20 bytes."""
    data = b'mobility header bytes'
    inner = hashlib.sha1(MAG.packed + LMA.packed + data).digest()
    assert authenticator(AuthSubtype.MN_AAA, KEY, MAG, LMA, data) == hmac.new(KEY, inner, hashlib.sha1).digest()


@pytest.mark.parametrize('subtype', [AuthSubtype.MN_HA, AuthSubtype.MN_AAA])
def test_signed_message_verifies_and_ends_with_auth(subtype: AuthSubtype) -> None:
    """sign() appends the option last, with no padding after it, covering MH-Data up to the SPI."""
    message = BindingUpdate.proxy(9, 600, PBU_OPTIONS)
    wire = sign(message, spi=4096, key=KEY, coa=MAG, hoa=LMA, subtype=subtype)
    decoded = decode(wire)
    auth = decoded.options[-1]
    assert isinstance(auth, MobilityMessageAuthentication) and auth.spi == 4096 and auth.subtype == subtype
    assert wire.endswith(auth.authenticator)  # the option ends the message exactly
    offset = len(wire) - len(auth.authenticator) - 7
    mh_data = wire[:4] + b'\0\0' + wire[6 : offset + 7]
    assert auth.authenticator == authenticator(subtype, KEY, MAG, LMA, mh_data)
    assert verify(wire, key=KEY, coa=MAG, hoa=LMA)


def test_tampering_is_detected() -> None:
    """A changed byte, another key or other addresses fail verification; the checksum field does not matter."""
    wire = sign(BindingUpdate.proxy(9, 600, PBU_OPTIONS), spi=300, key=KEY, coa=MAG, hoa=LMA)
    assert verify(wire[:4] + b'\x12\x34' + wire[6:], key=KEY, coa=MAG, hoa=LMA)
    flipped = bytearray(wire)
    flipped[8] ^= 1
    assert not verify(bytes(flipped), key=KEY, coa=MAG, hoa=LMA)
    assert not verify(wire, key=b'another key', coa=MAG, hoa=LMA)
    assert not verify(wire, key=KEY, coa=LMA, hoa=MAG)


def test_unsigned_message_does_not_verify() -> None:
    """A message without an authentication option never verifies."""
    assert not verify(encode(BindingUpdate.proxy(1, 4, PBU_OPTIONS)), key=KEY, coa=MAG, hoa=LMA)
