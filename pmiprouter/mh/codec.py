"""Mobility Header framing: decode(bytes) -> message, encode(message) -> bytes (pure).

RFC 6275 §6.1.1 (header, Header Len in 8-octet units), §6.2 (option TLVs, Pad1/PadN,
alignment xn+y), §9.2 (receiver checks). Decoding drops padding and keeps every other
option, unknown ones as raw bytes; encoding inserts canonical padding (Pad1 for one
octet, PadN for more, the algorithm of RFC 6275 §6.2.1 as Scapy and Wireshark-era peers
use it), so `encode(decode(b)) == b` for every canonically padded `b`.
"""

from __future__ import annotations

import struct

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.mh import messages as _messages  # noqa: F401  (registers the messages)
from pmiprouter.mh import options_ipv4 as _options_ipv4  # noqa: F401  (registers the options)
from pmiprouter.mh import options_pmip as _options_pmip  # noqa: F401
from pmiprouter.mh import shared_options
from pmiprouter.mh.checksum import mh_checksum
from pmiprouter.mh.errors import BadHeaderLength, BadPayloadProto, DecodeError, EncodeError, Truncated, UnknownMHType
from pmiprouter.mh.message import MESSAGES, MobilityMessage
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption
from pmiprouter.mh.shared_options import (
    CODEC_FAILURES,
    MAX_SHARED_OPTION,
    PAD1,
    PADN,
    decode_option,
)

IPPROTO_NONE = 59
HEADER = struct.Struct('!BBBBH')  # payload proto, header len, MH type, reserved, checksum
HEADER_LENGTH = HEADER.size

MAX_ENCODED = 8192  # cached encodings of shared options; a safety bound, the callers bound their own
# The encoding of a shared option, computed once per option object: (x, y, TLV bytes). Filled by
# `share` (the PBA's constant options and shared address options), emptied by `unshare`.
_encoded = ByIdentity[MobilityOption, tuple[int, int, bytes]](None, MAX_ENCODED)


def decode(data: bytes | bytearray | memoryview) -> MobilityMessage:
    """Decode one Mobility Header (the whole datagram of a raw MH socket or UDP 5436 payload).

    Checks follow RFC 6275 §9.2: lengths first, then a known MH type, Payload Proto 59,
    and Header Len covering the type's fixed part. The checksum is the kernel's job on a
    raw socket (IPV6_CHECKSUM) and is ignored over UDP (RFC 5844 §4.1.3.2); see checksum.py.

    Raises:
        DecodeError: any subclass, with the offset of the fault.
    """
    if type(data) is not bytes:
        data = bytes(data)
    size = len(data)
    if size < 8:
        raise Truncated(0, 8, size, 'Mobility Header')
    header_len = data[1]
    mh_type = data[2]
    total = (header_len + 1) * 8
    if size != total:
        if size < total:
            raise Truncated(1, total, size, f'header length {header_len}')
        raise BadHeaderLength(1, f'header length {header_len} covers {total} bytes, packet has {size}')
    kind = MESSAGES.get(mh_type)
    if kind is None:
        raise UnknownMHType(mh_type)
    if data[0] != IPPROTO_NONE:
        raise BadPayloadProto(data[0])
    options_start = HEADER_LENGTH + kind.FIXED_LENGTH
    if options_start > total:
        raise BadHeaderLength(1, f'header length {header_len} is below the {kind.__name__} fixed part')
    options = decode_options(data, options_start, total)
    try:
        return kind.decode_fixed(data[HEADER_LENGTH:options_start], options)
    except DecodeError:
        raise
    except CODEC_FAILURES as exc:  # a decoder bug must still surface as the codec's own error
        raise DecodeError(HEADER_LENGTH, f'{kind.__name__}: {exc}') from exc


