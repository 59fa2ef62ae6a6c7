"""The Mobility Header messages (pure).

RFC 6275 §6.1.2-§6.1.9 (Binding Refresh Request, Home/Care-of Test Init, Home/Care-of
Test, Binding Update, Binding Acknowledgement, Binding Error), RFC 5213 §8.1-§8.2 (the
proxy forms: P flag), RFC 5847 §3.3 (Heartbeat), RFC 5846 §5 (Binding Revocation
Indication / Acknowledgement), RFC 7077 §4 (Update Notification / Acknowledgement).
Lifetimes are seconds here; the 4-second wire units exist only inside encode/decode.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from pmiprouter.mh.errors import BadMessageValue
from pmiprouter.mh.iana import (
    BAFlags,
    BAStatus,
    BEStatus,
    BRAStatus,
    BRType,
    BUFlags,
    MHType,
    RevocationTrigger,
    UPAStatus,
    UPNReason,
)
from pmiprouter.fast.frozen import quick_init
from pmiprouter.mh.message import MobilityMessage, register_message
from pmiprouter.mh.option import MobilityOption, coerce, seconds_to_units

Options = tuple[MobilityOption, ...]

# Building an IntFlag from an int runs the enum machinery in Python (~0.5 us); every PBU and PBA
# does it, with one or two flag values in practice. Bounded: one entry per 16-bit (BU) or
# 8-bit (BA) value at most.
_BU_FLAGS: dict[int, BUFlags] = {}
_BA_FLAGS: dict[int, BAFlags] = {}
F = TypeVar('F', BUFlags, BAFlags)


def _flags(kind: type[F], known: dict[int, F], value: int) -> F:
    flags = known.get(value)
    if flags is None:
        flags = known[value] = kind(value)
    return flags


_BA_STATUSES = BAStatus._value2member_map_  # what `coerce` reads, without its call


def _lifetime_units(seconds: int) -> int:
    """A BU/BA lifetime in 4-second units; the common case without seconds_to_units' divmod."""
    if type(seconds) is int and not seconds & 3 and 0 <= seconds <= 0x3FFFC:
        return seconds >> 2
    return seconds_to_units(seconds, 'lifetime')


@register_message
@dataclass(frozen=True, slots=True)
class BindingRefreshRequest(MobilityMessage):
    """Binding Refresh Request (RFC 6275 §6.1.2): 16 reserved bits, then options."""

    TYPE: ClassVar[int] = MHType.BINDING_REFRESH_REQUEST
    FIXED_LENGTH: ClassVar[int] = 2

    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> BindingRefreshRequest:
        return cls(options)

    def encode_fixed(self) -> bytes:
        return b'\0\0'


class _TestInit(MobilityMessage):
    """Home/Care-of Test Init layout (RFC 6275 §6.1.3-§6.1.4): reserved 16 bits, 64-bit cookie."""

    __slots__ = ()
    FIXED_LENGTH: ClassVar[int] = 10
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!2xQ')
    cookie: int

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> _TestInit:
        return cls(cls._FIXED.unpack(fixed)[0], options)  # type: ignore[call-arg]

    def encode_fixed(self) -> bytes:
        return self._FIXED.pack(self.cookie)


@register_message
@dataclass(frozen=True, slots=True)
class HomeTestInit(_TestInit):
    """Home Test Init (RFC 6275 §6.1.3)."""

    TYPE: ClassVar[int] = MHType.HOME_TEST_INIT

    cookie: int
    options: Options = ()


@register_message
@dataclass(frozen=True, slots=True)
class CareofTestInit(_TestInit):
    """Care-of Test Init (RFC 6275 §6.1.4)."""

    TYPE: ClassVar[int] = MHType.CARE_OF_TEST_INIT

    cookie: int
    options: Options = ()


class _Test(MobilityMessage):
    """Home/Care-of Test layout (RFC 6275 §6.1.5-§6.1.6): nonce index, cookie, keygen token."""

    __slots__ = ()
    FIXED_LENGTH: ClassVar[int] = 18
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!HQQ')
    nonce_index: int
    cookie: int
    keygen_token: int

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> _Test:
        return cls(*cls._FIXED.unpack(fixed), options)  # type: ignore[call-arg]

    def encode_fixed(self) -> bytes:
        return self._FIXED.pack(self.nonce_index, self.cookie, self.keygen_token)


@register_message
@dataclass(frozen=True, slots=True)
class HomeTest(_Test):
    """Home Test (RFC 6275 §6.1.5)."""

    TYPE: ClassVar[int] = MHType.HOME_TEST

    nonce_index: int
    cookie: int
    keygen_token: int
    options: Options = ()


@register_message
@dataclass(frozen=True, slots=True)
class CareofTest(_Test):
    """Care-of Test (RFC 6275 §6.1.6)."""

    TYPE: ClassVar[int] = MHType.CARE_OF_TEST

    nonce_index: int
    cookie: int
    keygen_token: int
    options: Options = ()


