"""Mobility options of Proxy Mobile IPv6 and its direct companions (pure).

RFC 5213 §8.3-§8.8 (Home Network Prefix, Handoff Indicator, Access Technology Type, MN
Link-layer Identifier, Link-local Address, Timestamp), RFC 5847 §3.4 (Restart Counter),
RFC 5949 §6.2 (LMA Address, MN Link-local Address Interface Identifier).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from pmiprouter.mh.errors import BadOptionValue, EncodeError
from pmiprouter.mh.iana import AccessTechnologyType, HandoffIndicator, LMAAddressCode, OptionType
from pmiprouter.mh.option import (
    IPv6AddressOption,
    MobilityOption,
    body_too_long,
    coerce,
    expect_length,
    expect_min_length,
    register_option,
)
from pmiprouter.mh.options_mipv6 import PrefixOption

_I = struct.Struct('!I')
_Q = struct.Struct('!Q')
_RESERVED_BYTE = struct.Struct('!xB')  # reserved, value
_RESERVED_BYTE_TLV = struct.Struct('!BBxB')  # type, length 2, then the body above
_LL_ID_HEAD = struct.Struct('!BB2x')  # type, length, reserved; the identifier follows
_TIMESTAMP_TLV = struct.Struct('!BBQ')


@register_option
@dataclass(frozen=True, slots=True)
class HomeNetworkPrefix(PrefixOption):
    """Home Network Prefix (RFC 5213 §8.3); ALL_ZERO in a PBU asks the LMA to allocate."""

    TYPE: ClassVar[int] = OptionType.HOME_NETWORK_PREFIX

    prefix_length: int
    address: IPv6Address


@register_option
@dataclass(frozen=True, slots=True)
class HandoffIndicatorOption(MobilityOption):
    """Handoff Indicator (RFC 5213 §8.4)."""

    TYPE: ClassVar[int] = OptionType.HANDOFF_INDICATOR

    indicator: HandoffIndicator | int

    @classmethod
    def decode_body(cls, body: bytes) -> HandoffIndicatorOption:
        expect_length(cls.TYPE, body, 2)
        return cls(coerce(HandoffIndicator, body[1]))

    def encode_tlv(self) -> bytes:
        return _RESERVED_BYTE_TLV.pack(self.TYPE, 2, self.indicator)

    def encode_body(self) -> bytes:
        return _RESERVED_BYTE.pack(self.indicator)


@register_option
@dataclass(frozen=True, slots=True)
class AccessTechnologyTypeOption(MobilityOption):
    """Access Technology Type (RFC 5213 §8.5)."""

    TYPE: ClassVar[int] = OptionType.ACCESS_TECHNOLOGY_TYPE

    access_technology: AccessTechnologyType | int

    @classmethod
    def decode_body(cls, body: bytes) -> AccessTechnologyTypeOption:
        expect_length(cls.TYPE, body, 2)
        return cls(coerce(AccessTechnologyType, body[1]))

    def encode_tlv(self) -> bytes:
        return _RESERVED_BYTE_TLV.pack(self.TYPE, 2, self.access_technology)

    def encode_body(self) -> bytes:
        return _RESERVED_BYTE.pack(self.access_technology)


@register_option
@dataclass(frozen=True, slots=True)
class MobileNodeLinkLayerIdentifier(MobilityOption):
    """Mobile Node Link-layer Identifier (RFC 5213 §8.6): 16 reserved bits, then the identifier.

    Aligned 4n so that the identifier itself starts on a 4-octet boundary ("aligned
    appropriately for the identifier size" for MAC-48 and EUI-64 alike).
    """

    TYPE: ClassVar[int] = OptionType.MOBILE_NODE_LINK_LAYER_IDENTIFIER
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)
    SHAREABLE: ClassVar[bool] = False  # one per MN

    identifier: bytes

    @classmethod
    def decode_body(cls, body: bytes) -> MobileNodeLinkLayerIdentifier:
        if len(body) < 2:
            expect_min_length(cls.TYPE, body, 2)
        return cls(bytes(body[2:]))

    def encode_tlv(self) -> bytes:
        identifier = self.identifier
        if len(identifier) > 253:
            raise body_too_long(self, 2 + len(identifier))
        return _LL_ID_HEAD.pack(self.TYPE, 2 + len(identifier)) + identifier

    def encode_body(self) -> bytes:
        return b'\0\0' + self.identifier

    @classmethod
    def mac(cls, mac: str) -> MobileNodeLinkLayerIdentifier:
        """From a MAC address written 00:11:22:33:44:55 or 0011.2233.4455."""
        digits = ''.join(ch for ch in mac if ch not in ':-.')
        return cls(bytes.fromhex(digits))


@register_option
@dataclass(frozen=True, slots=True)
class LinkLocalAddress(IPv6AddressOption):
    """Link-local Address (RFC 5213 §8.7): the MAG's link-local address on the access link."""

    TYPE: ClassVar[int] = OptionType.LINK_LOCAL_ADDRESS
    ALIGN: ClassVar[tuple[int, int]] = (8, 6)

    address: IPv6Address


@register_option
@dataclass(frozen=True, slots=True)
class Timestamp(MobilityOption):
    """Timestamp (RFC 5213 §8.8): 48 bits of seconds since 1970 and 16 bits of 1/65536 s.

    Not NTP format (that is RFC 4285's MESG-ID option, type 10).
    """

    TYPE: ClassVar[int] = OptionType.TIMESTAMP
    ALIGN: ClassVar[tuple[int, int]] = (8, 2)
    SHAREABLE: ClassVar[bool] = False  # a new value in every PBU

    timestamp: int

    @classmethod
    def decode_body(cls, body: bytes) -> Timestamp:
        if len(body) != 8:
            expect_length(cls.TYPE, body, 8)
        return cls(_Q.unpack(body)[0])

    def encode_tlv(self) -> bytes:
        return _TIMESTAMP_TLV.pack(self.TYPE, 8, self.timestamp)

    def encode_body(self) -> bytes:
        return _Q.pack(self.timestamp)

    @classmethod
    def from_unix(cls, seconds: float) -> Timestamp:
        return cls((int(seconds) << 16) | int((seconds % 1) * 65536))

    @property
    def unix(self) -> float:
        return (self.timestamp >> 16) + (self.timestamp & 0xFFFF) / 65536


@register_option
@dataclass(frozen=True, slots=True)
class RestartCounter(MobilityOption):
    """Restart Counter (RFC 5847 §3.4), only in Heartbeat responses."""

    TYPE: ClassVar[int] = OptionType.RESTART_COUNTER
    ALIGN: ClassVar[tuple[int, int]] = (4, 2)

    counter: int

    @classmethod
    def decode_body(cls, body: bytes) -> RestartCounter:
        expect_length(cls.TYPE, body, 4)
        return cls(_I.unpack(body)[0])

    def encode_body(self) -> bytes:
        return _I.pack(self.counter)


@register_option
@dataclass(frozen=True, slots=True)
class LMAAddress(MobilityOption):
    """Local Mobility Anchor Address (RFC 5949 §6.2.2): an IPv6 (code 1) or IPv4 (code 2) LMAA."""

    TYPE: ClassVar[int] = OptionType.LOCAL_MOBILITY_ANCHOR_ADDRESS

    address: IPv6Address | IPv4Address

    @classmethod
    def decode_body(cls, body: bytes) -> LMAAddress:
        expect_length(cls.TYPE, body, 18, 6)
        code = body[0]
        size = 16 if code == LMAAddressCode.IPV6 else 4 if code == LMAAddressCode.IPV4 else 0
        if len(body) != 2 + size:
            raise BadOptionValue(cls.TYPE, f'option code {code} does not match length {len(body)}')
        addr = IPv6Address(body[2:]) if size == 16 else IPv4Address(body[2:])
        return cls(addr)

    def encode_body(self) -> bytes:
        code = LMAAddressCode.IPV6 if self.address.version == 6 else LMAAddressCode.IPV4
        return bytes((code, 0)) + self.address.packed


@register_option
@dataclass(frozen=True, slots=True)
class MobileNodeLinkLocalAddressInterfaceIdentifier(MobilityOption):
    """MN Link-local Address Interface Identifier (RFC 5949 §6.2.3): 16 reserved bits, 64-bit IID.

    RFC 5949 states no alignment; 8n+4 puts the identifier on an 8-octet boundary.
    """

    TYPE: ClassVar[int] = OptionType.MOBILE_NODE_LINK_LOCAL_ADDRESS_INTERFACE_IDENTIFIER
    ALIGN: ClassVar[tuple[int, int]] = (8, 4)
    _BODY: ClassVar[struct.Struct] = struct.Struct('!2xQ')

    interface_identifier: int

    @classmethod
    def decode_body(cls, body: bytes) -> MobileNodeLinkLocalAddressInterfaceIdentifier:
        expect_length(cls.TYPE, body, cls._BODY.size)
        return cls(cls._BODY.unpack(body)[0])

    def encode_body(self) -> bytes:
        if not 0 <= self.interface_identifier < 1 << 64:
            raise EncodeError(f'interface identifier {self.interface_identifier:#x} is not 64 bits')
        return self._BODY.pack(self.interface_identifier)
