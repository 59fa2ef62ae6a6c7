"""The common Proxy Binding Update, read from its bytes, and its PBA, written as bytes (pure).

Most of an LMA's registrations look alike (core/events.CommonPbuReceived says how).
`read_common_pbu` recognises exactly that shape in the wire bytes, without building the message
and option objects of the codec, and returns None for anything else (the codec takes it then:
every other option, flag, length or duplicate). `accepted_pba` writes the PBA that `pba.build_pba`
and the codec would write for it, by patching a template the codec encoded once per option layout.

Cost (ADR 0012): a MAG lays out every PBU for MN-IDs of one length the same way, so a layout
learned once reads the next PBU in one `struct.unpack_from` and a tuple comparison; the event is
built by `tuple.__new__` (a named tuple's own constructor is a Python function). The PBA is one
`struct.pack` of constants and values, reading the prefix through `ipaddress` internals.

Both are checked against the codec and the engine by tests/fast/test_common_pbu.py (every
accepted wire decodes to the same values; every PBA is the codec's, byte for byte).
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address, IPv6Network
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from pmiprouter.core.events import CommonPbuReceived
from pmiprouter.fast.bounded import Bounded
from pmiprouter.mh.codec import encode
from pmiprouter.mh.iana import BAFlags, BAStatus, MNIdentifierSubtype, OptionType
from pmiprouter.mh.messages import BindingAcknowledgement
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)

IPPROTO_NONE = 59
BINDING_UPDATE = 5
FLAGS_A_P = 0x8200  # Acknowledge + Proxy: what a MAG sends (RFC 5213 §6.9.1.5); any other value is not "common"
_FIXED = struct.Struct('!BBBBHHHH')  # MH header, then the BU's Sequence #, flags, lifetime (4 s units)
_BA_FIXED = struct.Struct('!BBHH')  # status, flags, Sequence #, lifetime (4 s units)
_U64 = struct.Struct('!Q')

_PAD1, _PADN = OptionType.PAD1, OptionType.PADN
_MN_ID, _HNP = int(OptionType.MN_ID), int(OptionType.HOME_NETWORK_PREFIX)
_HI, _ATT = int(OptionType.HANDOFF_INDICATOR), int(OptionType.ACCESS_TECHNOLOGY_TYPE)
_LL_ID, _TIMESTAMP = int(OptionType.MOBILE_NODE_LINK_LAYER_IDENTIFIER), int(OptionType.TIMESTAMP)
_NAI = int(MNIdentifierSubtype.NAI)
_ALL_ZERO_PREFIX = bytes(18)  # an HNP body: reserved, prefix length 0, the unspecified address
_new_tuple = tuple.__new__  # a named tuple built without its Python-level __new__


def read_common_pbu(wire: bytes, src: IPv6Address, dst: IPv6Address) -> CommonPbuReceived | None:
    """The common PBU in `wire` from `src` to `dst`, or None when it is anything else (or malformed).

    A MAG lays out every PBU for MN-IDs of one length the same way, so the layout `_walk` found in
    one (its struct, and the bytes between its values) reads the next in one `unpack_from`: the
    wire is that layout when every constant matches. Anything else is walked, and a common PBU
    walked teaches its layout for the next.
    """
    size = len(wire)
    if size < 16 or type(wire) is not bytes:  # (the options start at 12; Header Len counts 8 octets)
        return None
    key = size << 8 | wire[13]  # the size and the first option's length (the MN-ID's, usually)
    layout = _layouts.get(key)
    if layout is not None:
        fields = layout.struct.unpack_from(wire)
        if fields[::2] == layout.constants:
            sequence, lifetime, identifier, handoff, att, ll_id, timestamp = layout.pick(fields[1::2] + _NONE)
            if lifetime:
                return _new_tuple(CommonPbuReceived, (
                    sequence, lifetime * 4, identifier, handoff, att, ll_id, timestamp, src, dst, wire))
            return None
    pbu = _walk(wire, src, dst)
    if pbu is not None:
        _layouts.put(key, _layout_of(wire))
    return pbu


class _Layout(NamedTuple):
    """How one common PBU layout reads: `struct` unpacks constants and values alternately
    (constants at the even places); `pick` orders the values as CommonPbu's fields."""

    struct: struct.Struct
    constants: tuple[bytes, ...]
    pick: Callable[[tuple[Any, ...]], tuple[Any, ...]]


