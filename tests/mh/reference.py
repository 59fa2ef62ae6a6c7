"""A straightforward Mobility Header codec, the yardstick of the optimised one (tests only).

No caches, no shared options, no layout plans, no per-class layout table: each option is
framed from its `alignment()`, `wire_type` and `encode_body()`, and decoding walks the TLVs
and asks each option class for its body. The optimised `codec.encode`/`codec.decode` must give
the same bytes, the same messages and the same errors (class and offset).
"""

from __future__ import annotations

from pmiprouter.mh.errors import BadHeaderLength, BadPayloadProto, DecodeError, Truncated, UnknownMHType
from pmiprouter.mh.message import MESSAGES, MobilityMessage
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption


def reference_padding(length: int) -> bytes:
    """RFC 6275 §6.2.2-§6.2.3: Pad1 for one octet, PadN for more."""
    return b'' if length == 0 else b'\0' if length == 1 else bytes((1, length - 2)) + bytes(length - 2)


def reference_encode(message: MobilityMessage) -> bytes:
    out = bytearray(6) + message.encode_fixed()
    for option in message.options:
        x, y = option.alignment()
        out += reference_padding((y - len(out)) % x)
        body = option.encode_body()
        assert len(body) <= 255
        out += bytes((option.wire_type, len(body))) + body
    out += reference_padding(-len(out) % 8)
    out[0:4] = bytes((59, len(out) // 8 - 1, message.TYPE, 0))
    return bytes(out)


def reference_decode(data: bytes) -> MobilityMessage:
    if len(data) < 8:
        raise Truncated(0, 8, len(data))
    total = (data[1] + 1) * 8
    if len(data) < total:
        raise Truncated(1, total, len(data))
    if len(data) > total:
        raise BadHeaderLength(1, 'longer than Header Len')
    kind = MESSAGES.get(data[2])
    if kind is None:
        raise UnknownMHType(data[2])
    if data[0] != 59:
        raise BadPayloadProto(data[0])
    start = 6 + kind.FIXED_LENGTH
    if start > total:
        raise BadHeaderLength(1, 'below the fixed part')
    options: list[MobilityOption] = []
    i = start
    while i < total:
        option_type = data[i]
        if option_type == 0:
            i += 1
            continue
        if i + 2 > total:
            raise Truncated(i, 2, total - i)
        end = i + 2 + data[i + 1]
        if end > total:
            raise Truncated(i + 1, end - i, total - i)
        if option_type != 1:
            body = data[i + 2 : end]
            option_kind = OPTIONS.get(option_type)
            if option_kind is None:
                options.append(UnknownOption(option_type, body))
            else:
                try:
                    options.append(option_kind.decode_body(body))
                except DecodeError as exc:
                    raise exc.shifted(i) from None
                except Exception as exc:  # noqa: BLE001  (the codec turns these into DecodeError at the option)
                    raise DecodeError(i, str(exc)) from exc
        i = end
    try:
        return kind.decode_fixed(data[6:start], tuple(options))
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001  (the codec turns these into DecodeError at offset 6)
        raise DecodeError(6, str(exc)) from exc


def outcome(decoder: object, data: bytes) -> tuple[str, object]:
    """('ok', message) or ('error', (error class, offset)): what two decoders must agree on."""
    try:
        return 'ok', decoder(data)  # type: ignore[operator]
    except DecodeError as exc:
        return 'error', (type(exc), exc.offset)
