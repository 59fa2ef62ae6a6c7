"""The codec's one error hierarchy (pure).

Every error that `decode` can raise is a `DecodeError` carrying the byte `offset` from the
start of the Mobility Header and a short `reason`; nothing else escapes the codec (no
`struct.error`, `IndexError`, `ValueError`, `UnicodeDecodeError`). The offset doubles as the
ICMPv6 Parameter Problem pointer where RFC 6275 §9.2 asks for one.
"""

from __future__ import annotations


class MHError(Exception):
    """Base of every Mobility Header codec error."""


class DecodeError(MHError):
    """Bytes that are not a well-formed Mobility Header message.

    Attributes:
        offset: byte offset from the first byte of the Mobility Header (Payload Proto).
        reason: what is wrong, in a few words.
    """

    kind = 'Malformed'

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(offset, reason)
        self.offset = offset
        self.reason = reason

    def shifted(self, delta: int) -> DecodeError:
        """Re-base the offset (errors from an option body are found relative to the option)."""
        self.offset += delta
        return self

    def __str__(self) -> str:
        return f'{self.kind} at offset {self.offset}: {self.reason}'


class Truncated(DecodeError):
    """Fewer bytes than a length field or a fixed layout needs."""

    kind = 'Truncated'

    def __init__(self, offset: int, need: int, have: int, what: str = '') -> None:
        reason = f'need {need} bytes, have {have}' + (f' ({what})' if what else '')
        super().__init__(offset, reason)
        self.need = need
        self.have = have


class BadHeaderLength(DecodeError):
    """Header Len disagrees with the packet or is below the message type's fixed length."""

    kind = 'Bad header length'


class BadPayloadProto(DecodeError):
    """Payload Proto is not 59 (RFC 6275 §9.2: answer with ICMPv6 Parameter Problem code 0)."""

    kind = 'Bad payload proto'

    def __init__(self, payload_proto: int) -> None:
        super().__init__(0, f'payload proto {payload_proto}, expected 59 (no next header)')
        self.payload_proto = payload_proto


class UnknownMHType(DecodeError):
    """An MH Type this codec does not implement (RFC 6275 §9.2: Binding Error status 2)."""

    kind = 'Unknown MH type'

    def __init__(self, mh_type: int) -> None:
        super().__init__(2, f'MH type {mh_type} is not implemented')
        self.mh_type = mh_type


class BadMessageValue(DecodeError):
    """A field of a message's fixed part holds a value the message cannot have."""

    kind = 'Bad message field'


class BadOptionLength(DecodeError):
    """A mobility option's Length does not fit its type."""

    kind = 'Bad option length'

    def __init__(self, option_type: int, got: int, expected: str) -> None:
        super().__init__(1, f'option type {option_type} length {got}, expected {expected}')
        self.option_type = option_type


class BadOptionValue(DecodeError):
    """A mobility option's body holds a value the option cannot have."""

    kind = 'Bad option value'

    def __init__(self, option_type: int, reason: str, offset: int = 2) -> None:
        super().__init__(offset, f'option type {option_type}: {reason}')
        self.option_type = option_type


class EncodeError(MHError):
    """A message or option object that cannot be put on the wire (a field out of range)."""
