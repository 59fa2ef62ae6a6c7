"""Mobility Header framing: decode(bytes) -> message, encode(message) -> bytes (pure).

RFC 6275 §6.1.1 (header, Header Len in 8-octet units), §6.2 (option TLVs, Pad1/PadN,
alignment xn+y), §9.2 (receiver checks). Decoding drops padding and keeps every other
option, unknown ones as raw bytes; encoding inserts canonical padding (Pad1 for one
octet, PadN for more, the algorithm of RFC 6275 §6.2.1 as Scapy and Wireshark-era peers
use it), so `encode(decode(b)) == b` for every canonically padded `b`.
"""

from __future__ import annotations

import struct

from pmiprouter.mh import messages as _messages  # noqa: F401  (registers the messages)
from pmiprouter.mh import options_ipv4 as _options_ipv4  # noqa: F401  (registers the options)
from pmiprouter.mh import options_pmip as _options_pmip  # noqa: F401
from pmiprouter.mh.checksum import mh_checksum
from pmiprouter.mh.errors import BadHeaderLength, BadPayloadProto, DecodeError, EncodeError, Truncated, UnknownMHType
from pmiprouter.mh.message import MESSAGES, MobilityMessage
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption

IPPROTO_NONE = 59
HEADER = struct.Struct('!BBBBH')  # payload proto, header len, MH type, reserved, checksum
HEADER_LENGTH = HEADER.size
PAD1 = 0
PADN = 1
_ENCODE_FAILURES = (struct.error, OverflowError, ValueError, TypeError, AttributeError)

# Options are frozen values, and most of a PBU's small ones (Handoff Indicator, Access
# Technology Type, an ALL_ZERO prefix, a 0.0.0.0 IPv4 request) are the same in every PBU: a
# decoded small option is shared by every later identical one (type, length and body). Bounded,
# so a spray of distinct options cannot grow it.
MAX_SHARED_OPTION = 20  # bytes of type + length + body
SHARED_OPTIONS = 4096
_decoded: dict[bytes, MobilityOption] = {}


def decode(data: bytes | bytearray | memoryview) -> MobilityMessage:
    """Decode one Mobility Header (the whole datagram of a raw MH socket or UDP 5436 payload).

    Checks follow RFC 6275 §9.2: lengths first, then a known MH type, Payload Proto 59,
    and Header Len covering the type's fixed part. The checksum is the kernel's job on a
    raw socket (IPV6_CHECKSUM) and is ignored over UDP (RFC 5844 §4.1.3.2); see checksum.py.

    Raises:
        DecodeError: any subclass, with the offset of the fault.
    """
    data = bytes(data)
    if len(data) < 8:
        raise Truncated(0, 8, len(data), 'Mobility Header')
    payload_proto, header_len, mh_type, _, _ = HEADER.unpack_from(data)
    total = (header_len + 1) * 8
    if len(data) < total:
        raise Truncated(1, total, len(data), f'header length {header_len}')
    if len(data) > total:
        raise BadHeaderLength(1, f'header length {header_len} covers {total} bytes, packet has {len(data)}')
    kind = MESSAGES.get(mh_type)
    if kind is None:
        raise UnknownMHType(mh_type)
    if payload_proto != IPPROTO_NONE:
        raise BadPayloadProto(payload_proto)
    options_start = HEADER_LENGTH + kind.FIXED_LENGTH
    if options_start > total:
        raise BadHeaderLength(1, f'header length {header_len} is below the {kind.__name__} fixed part')
    options = decode_options(data, options_start, total)
    try:
        return kind.decode_fixed(data[HEADER_LENGTH:options_start], options)
    except DecodeError:
        raise
    except _ENCODE_FAILURES as exc:  # a decoder bug must still surface as the codec's own error
        raise DecodeError(HEADER_LENGTH, f'{kind.__name__}: {exc}') from exc


def decode_options(data: bytes, start: int, end: int) -> tuple[MobilityOption, ...]:
    """Decode the option TLVs in data[start:end]; Pad1/PadN are consumed, not returned."""
    options: list[MobilityOption] = []
    shared = _decoded
    i = start
    while i < end:
        option_type = data[i]
        if option_type == PAD1:
            i += 1
            continue
        if i + 2 > end:
            raise Truncated(i, 2, end - i, f'option type {option_type} header')
        body_end = i + 2 + data[i + 1]
        if body_end > end:
            raise Truncated(i + 1, body_end - i, end - i, f'option type {option_type}')
        if option_type != PADN:
            if body_end - i <= MAX_SHARED_OPTION:
                # A small option seen before is the same frozen value: one slice and one lookup.
                wire = data[i:body_end]
                option = shared.get(wire)
                if option is None:
                    option = _decode_option(option_type, data, i, body_end)
                    if type(option) is not UnknownOption:
                        if len(shared) >= SHARED_OPTIONS:
                            shared.clear()
                        shared[wire] = option
            else:
                option = _decode_option(option_type, data, i, body_end)
            options.append(option)
        i = body_end
    return tuple(options)