@register_message
@dataclass(frozen=True, slots=True)
class BindingUpdate(MobilityMessage):
    """Binding Update (RFC 6275 §6.1.7); with the P flag, a Proxy Binding Update (RFC 5213 §8.1)."""

    TYPE: ClassVar[int] = MHType.BINDING_UPDATE
    FIXED_LENGTH: ClassVar[int] = 6
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!HHH')

    sequence: int
    flags: BUFlags
    lifetime_s: int
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> BindingUpdate:
        sequence, bits, lifetime = cls._FIXED.unpack(fixed)
        flags = _BU_FLAGS.get(bits)
        return cls(sequence, _flags(BUFlags, _BU_FLAGS, bits) if flags is None else flags, lifetime * 4, options)

    def encode_fixed(self) -> bytes:
        return self._FIXED.pack(self.sequence, self.flags, _lifetime_units(self.lifetime_s))

    @classmethod
    def proxy(cls, sequence: int, lifetime_s: int, options: Options, flags: BUFlags = BUFlags(0)) -> BindingUpdate:
        """A PBU: A and P set, as RFC 5213 §6.9.1.5 requires, plus any extra `flags` (F, T...)."""
        return cls(sequence, BUFlags.A | BUFlags.P | flags, lifetime_s, options)

    @property
    def is_proxy(self) -> bool:
        return bool(int(self.flags) & 0x0200)  # BUFlags.P; plain int: IntFlag arithmetic is slow


@register_message
@dataclass(frozen=True, slots=True)
class BindingAcknowledgement(MobilityMessage):
    """Binding Acknowledgement (RFC 6275 §6.1.8); with the P flag, a PBA (RFC 5213 §8.2)."""

    TYPE: ClassVar[int] = MHType.BINDING_ACKNOWLEDGEMENT
    FIXED_LENGTH: ClassVar[int] = 6
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!BBHH')

    status: BAStatus | int
    flags: BAFlags
    sequence: int
    lifetime_s: int
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> BindingAcknowledgement:
        status, bits, sequence, lifetime = cls._FIXED.unpack(fixed)
        flags = _BA_FLAGS.get(bits)
        if flags is None:
            flags = _flags(BAFlags, _BA_FLAGS, bits)
        return cls(_BA_STATUSES.get(status, status), flags, sequence, lifetime * 4, options)  # type: ignore[arg-type]

    def encode_fixed(self) -> bytes:
        lifetime = self.lifetime_s
        if type(lifetime) is int and not lifetime & 3 and 0 <= lifetime <= 0x3FFFC:  # once per PBA: no call
            return self._FIXED.pack(self.status, self.flags, self.sequence, lifetime >> 2)
        return self._FIXED.pack(self.status, self.flags, self.sequence, _lifetime_units(lifetime))

    @property
    def is_proxy(self) -> bool:
        return bool(int(self.flags) & 0x20)  # BAFlags.P

    @property
    def accepted(self) -> bool:
        """Status < 128 (RFC 6275 §6.1.8)."""
        return self.status < 128


@register_message
@dataclass(frozen=True, slots=True)
class BindingError(MobilityMessage):
    """Binding Error (RFC 6275 §6.1.9): status and the home address concerned."""

    TYPE: ClassVar[int] = MHType.BINDING_ERROR
    FIXED_LENGTH: ClassVar[int] = 18
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!Bx16s')

    status: BEStatus | int
    home_address: IPv6Address
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> BindingError:
        status, raw = cls._FIXED.unpack(fixed)
        return cls(coerce(BEStatus, status), IPv6Address(raw), options)

    def encode_fixed(self) -> bytes:
        return self._FIXED.pack(self.status, self.home_address.packed)


@register_message
@dataclass(frozen=True, slots=True)
class Heartbeat(MobilityMessage):
    """Heartbeat (RFC 5847 §3.3): U (unsolicited) and R (response) flags, 32-bit sequence number."""

    TYPE: ClassVar[int] = MHType.HEARTBEAT
    FIXED_LENGTH: ClassVar[int] = 6
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!xBI')
    U: ClassVar[int] = 0x02
    R: ClassVar[int] = 0x01

    sequence: int
    response: bool = False
    unsolicited: bool = False
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> Heartbeat:
        flags, sequence = cls._FIXED.unpack(fixed)
        return cls(sequence, bool(flags & cls.R), bool(flags & cls.U), options)

    def encode_fixed(self) -> bytes:
        flags = (self.R if self.response else 0) | (self.U if self.unsolicited else 0)
        return self._FIXED.pack(flags, self.sequence)


