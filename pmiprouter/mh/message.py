"""Mobility Header message base class and registry (pure; RFC 6275 §6.1).

A message class knows its fixed part (the bytes after the 6-byte MH header and before the
options). Header, options and padding are framed once, in `codec.py`.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pmiprouter.fast.frozen import quick_init
from pmiprouter.mh.option import MobilityOption

MESSAGES: dict[int, type[MobilityMessage]] = {}

M = TypeVar('M', bound='type[MobilityMessage]')
O = TypeVar('O', bound=MobilityOption)


def register_message(cls: M) -> M:
    """Class decorator: make `cls` the decoder of its MH type (a frozen, slotted dataclass gets `quick_init`)."""
    if cls.TYPE in MESSAGES:
        raise TypeError(f'MH type {cls.TYPE} registered twice: {MESSAGES[cls.TYPE].__name__}, {cls.__name__}')
    MESSAGES[cls.TYPE] = quick_init(cls)
    return cls


class MobilityMessage:
    """Base of all Mobility Header messages.

    Class attributes:
        TYPE: the MH Type (an `MHType`).
        FIXED_LENGTH: bytes of the fixed part after the 6-byte header (RFC 6275 §6.1).
    """

    __slots__ = ()
    TYPE: ClassVar[int]
    FIXED_LENGTH: ClassVar[int]
    options: tuple[MobilityOption, ...]

    @classmethod
    def decode_fixed(cls, fixed: bytes, options: tuple[MobilityOption, ...]) -> MobilityMessage:
        """Build the message from its fixed part (exactly FIXED_LENGTH bytes) and decoded options."""
        raise NotImplementedError

    def encode_fixed(self) -> bytes:
        """The fixed part, FIXED_LENGTH bytes."""
        raise NotImplementedError

    def option(self, kind: type[O]) -> O | None:
        """The first option of class `kind`, or None."""
        for opt in self.options:
            if type(opt) is kind:
                return opt
        return None

    def options_of(self, kind: type[O]) -> tuple[O, ...]:
        """Every option of class `kind`, in wire order."""
        return tuple(opt for opt in self.options if type(opt) is kind)