def _decode_option(option_type: int, data: bytes, i: int, body_end: int) -> MobilityOption:
    """One option (not padding) whose TLV is data[i:body_end]; errors carry offsets from the MH start."""
    body = data[i + 2 : body_end]
    kind = OPTIONS.get(option_type)
    if kind is None:
        return UnknownOption(option_type, body)
    try:
        return kind.decode_body(body)
    except DecodeError as exc:
        raise exc.shifted(i) from None
    except _ENCODE_FAILURES as exc:
        raise DecodeError(i, f'{kind.__name__}: {exc}') from exc


def padding(length: int) -> bytes:
    """Pad1 for one octet, PadN for two or more (RFC 6275 §6.2.2-§6.2.3)."""
    if length == 0:
        return b''
    if length == 1:
        return b'\0'
    return bytes((PADN, length - 2)) + bytes(length - 2)


def encode_options(options: tuple[MobilityOption, ...], start: int) -> bytes:
    """Lay out `options` from MH offset `start`, aligned, then pad the whole MH to 8 octets."""
    parts: list[bytes] = []
    cur = start
    for opt in options:
        layout = _LAYOUTS.get(type(opt))
        if layout is None:
            layout = _layout(type(opt))
        x, y, wire_type = layout
        if x == 0:  # the instance decides (content-dependent alignment or wire type)
            x, y = opt.alignment()
            wire_type = opt.wire_type
        if x != 1:
            gap = (y - cur) % x
            if gap:
                parts.append(_PADDINGS[gap] if gap < 8 else padding(gap))
                cur += gap
        try:
            body = opt.encode_body()
        except EncodeError:
            raise
        except _ENCODE_FAILURES as exc:
            raise EncodeError(f'{type(opt).__name__}: {exc}') from exc
        size = len(body)
        if size > 255:
            raise EncodeError(f'{type(opt).__name__} body is {size} bytes, the Length field holds 255')
        parts.append(bytes((wire_type, size)) + body)
        cur += 2 + size
    parts.append(_PADDINGS[-cur % 8])
    return b''.join(parts)


# Per option class: (x, y, wire type) when neither alignment() nor wire_type is overridden (both
# are then class constants, read once instead of two calls per option), else (0, 0, 0): ask the
# instance. One entry per option class: bounded by the registry.
_LAYOUTS: dict[type, tuple[int, int, int]] = {}


def _layout(kind: type[MobilityOption]) -> tuple[int, int, int]:
    static = kind.alignment is MobilityOption.alignment and kind.wire_type is MobilityOption.wire_type
    layout = (kind.ALIGN[0], kind.ALIGN[1], kind.TYPE) if static else (0, 0, 0)
    _LAYOUTS[kind] = layout
    return layout


_PADDINGS = tuple(padding(n) for n in range(8))  # every gap an 8-octet alignment can leave


def encode(message: MobilityMessage, src: object = None, dst: object = None) -> bytes:
    """Encode `message` as a Mobility Header.

    The checksum is left 0 unless both `src` and `dst` (IPv6 addresses, or their 16 packed
    bytes) are given: a raw socket with IPV6_CHECKSUM fills it in, and over IPv4/UDP it
    must stay 0 (RFC 5844 §4.1.3.2).

    Raises:
        EncodeError: a field does not fit its wire format.
    """
    try:
        fixed = message.encode_fixed()
    except EncodeError:
        raise
    except _ENCODE_FAILURES as exc:
        raise EncodeError(f'{type(message).__name__}: {exc}') from exc
    start = HEADER_LENGTH + len(fixed)
    options = encode_options(message.options, start)
    header_len = (start + len(options)) // 8 - 1
    if header_len > 255:
        raise EncodeError(f'message is {(header_len + 1) * 8} bytes; a Mobility Header holds at most 2048')
    wire = HEADER.pack(IPPROTO_NONE, header_len, message.TYPE, 0, 0) + fixed + options
    if src is not None and dst is not None:
        wire = wire[:4] + mh_checksum(src, dst, wire).to_bytes(2, 'big') + wire[6:]
    return wire