def decode_options(data: bytes, start: int, end: int) -> tuple[MobilityOption, ...]:
    """Decode the option TLVs in data[start:end]; Pad1/PadN are consumed, not returned."""
    options: list[MobilityOption] = []
    append = options.append
    shared = shared_options.decoded.get
    shareable = _SHAREABLE
    known = OPTIONS
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
        if option_type in shareable and body_end - i <= MAX_SHARED_OPTION:
            # A small option seen before is the same frozen value: one slice and one lookup.
            wire = data[i:body_end]
            option = shared(wire)
            if option is None:
                option = decode_option(option_type, data, i, body_end)
                shared_options.decoded.put(wire, option)
            append(option)
        elif option_type != PADN:
            kind = known.get(option_type)
            if kind is None:
                append(UnknownOption(option_type, data[i + 2 : body_end]))
            else:
                try:
                    append(kind.decode_body(data[i + 2 : body_end]))
                except DecodeError as exc:
                    raise exc.shifted(i) from None
                except CODEC_FAILURES as exc:
                    raise DecodeError(i, f'{kind.__name__}: {exc}') from exc
        i = body_end
    return tuple(options)


def share(option: MobilityOption) -> MobilityOption:
    """Encode `option` once, now, for every later message that carries this same object; returns it.

    For long-lived constant options (the PBA's Handoff Indicator, ALL_ZERO prefix...): the cache
    keeps the option alive until `unshare`. An option that does not encode is left to `encode`
    (which raises the error where it is used).
    """
    if option not in _encoded:
        try:
            _encoded.put(option, _option_layout(option))
        except EncodeError:
            return option
    return option


def unshare(option: MobilityOption) -> None:
    """Forget the cached encoding of `option` (a caller dropping it from its own table)."""
    _encoded.forget(option)


def _option_layout(opt: MobilityOption) -> tuple[int, int, bytes]:
    """(x, y, TLV) of one option: its alignment xn+y and its Type, Length and body."""
    layout = opt.STATIC_ALIGN
    x, y = opt.alignment() if layout is None else layout  # None: the instance decides
    try:
        tlv = opt.encode_tlv()
    except EncodeError:
        raise
    except CODEC_FAILURES as exc:
        raise EncodeError(f'{type(opt).__name__}: {exc}') from exc
    return x, y, tlv


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
    _lay_out(options, start, parts)
    return b''.join(parts)


def _lay_out(options: tuple[MobilityOption, ...], start: int, parts: list[bytes]) -> int:
    """Append the options' TLVs and padding to `parts` from MH offset `start`; returns the padded end."""
    cur = start
    append = parts.append
    for known in _encoded.get_each(options):  # (option, its encoding), or the option not kept
        if type(known) is tuple:
            x, y, tlv = known[1]
        else:
            x, y, tlv = _option_layout(known)
        if x != 1:
            gap = (y - cur) % x
            if gap:
                append(_PADDINGS[gap] if gap < 8 else padding(gap))
                cur += gap
        append(tlv)
        cur += len(tlv)
    gap = -cur % 8
    if gap:
        append(_PADDINGS[gap])
    return cur + gap


_PADDINGS = tuple(padding(n) for n in range(8))  # every gap an 8-octet alignment can leave
_SHAREABLE = shared_options.shareable_types()


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
    except CODEC_FAILURES as exc:
        raise EncodeError(f'{type(message).__name__}: {exc}') from exc
    parts = [b'', fixed]  # the header goes first once the length is known
    end = _lay_out(message.options, HEADER_LENGTH + len(fixed), parts)
    header_len = end // 8 - 1
    if header_len > 255:
        raise EncodeError(f'message is {end} bytes; a Mobility Header holds at most 2048')
    parts[0] = HEADER.pack(IPPROTO_NONE, header_len, message.TYPE, 0, 0)
    wire = b''.join(parts)
    if src is not None and dst is not None:
        wire = wire[:4] + mh_checksum(src, dst, wire).to_bytes(2, 'big') + wire[6:]
    return wire