class BindingRevocation(MobilityMessage):
    """Binding Revocation message (RFC 5846 §5): MH type 16, split by its B.R. Type byte.

    Fixed part: B.R. Type, trigger (BRI) or status (BRA), sequence, P/V/G flags, reserved.
    """

    __slots__ = ()
    TYPE: ClassVar[int] = MHType.BINDING_REVOCATION
    FIXED_LENGTH: ClassVar[int] = 6
    BR_TYPE: ClassVar[int]
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!BBHBx')
    P: ClassVar[int] = 0x80  # proxy binding
    V: ClassVar[int] = 0x40  # IPv4 home address binding only
    G: ClassVar[int] = 0x20  # global: all bindings of the peer / identifier

    sequence: int
    proxy: bool
    ipv4_only: bool
    global_: bool

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> BindingRevocation:
        br_type, code, sequence, flags = cls._FIXED.unpack(fixed)
        kind = _BR_KINDS.get(br_type)
        if kind is None:
            raise BadMessageValue(6, f'B.R. type {br_type} is not 1 (BRI) or 2 (BRA)')
        return kind._build(code, sequence, bool(flags & cls.P), bool(flags & cls.V), bool(flags & cls.G), options)

    @classmethod
    def _build(cls, code: int, sequence: int, p: bool, v: bool, g: bool, options: Options) -> BindingRevocation:
        raise NotImplementedError

    def _code(self) -> int:
        raise NotImplementedError

    def encode_fixed(self) -> bytes:
        flags = (self.P if self.proxy else 0) | (self.V if self.ipv4_only else 0) | (self.G if self.global_ else 0)
        return self._FIXED.pack(self.BR_TYPE, self._code(), self.sequence, flags)


register_message(BindingRevocation)  # one MH type, two message kinds


@quick_init
@dataclass(frozen=True, slots=True)
class BindingRevocationIndication(BindingRevocation):
    """Binding Revocation Indication (RFC 5846 §5.1)."""

    BR_TYPE: ClassVar[int] = BRType.BINDING_REVOCATION_INDICATION

    trigger: RevocationTrigger | int
    sequence: int
    proxy: bool = True
    ipv4_only: bool = False
    global_: bool = False
    options: Options = ()

    @classmethod
    def _build(cls, code: int, sequence: int, p: bool, v: bool, g: bool, options: Options) -> BindingRevocation:
        return cls(coerce(RevocationTrigger, code), sequence, p, v, g, options)

    def _code(self) -> int:
        return self.trigger


@quick_init
@dataclass(frozen=True, slots=True)
class BindingRevocationAcknowledgement(BindingRevocation):
    """Binding Revocation Acknowledgement (RFC 5846 §5.2); copies sequence and P/V/G from the BRI."""

    BR_TYPE: ClassVar[int] = BRType.BINDING_REVOCATION_ACKNOWLEDGEMENT

    status: BRAStatus | int
    sequence: int
    proxy: bool = True
    ipv4_only: bool = False
    global_: bool = False
    options: Options = ()

    @classmethod
    def _build(cls, code: int, sequence: int, p: bool, v: bool, g: bool, options: Options) -> BindingRevocation:
        return cls(coerce(BRAStatus, code), sequence, p, v, g, options)

    def _code(self) -> int:
        return self.status


_BR_KINDS: dict[int, type[BindingRevocation]] = {
    BRType.BINDING_REVOCATION_INDICATION: BindingRevocationIndication,
    BRType.BINDING_REVOCATION_ACKNOWLEDGEMENT: BindingRevocationAcknowledgement,
}


@register_message
@dataclass(frozen=True, slots=True)
class UpdateNotification(MobilityMessage):
    """Update Notification, UPN (RFC 7077 §4.1): sequence, reason, A (ack requested) and D (retransmission)."""

    TYPE: ClassVar[int] = MHType.UPDATE_NOTIFICATION
    FIXED_LENGTH: ClassVar[int] = 6
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!HHBx')
    A: ClassVar[int] = 0x80
    D: ClassVar[int] = 0x40

    sequence: int
    reason: UPNReason | int
    ack_requested: bool = True
    retransmission: bool = False
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> UpdateNotification:
        sequence, reason, flags = cls._FIXED.unpack(fixed)
        return cls(sequence, coerce(UPNReason, reason), bool(flags & cls.A), bool(flags & cls.D), options)

    def encode_fixed(self) -> bytes:
        flags = (self.A if self.ack_requested else 0) | (self.D if self.retransmission else 0)
        return self._FIXED.pack(self.sequence, self.reason, flags)


@register_message
@dataclass(frozen=True, slots=True)
class UpdateNotificationAcknowledgement(MobilityMessage):
    """Update Notification Acknowledgement, UPA (RFC 7077 §4.2)."""

    TYPE: ClassVar[int] = MHType.UPDATE_NOTIFICATION_ACKNOWLEDGEMENT
    FIXED_LENGTH: ClassVar[int] = 6
    _FIXED: ClassVar[struct.Struct] = struct.Struct('!HB3x')

    sequence: int
    status: UPAStatus | int
    options: Options = ()

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: Options) -> UpdateNotificationAcknowledgement:
        sequence, status = cls._FIXED.unpack(fixed)
        return cls(sequence, coerce(UPAStatus, status), options)

    def encode_fixed(self) -> bytes:
        return self._FIXED.pack(self.sequence, self.status)