MAX_LAYOUTS = 256  # (size, first option length) pairs remembered
_layouts = Bounded[int, _Layout](bound=MAX_LAYOUTS)
_NONE = (None,)  # the value of an option the layout does not have (link-layer ID, Timestamp)
_VALUES = ('sequence', 'lifetime', 'identifier', 'handoff', 'att', 'll_id', 'timestamp')


def _layout_of(wire: bytes) -> _Layout:
    """The layout of `wire`, a common PBU (`_walk` read it): every byte that is not one of its
    values (nor the checksum) is a constant, padding and reserved octets included."""
    spans = [(6, 2, 'H', 'sequence'), (10, 2, 'H', 'lifetime')]  # (offset, size, format, value), in wire order
    i = 12
    while i < len(wire):
        kind = wire[i]
        if kind == _PAD1:
            i += 1
            continue
        length = wire[i + 1]
        if kind == _MN_ID:
            spans.append((i + 3, length - 1, f'{length - 1}s', 'identifier'))
        elif kind == _HI:
            spans.append((i + 3, 1, 'B', 'handoff'))
        elif kind == _ATT:
            spans.append((i + 3, 1, 'B', 'att'))
        elif kind == _LL_ID:
            spans.append((i + 4, length - 2, f'{length - 2}s', 'll_id'))
        elif kind == _TIMESTAMP:
            spans.append((i + 2, 8, 'Q', 'timestamp'))
        i += 2 + length
    # The MH header's first four octets, the checksum skipped (the kernel checked it), then a
    # constant (maybe empty) before each value: they alternate, constants at the even places.
    formats, constants, values, end = ['!4s2x'], [wire[:4]], [], 6
    for offset, size, kind, value in spans:
        if offset > 6:  # (the Sequence # follows the checksum: its constant is the header's)
            formats.append(f'{offset - end}s')
            constants.append(wire[end:offset])
        formats.append(kind)
        values.append(value)
        end = offset + size
    formats.append(f'{len(wire) - end}s')
    constants.append(wire[end:])
    missing = len(values)  # index of the appended None
    pick = itemgetter(*(values.index(name) if name in values else missing for name in _VALUES))
    return _Layout(struct.Struct(''.join(formats)), tuple(constants), pick)


def _walk(wire: bytes, src: IPv6Address, dst: IPv6Address) -> CommonPbuReceived | None:
    """The common PBU in `wire`, or None when it is anything else (or malformed): option by option."""
    size = len(wire)
    if size < 16 or type(wire) is not bytes:  # (the options start at 12; Header Len counts 8 octets)
        return None
    proto, header_len, mh_type, _reserved, _checksum, sequence, flags, lifetime = _FIXED.unpack_from(wire)
    if proto != IPPROTO_NONE or mh_type != BINDING_UPDATE or flags != FLAGS_A_P or not lifetime or (header_len + 1) * 8 != size:
        return None
    identifier = ll_id = timestamp = None
    handoff = att = -1
    seen_prefix = False
    i = 12
    try:
        while i < size:
            kind = wire[i]
            if kind == _PAD1:
                i += 1
                continue
            end = i + 2 + wire[i + 1]  # IndexError: a type octet without its length
            if end > size:
                return None
            if kind == _MN_ID:
                if identifier is not None or end - i < 4 or wire[i + 2] != _NAI:
                    return None
                identifier = wire[i + 3:end]
            elif kind == _HNP:
                if seen_prefix or wire[i + 2:end] != _ALL_ZERO_PREFIX:
                    return None
                seen_prefix = True
            elif kind == _HI:
                if handoff >= 0 or end - i != 4:
                    return None
                handoff = wire[i + 3]
            elif kind == _ATT:
                if att >= 0 or end - i != 4:
                    return None
                att = wire[i + 3]
            elif kind == _LL_ID:
                if ll_id is not None or end - i < 4:
                    return None
                ll_id = wire[i + 4:end]
            elif kind == _TIMESTAMP:
                if timestamp is not None or end - i != 10:
                    return None
                timestamp = _U64.unpack_from(wire, i + 2)[0]
            elif kind != _PADN:
                return None
            i = end
    except IndexError:
        return None
    if identifier is None or not seen_prefix or handoff < 0 or att < 0:
        return None
    return _new_tuple(CommonPbuReceived, (sequence, lifetime * 4, identifier, handoff, att, ll_id, timestamp, src, dst, wire))


