"""Every message and option survives encode -> decode unchanged, and the wire layout follows RFC 6275 §6."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from pmiprouter.mh import (
    MESSAGES,
    OPTIONS,
    BindingRevocation,
    BindingUpdate,
    BUFlags,
    EncodeError,
    HomeNetworkPrefix,
    MobileNodeIdentifier,
    Timestamp,
    decode,
    encode,
)
from pmiprouter.mh.codec import HEADER_LENGTH, padding
from pmiprouter.mh.options_mipv6 import MobilityMessageReplayProtection
from tests.mh.samples import MESSAGE_SAMPLES, OPTION_SAMPLES


def test_samples_cover_every_registered_code() -> None:
    """The samples exercise every registered option type and message type."""
    assert {type(o) for o in OPTION_SAMPLES} >= set(OPTIONS.values())
    kinds = {type(m) for m in MESSAGE_SAMPLES}
    for cls in MESSAGES.values():
        assert any(issubclass(k, cls) for k in kinds), cls.__name__


@pytest.mark.parametrize('message', MESSAGE_SAMPLES, ids=lambda m: type(m).__name__)
def test_message_roundtrip(message: object) -> None:
    """decode(encode(m)) == m, and the MH is a whole number of 8-octet units."""
    wire = encode(message)  # type: ignore[arg-type]
    assert len(wire) % 8 == 0
    assert wire[1] == len(wire) // 8 - 1
    assert decode(wire) == message
    assert encode(decode(wire)) == wire


@pytest.mark.parametrize('option', OPTION_SAMPLES, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize('lead', [0, 1, 2, 3, 5, 7])
def test_option_roundtrip_and_alignment(option: object, lead: int) -> None:
    """After any amount of preceding data, an option lands on its xn+y offset and decodes unchanged."""
    before = (MobileNodeIdentifier(1, b'x' * lead),)
    message = BindingUpdate.proxy(1, 600, (*before, option))  # type: ignore[arg-type]
    wire = encode(message)
    assert decode(wire) == message
    x, y = option.alignment()  # type: ignore[attr-defined]
    start = wire.index(bytes((option.wire_type, len(option.encode_body()))) + option.encode_body(), HEADER_LENGTH + 6 + 3 + lead)  # type: ignore[attr-defined]
    assert start % x == y


def test_padding_uses_pad1_for_one_byte_and_padn_for_more() -> None:
    """Pad1 is one zero octet; PadN(n) is 01, n-2, zeros (RFC 6275 §6.2.2-§6.2.3)."""
    assert padding(0) == b''
    assert padding(1) == b'\x00'
    assert padding(2) == b'\x01\x00'
    assert padding(6) == b'\x01\x04\x00\x00\x00\x00'


def test_message_without_options_is_padded_to_eight_octets() -> None:
    """A BU with no options carries 4 bytes of padding, Header Len 1 (RFC 6275 §6.1.7)."""
    wire = encode(BindingUpdate(1, BUFlags.A, 0))
    assert len(wire) == 16 and wire[1] == 1 and wire[12:] == b'\x01\x02\x00\x00'


def test_foreign_padding_is_accepted() -> None:
    """A peer that pads differently (an extra PadN, Pad1 runs) is decoded to the same message."""
    canonical = encode(BindingUpdate.proxy(3, 40, (Timestamp(5),)))
    body = canonical[12:]
    odd = bytearray(canonical[:12]) + b'\x00\x00\x01\x00' + body.rstrip(b'\x00')  # Pad1 Pad1 PadN(0) + options
    odd += bytes(-len(odd) % 8)
    odd[1] = len(odd) // 8 - 1
    assert decode(bytes(odd)) == decode(canonical)


def test_lifetime_units_are_four_seconds() -> None:
    """Lifetimes are seconds in the model and 4-second units on the wire; others are refused."""
    wire = encode(BindingUpdate(1, BUFlags.A, 65535 * 4))
    assert wire[10:12] == b'\xff\xff'
    with pytest.raises(EncodeError, match='multiple of 4'):
        encode(BindingUpdate(1, BUFlags.A, 10))
    with pytest.raises(EncodeError):
        encode(BindingUpdate(1, BUFlags.A, 65536 * 4))


def test_out_of_range_fields_raise_encode_error() -> None:
    """Fields that do not fit their wire width raise EncodeError, never struct.error."""
    with pytest.raises(EncodeError):
        encode(BindingUpdate(70000, BUFlags.A, 0))
    with pytest.raises(EncodeError):
        encode(BindingUpdate(1, BUFlags.A, 0, (MobileNodeIdentifier(1, b'x' * 255),)))
    with pytest.raises(EncodeError, match='2048'):
        encode(BindingUpdate(1, BUFlags.A, 0, (MobileNodeIdentifier(1, b'x' * 200),) * 12))


def test_timestamp_formats_stay_distinct() -> None:
    """Type 27 is 48.16 seconds since 1970; type 10 (MESG-ID) is NTP 32.32 since 1900."""
    t = 1_700_000_000.5
    assert Timestamp.from_unix(t).timestamp == (1_700_000_000 << 16) | 0x8000
    assert Timestamp.from_unix(t).unix == t
    ntp = MobilityMessageReplayProtection.from_unix(t)
    assert ntp.timestamp >> 32 == 1_700_000_000 + 2_208_988_800
    assert ntp.timestamp & 0xFFFFFFFF == 1 << 31
    assert ntp.unix == t


def test_prefix_option_helpers() -> None:
    """HNP keeps the wire prefix, exposes the network, and recognises ALL_ZERO."""
    hnp = HomeNetworkPrefix.of('2001:db8:aaaa:1::/64')
    assert str(hnp.network) == '2001:db8:aaaa:1::/64' and not hnp.is_all_zero
    assert HomeNetworkPrefix(0, IPv6Address(0)).is_all_zero
    host_bits = HomeNetworkPrefix(64, IPv6Address('2001:db8::1'))
    assert decode(encode(BindingUpdate.proxy(1, 4, (host_bits,)))).options == (host_bits,)
    assert str(host_bits.network) == '2001:db8::/64'  # host bits cleared, as strict=False does


@pytest.mark.parametrize('length', [0, 1, 63, 64, 65, 127, 128])
def test_prefix_network_clears_host_bits_at_every_length(length: int) -> None:
    from ipaddress import IPv6Network

    address = IPv6Address('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff')
    assert HomeNetworkPrefix(length, address).network == IPv6Network((address, length), strict=False)


def test_pbu_helpers() -> None:
    """BindingUpdate.proxy sets A and P; option lookups skip other kinds."""
    pbu = BindingUpdate.proxy(1, 600, (MobileNodeIdentifier.nai('a@b'), HomeNetworkPrefix.of('::/0')))
    assert pbu.is_proxy and pbu.flags & BUFlags.A
    assert pbu.option(MobileNodeIdentifier) == MobileNodeIdentifier.nai('a@b')
    assert pbu.option(Timestamp) is None
    assert pbu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of('::/0'),)


def test_revocation_kinds_share_one_mh_type() -> None:
    """BRI and BRA are both MH type 16, told apart by the B.R. Type byte."""
    assert MESSAGES[16] is BindingRevocation
