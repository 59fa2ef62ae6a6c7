"""Mobility options of Mobile IPv6 and its early companions (pure).

RFC 6275 §6.2 (Binding Refresh Advice, Alternate CoA, Nonce Indices, Authorization Data),
RFC 3963 (Mobile Network Prefix), RFC 5568 (MH Link-Layer Address), RFC 4283 (MN
Identifier), RFC 4285 (Mobility Message Authentication, Replay Protection), RFC 5094
(Vendor Specific), RFC 5149 (Service Selection).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import ClassVar

from pmiprouter.mh.errors import BadOptionValue, EncodeError
from pmiprouter.mh.iana import AuthSubtype, MNIdentifierSubtype, OptionType
from pmiprouter.mh.option import (
    IPv6AddressOption,
    body_too_long,
    MobilityOption,
    coerce,
    expect_length,
    expect_min_length,
    register_option,
    seconds_to_units,
)

_H = struct.Struct('!H')
_HH = struct.Struct('!HH')
_Q = struct.Struct('!Q')
_PREFIX = struct.Struct('!xB16s')  # reserved, prefix length, prefix
_PREFIX_TLV = struct.Struct('!BBxB16s')  # type, length 18, then the body above
_MN_ID_HEAD = struct.Struct('!BBB')  # type, length, subtype; the identifier follows
_MN_ID_SUBTYPES = MNIdentifierSubtype._value2member_map_

# RFC 4285 §6 timestamps are NTP: seconds since 1900, the Unix epoch is this many seconds later.
NTP_UNIX_OFFSET = 2_208_988_800


def _printable(char: str) -> str:
    """`char`, or its backslash escape when it is not printable."""
    if char.isprintable():
        return char
    code = ord(char)
    return f'\\x{code:02x}' if code < 0x100 else f'\\u{code:04x}' if code < 0x10000 else f'\\U{code:08x}'


@register_option
@dataclass(frozen=True, slots=True)
class BindingRefreshAdvice(MobilityOption):
    """Binding Refresh Advice (RFC 6275 §6.2.4): refresh interval, kept in seconds (4-s units on the wire)."""

    TYPE: ClassVar[int] = OptionType.BINDING_REFRESH_ADVICE
    ALIGN: ClassVar[tuple[int, int]] = (2, 0)

    refresh_interval_s: int

    @classmethod
    def decode_body(cls, body: bytes) -> BindingRefreshAdvice:
        expect_length(cls.TYPE, body, 2)
        return cls(_H.unpack(body)[0] * 4)

    def encode_body(self) -> bytes:
        return _H.pack(seconds_to_units(self.refresh_interval_s, 'refresh interval'))


@register_option
@dataclass(frozen=True, slots=True)
class AlternateCareofAddress(IPv6AddressOption):
    """Alternate Care-of Address (RFC 6275 §6.2.5); in a PBU it names the Proxy-CoA (RFC 5213 §6.9.1.5)."""

    TYPE: ClassVar[int] = OptionType.ALTERNATE_CARE_OF_ADDRESS
    ALIGN: ClassVar[tuple[int, int]] = (8, 6)

    address: IPv6Address


@register_option
@dataclass(frozen=True, slots=True)
class NonceIndices(MobilityOption):
    """Nonce Indices (RFC 6275 §6.2.6)."""

    TYPE: ClassVar[int] = OptionType.NONCE_INDICES
    ALIGN: ClassVar[tuple[int, int]] = (2, 0)

    home_nonce_index: int
    care_of_nonce_index: int

    @classmethod
    def decode_body(cls, body: bytes) -> NonceIndices:
        expect_length(cls.TYPE, body, 4)
        return cls(*_HH.unpack(body))

    def encode_body(self) -> bytes:
        return _HH.pack(self.home_nonce_index, self.care_of_nonce_index)


@register_option
@dataclass(frozen=True, slots=True)
class AuthorizationData(MobilityOption):
    """Binding Authorization Data (RFC 6275 §6.2.7): the authenticator; must be the last option."""

    TYPE: ClassVar[int] = OptionType.AUTHORIZATION_DATA
    ALIGN: ClassVar[tuple[int, int]] = (8, 2)

    authenticator: bytes

    @classmethod
    def decode_body(cls, body: bytes) -> AuthorizationData:
        return cls(bytes(body))

    def encode_body(self) -> bytes:
        return self.authenticator


class PrefixOption(MobilityOption):
    """Shared layout of the Mobile Network Prefix and Home Network Prefix options.

    The prefix is kept as it was on the wire (address + length, host bits and all) so that
    it re-encodes unchanged; `network` gives the `IPv6Network`.
    """

    __slots__ = ()
    ALIGN: ClassVar[tuple[int, int]] = (8, 4)
    prefix_length: int
    address: IPv6Address

    @classmethod
    def decode_body(cls, body: bytes) -> PrefixOption:
        expect_length(cls.TYPE, body, _PREFIX.size)
        length, raw = _PREFIX.unpack(body)
        if length > 128:
            raise BadOptionValue(cls.TYPE, f'prefix length {length} > 128', 3)
        return cls(length, IPv6Address(raw))  # type: ignore[call-arg]

    def encode_tlv(self) -> bytes:
        length = self.prefix_length
        if not 0 <= length <= 128:
            raise EncodeError(f'prefix length {length} out of 0..128')
        return _PREFIX_TLV.pack(self.TYPE, 18, length, self.address.packed)

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]

    @property
    def network(self) -> IPv6Network:
        # From the integer, host bits cleared (strict=False's result): an IPv6Address in the
        # tuple costs ipaddress ~14 µs, an int ~2 µs.
        host_bits = 128 - self.prefix_length
        return IPv6Network(((int(self.address) >> host_bits) << host_bits, self.prefix_length))

    @property
    def is_all_zero(self) -> bool:
        """ALL_ZERO (RFC 5213 §2.2): 'please allocate' in a PBU."""
        return self.prefix_length == 0 and not int(self.address)

    @classmethod
    def of(cls, prefix: IPv6Network | str) -> PrefixOption:
        """Build from a network, e.g. `HomeNetworkPrefix.of('2001:db8:1::/64')`."""
        net = prefix if isinstance(prefix, IPv6Network) else IPv6Network(prefix)
        return cls(net.prefixlen, net.network_address)  # type: ignore[call-arg]


@register_option
@dataclass(frozen=True, slots=True)
class MobileNetworkPrefix(PrefixOption):
    """Mobile Network Prefix (RFC 3963 §4.3)."""

    TYPE: ClassVar[int] = OptionType.MOBILE_NETWORK_PREFIX

    prefix_length: int
    address: IPv6Address


@register_option
@dataclass(frozen=True, slots=True)
class MobilityHeaderLinkLayerAddress(MobilityOption):
    """Mobility Header Link-Layer Address (RFC 5568 §6.4.3): option code, then the address."""

    TYPE: ClassVar[int] = OptionType.MOBILITY_HEADER_LINK_LAYER_ADDRESS

    option_code: int
    link_layer_address: bytes

    @classmethod
    def decode_body(cls, body: bytes) -> MobilityHeaderLinkLayerAddress:
        expect_min_length(cls.TYPE, body, 1)
        return cls(body[0], bytes(body[1:]))

    def encode_body(self) -> bytes:
        return bytes((self.option_code,)) + self.link_layer_address


@register_option
@dataclass(frozen=True, slots=True)
class MobileNodeIdentifier(MobilityOption):
    """Mobile Node Identifier (RFC 4283 §3). Length 1 = the zero-length identifier of RFC 5213 §5.3.1."""

    TYPE: ClassVar[int] = OptionType.MN_ID
    SHAREABLE: ClassVar[bool] = False  # one per MN

    subtype: MNIdentifierSubtype | int
    identifier: bytes

    def __hash__(self) -> int:
        # The LMA keys its bindings by MN-ID: hashing the identifier alone (its bytes cache their
        # hash) agrees with equality and skips the Python-level hash of the subtype enum.
        return hash(self.identifier)

    @classmethod
    def decode_body(cls, body: bytes) -> MobileNodeIdentifier:
        if not body:
            expect_min_length(cls.TYPE, body, 1)
        subtype = body[0]
        return cls(_MN_ID_SUBTYPES.get(subtype, subtype), bytes(body[1:]))  # type: ignore[arg-type]

    def encode_tlv(self) -> bytes:
        identifier = self.identifier
        if len(identifier) > 254:
            raise body_too_long(self, 1 + len(identifier))
        return _MN_ID_HEAD.pack(self.TYPE, 1 + len(identifier), self.subtype) + identifier

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]

    @classmethod
    def nai(cls, nai: str) -> MobileNodeIdentifier:
        """An NAI identifier (`user@realm`, RFC 4282)."""
        return cls(MNIdentifierSubtype.NAI, nai.encode())

    @property
    def text(self) -> str:
        """The identifier for display: an NAI as text, an EUI-48/64 as a MAC, anything else in hex.

        The NAI comes from the wire: bytes that are not UTF-8 and characters that are not
        printable (controls, a terminal's escape sequences) are shown as backslash escapes, so
        no log, `show` or debug line replays them on an operator's terminal."""
        if self.subtype == MNIdentifierSubtype.NAI:
            text = self.identifier.decode('utf-8', 'backslashreplace')
            return text if text.isprintable() else ''.join(map(_printable, text))
        if self.subtype in (MNIdentifierSubtype.EUI_48, MNIdentifierSubtype.EUI_64):
            return ':'.join(f'{b:02x}' for b in self.identifier)
        return self.identifier.hex()


@register_option
@dataclass(frozen=True, slots=True)
class MobilityMessageAuthentication(MobilityOption):
    """Mobility Message Authentication (RFC 4285 §5): subtype, Mobility SPI, authenticator.

    The option must end the message; its alignment (4n+1) is placed at 8n+5 when that
    lets it end exactly on the 8-octet boundary, so no padding option follows it.
    """

    TYPE: ClassVar[int] = OptionType.AUTH
    _HEAD: ClassVar[struct.Struct] = struct.Struct('!BI')

    subtype: AuthSubtype | int
    spi: int
    authenticator: bytes

    def alignment(self) -> tuple[int, int]:
        end_fit = -(2 + self._HEAD.size + len(self.authenticator)) % 8
        return (8, end_fit) if end_fit % 4 == 1 else (4, 1)

    @classmethod
    def decode_body(cls, body: bytes) -> MobilityMessageAuthentication:
        expect_min_length(cls.TYPE, body, cls._HEAD.size)
        subtype, spi = cls._HEAD.unpack_from(body)
        return cls(coerce(AuthSubtype, subtype), spi, bytes(body[cls._HEAD.size :]))

    def encode_body(self) -> bytes:
        return self._HEAD.pack(self.subtype, self.spi) + self.authenticator


@register_option
@dataclass(frozen=True, slots=True)
class MobilityMessageReplayProtection(MobilityOption):
    """Mobility Message Replay Protection, MESG-ID (RFC 4285 §6): a 64-bit NTP timestamp (32.32 from 1900).

    Not the PMIPv6 Timestamp option (type 27, 48.16 from 1970): the two formats stay distinct.
    """

    TYPE: ClassVar[int] = OptionType.MESG_ID
    ALIGN: ClassVar[tuple[int, int]] = (8, 2)
    SHAREABLE: ClassVar[bool] = False  # a new value in every message

    timestamp: int

    @classmethod
    def decode_body(cls, body: bytes) -> MobilityMessageReplayProtection:
        expect_length(cls.TYPE, body, 8)
        return cls(_Q.unpack(body)[0])

    def encode_body(self) -> bytes:
        return _Q.pack(self.timestamp)

    @classmethod
    def from_unix(cls, seconds: float) -> MobilityMessageReplayProtection:
        ntp = seconds + NTP_UNIX_OFFSET
        return cls((int(ntp) << 32) | int((ntp % 1) * (1 << 32)))

    @property
    def unix(self) -> float:
        return (self.timestamp >> 32) - NTP_UNIX_OFFSET + (self.timestamp & 0xFFFFFFFF) / (1 << 32)


@register_option
@dataclass(frozen=True, slots=True)
class VendorSpecific(MobilityOption):
    """Vendor Specific Mobility Option (RFC 5094 §3): IANA enterprise number, sub-type, data."""

    TYPE: ClassVar[int] = OptionType.VENDOR_SPECIFIC
    ALIGN: ClassVar[tuple[int, int]] = (4, 2)
    _HEAD: ClassVar[struct.Struct] = struct.Struct('!IB')

    vendor_id: int
    subtype: int
    data: bytes = b''

    @classmethod
    def decode_body(cls, body: bytes) -> VendorSpecific:
        expect_min_length(cls.TYPE, body, cls._HEAD.size)
        vendor_id, subtype = cls._HEAD.unpack_from(body)
        return cls(vendor_id, subtype, bytes(body[cls._HEAD.size :]))

    def encode_body(self) -> bytes:
        return self._HEAD.pack(self.vendor_id, self.subtype) + self.data


@register_option
@dataclass(frozen=True, slots=True)
class ServiceSelection(MobilityOption):
    """Service Selection (RFC 5149 §3): 1..255 octets naming the service (UTF-8, or 3GPP APN labels)."""

    TYPE: ClassVar[int] = OptionType.SERVICE_SELECTION

    identifier: bytes

    @classmethod
    def decode_body(cls, body: bytes) -> ServiceSelection:
        expect_min_length(cls.TYPE, body, 1)
        return cls(bytes(body))

    def encode_body(self) -> bytes:
        if not self.identifier:
            raise EncodeError('service selection identifier must not be empty (RFC 5149 §3)')
        return self.identifier