class _Template(NamedTuple):
    """A PBA layout the codec encoded once: its constant bytes between the variable fields, and
    one struct that packs them all (the fields in build_pba's option order)."""

    packer: struct.Struct
    constants: tuple[bytes, ...]  # before the MN-ID, the prefix, HI, ATT, [link-layer ID], [Timestamp]; the tail


MAX_TEMPLATES = 256  # option layouts (NAI length, link-layer identifier length, Timestamp or not)
_templates = Bounded[tuple[int, int, bool], _Template](lambda key: _template(*key), MAX_TEMPLATES)
_LOW64 = (1 << 64) - 1


def accepted_pba(pbu: CommonPbuReceived, prefix: IPv6Network, lifetime_s: int) -> bytes:
    """The PBA accepting `pbu` with one home network prefix: build_pba's options, the codec's bytes."""
    ll_id, timestamp = pbu.ll_id, pbu.timestamp
    key = (len(pbu.identifier), -1 if ll_id is None else len(ll_id), timestamp is not None)
    template = _templates.get(key) or _templates.remember(key)
    address = prefix.network_address._ip  # type: ignore[attr-defined]
    c = template.constants
    tail: tuple[Any, ...] = ()  # the optional fields after the ATT, each with the constant after it
    if ll_id is not None:
        tail = (ll_id, c[6])
    if timestamp is not None:
        tail += (timestamp, c[-1])
    return template.packer.pack(
        c[0], pbu.sequence, lifetime_s >> 2, c[1], pbu.identifier, c[2], prefix._prefixlen,  # type: ignore[attr-defined]
        address >> 64, address & _LOW64, c[3], pbu.handoff, c[4], pbu.att, c[5], *tail)


def _template(identifier_length: int, ll_id_length: int, timestamp: bool) -> _Template:
    """Encode a PBA of this layout (build_pba's option order) and cut it around its variable fields."""
    options: list[object] = [
        MobileNodeIdentifier(MNIdentifierSubtype.NAI, bytes(identifier_length)),
        HomeNetworkPrefix(0, IPv6Address(0)),
        HandoffIndicatorOption(0),
        AccessTechnologyTypeOption(0),
    ]
    if ll_id_length >= 0:
        options.append(MobileNodeLinkLayerIdentifier(bytes(ll_id_length)))
    if timestamp:
        options.append(Timestamp(0))
    wire = encode(BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 0, 0, tuple(options)))  # type: ignore[arg-type]
    at: dict[int, int] = {}
    i = 12  # after the MH header and the BA's fixed part
    while i < len(wire):
        if wire[i] == _PAD1:
            i += 1
            continue
        at.setdefault(wire[i], i)
        i += 2 + wire[i + 1]
    # Each variable field, in wire order, after the constant bytes before it (offset, size, format);
    # the lifetime follows the Sequence # directly, and the prefix its length octet.
    fields = [(8, 4, 'HH'), (at[_MN_ID] + 3, identifier_length, f'{identifier_length}s'),
              (at[_HNP] + 3, 17, 'BQQ'), (at[_HI] + 3, 1, 'B'), (at[_ATT] + 3, 1, 'B')]
    if ll_id_length >= 0:
        fields.append((at[_LL_ID] + 4, ll_id_length, f'{ll_id_length}s'))
    if timestamp:
        fields.append((at[_TIMESTAMP] + 2, 8, 'Q'))
    layout, constants, end = ['!'], [], 0
    for offset, size, kind in fields:
        constants.append(wire[end:offset])
        layout += (f'{offset - end}s', kind)
        end = offset + size
    constants.append(wire[end:])
    layout.append(f'{len(wire) - end}s')
    return _Template(struct.Struct(''.join(layout)), tuple(constants))
