"""Mobility option base class, registry and framing helpers (pure; RFC 6275 §6.2).

Each option is a frozen dataclass registered by its wire type; registering a type twice
fails at import. A subclass knows only its body (the bytes after Type and Length):
`decode_body` checks lengths before it unpacks, `encode_body` packs. Type, Length and
alignment padding are done once, in `codec.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar, TypeVar

from pmiprouter.mh.errors import BadOptionLength, BadOptionValue, EncodeError
from pmiprouter.fast.frozen import quick_init

OPTIONS: dict[int, type[MobilityOption]] = {}

O = TypeVar('O', bound='type[MobilityOption]')

def register_option(cls: O) -> O:
    """Class decorator: make `cls` (a frozen, slotted dataclass) the decoder of its wire type."""
    if cls.TYPE in OPTIONS:
        raise TypeError(f'option type {cls.TYPE} registered twice: {OPTIONS[cls.TYPE].__name__}, {cls.__name__}')
    OPTIONS[cls.TYPE] = quick_init(cls)  # the cheaper constructor: several options per PBU and PBA
    cls.STATIC_ALIGN = cls.ALIGN if cls.alignment is MobilityOption.alignment else None
    return cls

class MobilityOption:
    """Base of all mobility options.

    Class attributes:
        TYPE: the wire type (an `OptionType`).
        ALIGN: (x, y): the option's Type byte must start at an MH offset of xn+y.
    """

    __slots__ = ()
    TYPE: ClassVar[int]
    ALIGN: ClassVar[tuple[int, int]] = (1, 0)
    # Whether identical small options decoded from different messages may be one shared object
    # (codec.py); False for per-MN and per-message values, which would only churn the table.
    SHAREABLE: ClassVar[bool] = True
    # ALIGN when alignment() is not overridden (set by register_option), else None: the encoder
    # then reads a class attribute instead of calling a method per option.
    STATIC_ALIGN: ClassVar[tuple[int, int] | None] = None

    @property
    def wire_type(self) -> int:
        """The Type byte this option is encoded with."""
        return self.TYPE

    def alignment(self) -> tuple[int, int]:
        """The alignment of this instance (a few options depend on their content)."""
        return self.ALIGN

    @classmethod
    def decode_body(cls, body: bytes) -> MobilityOption:
        """Decode the option's body; raise a `DecodeError` with an offset relative to Type."""
        raise NotImplementedError

    def encode_body(self) -> bytes:
        """The option's body (without Type and Length)."""
        raise NotImplementedError

    def encode_tlv(self) -> bytes:
        """Type, Length and body, as the codec lays them out.

        Options on the registration path override this with a single `struct` pack (and derive
        `encode_body` from it); the others get their body framed here.
        """
        body = self.encode_body()
        if len(body) > 255:
            raise body_too_long(self, len(body))
        return bytes((self.wire_type, len(body))) + body

@quick_init
@dataclass(frozen=True, slots=True)
class UnknownOption(MobilityOption):
    """An option type this codec does not model: skipped by the engines (RFC 6275 §6.2.1),
    kept as raw bytes so that it re-encodes unchanged."""

    option_type: int
    data: bytes

    def alignment(self) -> tuple[int, int]:
        return (1, 0)

    @property
    def wire_type(self) -> int:
        return self.option_type

    def encode_body(self) -> bytes:
        return self.data

class IPv6AddressOption(MobilityOption):
    """Shared layout of options whose body is one IPv6 address (Alternate CoA, Link-local Address)."""

    __slots__ = ()
    address: IPv6Address

    @classmethod
    def decode_body(cls, body: bytes) -> IPv6AddressOption:
        expect_length(cls.TYPE, body, 16)
        return cls(IPv6Address(body))  # type: ignore[call-arg]

    def encode_tlv(self) -> bytes:
        return _IPV6_TLV.pack(self.TYPE, 16, self.address.packed)

    def encode_body(self) -> bytes:
        return self.address.packed


class IPv4AddressOption(MobilityOption):
    """Shared layout of options with 16 reserved bits then an IPv4 address (RFC 5555/5844), aligned 4n."""

    __slots__ = ()
    ALIGN: ClassVar[tuple[int, int]] = (4, 0)
    _BODY: ClassVar[struct.Struct] = struct.Struct('!2x4s')
    address: IPv4Address

    @classmethod
    def decode_body(cls, body: bytes) -> IPv4AddressOption:
        expect_length(cls.TYPE, body, cls._BODY.size)
        return cls(IPv4Address(cls._BODY.unpack(body)[0]))  # type: ignore[call-arg]

    def encode_tlv(self) -> bytes:
        return _IPV4_TLV.pack(self.TYPE, 6, self.address.packed)

    def encode_body(self) -> bytes:
        return self._BODY.pack(self.address.packed)


_IPV6_TLV = struct.Struct('!BB16s')  # type, length, IPv6 address
_IPV4_TLV = struct.Struct('!BB2x4s')  # type, length, reserved, IPv4 address


def body_too_long(option: MobilityOption, size: int) -> EncodeError:
    """The error for a body the 8-bit Length field cannot count."""
    return EncodeError(f'{type(option).__name__} body is {size} bytes, the Length field holds 255')


def expect_length(option_type: int, body: bytes, *sizes: int) -> None:
    """Raise `BadOptionLength` unless len(body) is one of `sizes`."""
    if len(body) not in sizes:
        raise BadOptionLength(option_type, len(body), ' or '.join(map(str, sizes)))

def expect_min_length(option_type: int, body: bytes, minimum: int) -> None:
    """Raise `BadOptionLength` if the body is shorter than `minimum`."""
    if len(body) < minimum:
        raise BadOptionLength(option_type, len(body), f'>= {minimum}')

def check_range(name: str, value: int, bits: int) -> int:
    """Raise `EncodeError` unless 0 <= value < 2**bits (used by encoders)."""
    if not 0 <= value < (1 << bits):
        raise EncodeError(f'{name} {value} does not fit in {bits} bits')
    return value

def prefix_length_6bits(option_type: int, byte: int, offset: int) -> int:
    """The 6-bit IPv4 prefix length in the top of `byte` (RFC 5555/5844 layouts)."""
    length = byte >> 2
    if length > 32:
        raise BadOptionValue(option_type, f'IPv4 prefix length {length} > 32', offset)
    return length

def ipv4_prefix_length_byte(length: int) -> int:
    """Encode a 0..32 prefix length into the 6-bit field at the top of a byte."""
    if not 0 <= length <= 32:
        raise EncodeError(f'IPv4 prefix length {length} out of 0..32')
    return length << 2

E = TypeVar('E', bound=IntEnum)

def coerce(enum: type[E], value: int) -> E | int:
    """`value` as a member of `enum` when it is registered, else the plain int (kept for re-encoding)."""
    member = enum._value2member_map_.get(value)
    return member if member is not None else value  # type: ignore[return-value]


def seconds_to_units(seconds: int, what: str) -> int:
    """Seconds to the 4-second units of lifetimes and refresh intervals (RFC 6275 §6.1.7)."""
    units, rest = divmod(seconds, 4)
    if rest or not 0 <= units <= 0xFFFF:
        raise EncodeError(f'{what} {seconds} s is not a multiple of 4 s in 0..{0xFFFF * 4}')
    return units
