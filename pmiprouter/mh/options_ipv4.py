"""Mobility options for IPv4 home addresses, IPv4 transport, GRE keys and binding ids (pure).

RFC 5555 §3.1-§3.2 (IPv4 Home Address, IPv4 Address Acknowledgement, NAT Detection,
IPv4 Care-of Address), RFC 5844 §3.3 (IPv4 Home Address Request/Reply, IPv4
Default-Router Address, IPv4 DHCP Support Mode), RFC 5845 §6.1 (GRE Key), RFC 5648 §4.3
(Binding Identifier).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from pmiprouter.mh.errors import BadOptionValue
from pmiprouter.mh.iana import IPv4AddressAckStatus, IPv4HomeAddressReplyStatus, OptionType
from pmiprouter.mh.option import (
    IPv4AddressOption,
    MobilityOption,
    coerce,
    expect_length,
    ipv4_prefix_length_byte,
    prefix_length_6bits,
    register_option,
)

_BB4 = struct.Struct('!BB4s')  # two one-byte fields, then an IPv4 address
_H = struct.Struct('!H')
_HI = struct.Struct('!HI')
_BB4_TLV = struct.Struct('!BBBB4s')  # type, length 6, then the body above
_GRE_KEY_TLV = struct.Struct('!BB2xI')
_GRE_NO_KEY_TLV = struct.Struct('!BB2x')


@register_option
@dataclass(frozen=True, slots=True)
class IPv4HomeAddress(MobilityOption):
    """IPv4 Home Address (RFC 5555 §3.1.1): prefix length (6 bits), P flag, address (0.0.0.0 = allocate)."""

    TYPE: ClassVar[int] = OptionType.IPV4_HOME_ADDRESS
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)
    P: ClassVar[int] = 0x02  # request a mobile network prefix

    prefix_length: int
    address: IPv4Address
    request_prefix: bool = False

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4HomeAddress:
        expect_length(cls.TYPE, body, _BB4.size)
        first, _, raw = _BB4.unpack(body)
        return cls(prefix_length_6bits(cls.TYPE, first, 2), IPv4Address(raw), bool(first & cls.P))

    def encode_body(self) -> bytes:
        first = ipv4_prefix_length_byte(self.prefix_length) | (self.P if self.request_prefix else 0)
        return _BB4.pack(first, 0, self.address.packed)


@register_option
@dataclass(frozen=True, slots=True)
class IPv4AddressAcknowledgement(MobilityOption):
    """IPv4 Address Acknowledgement (RFC 5555 §3.2.1): status, prefix length, address."""

    TYPE: ClassVar[int] = OptionType.IPV4_ADDRESS_ACKNOWLEDGEMENT
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)

    status: IPv4AddressAckStatus | int
    prefix_length: int
    address: IPv4Address

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4AddressAcknowledgement:
        expect_length(cls.TYPE, body, _BB4.size)
        status, second, raw = _BB4.unpack(body)
        return cls(coerce(IPv4AddressAckStatus, status), prefix_length_6bits(cls.TYPE, second, 3), IPv4Address(raw))

    def encode_tlv(self) -> bytes:
        return _BB4_TLV.pack(self.TYPE, 6, self.status, ipv4_prefix_length_byte(self.prefix_length), self.address.packed)

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]


@register_option
@dataclass(frozen=True, slots=True)
class NATDetection(MobilityOption):
    """NAT Detection (RFC 5555 §3.2.2): F flag (force UDP) and keepalive refresh time in seconds."""

    TYPE: ClassVar[int] = OptionType.NAT_DETECTION
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)
    F: ClassVar[int] = 0x8000
    NO_KEEPALIVE: ClassVar[int] = 0xFFFFFFFF  # all ones: no NAT detected, no keepalives

    udp_encapsulation_required: bool
    refresh_time_s: int

    @classmethod
    def decode_body(cls, body: bytes) -> NATDetection:
        expect_length(cls.TYPE, body, _HI.size)
        word, refresh = _HI.unpack(body)
        return cls(bool(word & cls.F), refresh)

    def encode_body(self) -> bytes:
        return _HI.pack(self.F if self.udp_encapsulation_required else 0, self.refresh_time_s)


@register_option
@dataclass(frozen=True, slots=True)
class IPv4CareofAddress(IPv4AddressOption):
    """IPv4 Care-of Address (RFC 5555 §3.1.2)."""

    TYPE: ClassVar[int] = OptionType.IPV4_CARE_OF_ADDRESS

    address: IPv4Address


@register_option
@dataclass(frozen=True, slots=True)
class GREKey(MobilityOption):
    """GRE Key (RFC 5845 §6.1): Length 2 = GRE without a key, Length 6 = with the key identifier.

    In a PBU it carries the downlink key (LMA to MAG), in a PBA the uplink key.
    """

    TYPE: ClassVar[int] = OptionType.GRE_KEY
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)

    key: int | None = None

    @classmethod
    def decode_body(cls, body: bytes) -> GREKey:
        expect_length(cls.TYPE, body, 2, 6)
        return cls(None if len(body) == 2 else _HI.unpack(body)[1])

    def encode_tlv(self) -> bytes:
        return _GRE_NO_KEY_TLV.pack(self.TYPE, 2) if self.key is None else _GRE_KEY_TLV.pack(self.TYPE, 6, self.key)

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]


@register_option
@dataclass(frozen=True, slots=True)
class BindingIdentifier(MobilityOption):
    """Binding Identifier (RFC 5648 §4.3): BID, status, H flag, optional IPv4 or IPv6 care-of address.

    The byte after Status holds H (0x80) and, per RFC 6089, a 7-bit BID priority.
    """

    TYPE: ClassVar[int] = OptionType.BINDING_IDENTIFIER
    _HEAD: ClassVar[struct.Struct] = struct.Struct('!HBB')
    H: ClassVar[int] = 0x80

    binding_id: int
    status: int = 0
    simultaneous_home_and_foreign: bool = False
    priority: int = 0
    care_of_address: IPv4Address | IPv6Address | None = None

    def alignment(self) -> tuple[int, int]:
        return (2, 0) if self.care_of_address is None else (8, 2)

    @classmethod
    def decode_body(cls, body: bytes) -> BindingIdentifier:
        expect_length(cls.TYPE, body, 4, 8, 20)
        bid, status, flags = cls._HEAD.unpack_from(body)
        if bid == 0:
            raise BadOptionValue(cls.TYPE, 'binding identifier 0 is reserved')
        tail = body[4:]
        coa = IPv4Address(tail) if len(tail) == 4 else IPv6Address(tail) if tail else None
        return cls(bid, status, bool(flags & cls.H), flags & 0x7F, coa)

    def encode_body(self) -> bytes:
        flags = (self.H if self.simultaneous_home_and_foreign else 0) | (self.priority & 0x7F)
        tail = self.care_of_address.packed if self.care_of_address is not None else b''
        return self._HEAD.pack(self.binding_id, self.status, flags) + tail


@register_option
@dataclass(frozen=True, slots=True)
class IPv4HomeAddressRequest(MobilityOption):
    """IPv4 Home Address Request (RFC 5844 §3.3.1): prefix length and address; 0.0.0.0 asks the LMA to allocate."""

    TYPE: ClassVar[int] = OptionType.IPV4_HOME_ADDRESS_REQUEST
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)

    prefix_length: int = 0
    address: IPv4Address = IPv4Address(0)

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4HomeAddressRequest:
        expect_length(cls.TYPE, body, _BB4.size)
        first, _, raw = _BB4.unpack(body)
        return cls(prefix_length_6bits(cls.TYPE, first, 2), IPv4Address(raw))

    def encode_tlv(self) -> bytes:
        return _BB4_TLV.pack(self.TYPE, 6, ipv4_prefix_length_byte(self.prefix_length), 0, self.address.packed)

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]


@register_option
@dataclass(frozen=True, slots=True)
class IPv4HomeAddressReply(MobilityOption):
    """IPv4 Home Address Reply (RFC 5844 §3.3.2): status, prefix length, assigned address."""

    TYPE: ClassVar[int] = OptionType.IPV4_HOME_ADDRESS_REPLY
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)

    status: IPv4HomeAddressReplyStatus | int
    prefix_length: int
    address: IPv4Address

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4HomeAddressReply:
        expect_length(cls.TYPE, body, _BB4.size)
        status, second, raw = _BB4.unpack(body)
        return cls(
            coerce(IPv4HomeAddressReplyStatus, status), prefix_length_6bits(cls.TYPE, second, 3), IPv4Address(raw)
        )

    def encode_tlv(self) -> bytes:
        return _BB4_TLV.pack(self.TYPE, 6, self.status, ipv4_prefix_length_byte(self.prefix_length), self.address.packed)

    def encode_body(self) -> bytes:
        return self.encode_tlv()[2:]


@register_option
@dataclass(frozen=True, slots=True)
class IPv4DefaultRouterAddress(IPv4AddressOption):
    """IPv4 Default-Router Address (RFC 5844 §3.3.3)."""

    TYPE: ClassVar[int] = OptionType.IPV4_DEFAULT_ROUTER_ADDRESS

    address: IPv4Address


@register_option
@dataclass(frozen=True, slots=True)
class IPv4DHCPSupportMode(MobilityOption):
    """IPv4 DHCP Support Mode (RFC 5844 §3.3.4): S=1 the MAG is a DHCP server, S=0 a relay."""

    TYPE: ClassVar[int] = OptionType.IPV4_DHCP_SUPPORT_MODE
    S: ClassVar[int] = 0x0001

    server: bool

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4DHCPSupportMode:
        expect_length(cls.TYPE, body, 2)
        return cls(bool(_H.unpack(body)[0] & cls.S))

    def encode_body(self) -> bytes:
        return _H.pack(self.S if self.server else 0)
