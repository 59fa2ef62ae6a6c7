"""The common PBU read from bytes and its PBA written as bytes agree with the codec and build_pba."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from pmiprouter.fast import common_pbu
from pmiprouter.fast.common_pbu import read_common_pbu
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.pba import Grant, build_pba
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BindingUpdate,
    BUFlags,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
    decode,
    encode,
)
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.iana import BAStatus, MNIdentifierSubtype
from pmiprouter.mh.option import UnknownOption
from tests.core.harness import LMAA, MAG1, pbu, policy

_OPTIONS = st.fixed_dictionaries({
    'nai': st.one_of(st.none(), st.binary(min_size=0, max_size=40)),
    'subtype': st.sampled_from([MNIdentifierSubtype.NAI, MNIdentifierSubtype.EUI_48, 7]),
    'hnps': st.lists(st.sampled_from(['::/0', '2001:db8:aaaa:1::/64', '::/64']), max_size=2),
    'hi': st.one_of(st.none(), st.integers(0, 255)),
    'att': st.one_of(st.none(), st.integers(0, 255)),
    'll_id': st.one_of(st.none(), st.binary(max_size=10)),
    'ts': st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    'extra': st.sampled_from([(), (LinkLocalAddress(IPv6Address('fe80::1')),), (UnknownOption(200, b'xy'),)]),
})


def _message(fields: dict, flags: BUFlags, lifetime: int, order: random.Random) -> BindingUpdate:
    options: list[object] = []
    if fields['nai'] is not None:
        options.append(MobileNodeIdentifier(fields['subtype'], fields['nai']))
    options += [HomeNetworkPrefix.of(p) for p in fields['hnps']]
    if fields['hi'] is not None:
        options.append(HandoffIndicatorOption(fields['hi']))
    if fields['att'] is not None:
        options.append(AccessTechnologyTypeOption(fields['att']))
    if fields['ll_id'] is not None:
        options.append(MobileNodeLinkLayerIdentifier(fields['ll_id']))
    if fields['ts'] is not None:
        options.append(Timestamp(fields['ts']))
    options += fields['extra']
    order.shuffle(options)
    return BindingUpdate(7, flags, lifetime, tuple(options))  # type: ignore[arg-type]


@settings(deadline=None, max_examples=400)
@given(
    fields=_OPTIONS,
    flags=st.sampled_from([BUFlags.A | BUFlags.P, BUFlags.P, BUFlags.A, BUFlags.A | BUFlags.P | BUFlags.F]),
    lifetime=st.sampled_from([0, 4, 600, 262140]),
    seed=st.integers(0, 1000),
    flip=st.one_of(st.none(), st.tuples(st.integers(0, 200), st.integers(0, 255))),
)
def test_read_common_pbu_accepts_only_what_the_codec_reads_the_same(
    fields: dict, flags: BUFlags, lifetime: int, seed: int, flip: tuple[int, int] | None
) -> None:
    """Whatever the bytes (including corrupted ones), a wire read as common decodes, and the
    parsed request has exactly the values read; anything else is left to the codec."""
    wire = bytearray(encode(_message(fields, flags, lifetime, random.Random(seed))))
    if flip is not None and flip[0] < len(wire):
        wire[flip[0]] = flip[1]
    common = read_common_pbu(bytes(wire), MAG1, LMAA)
    if common is None:
        return
    message = decode(bytes(wire))  # raises if the common reader accepted something malformed
    request = ProxyRegistration.parse(MessageReceived(MAG1, LMAA, message, Transport.IPV6))
    assert type(message) is BindingUpdate and message.is_proxy and int(message.flags) == 0x8200
    assert request.mn_id is not None and request.mn_id.subtype is MNIdentifierSubtype.NAI
    assert request.mn_id.identifier == common.identifier
    assert [h.is_all_zero for h in request.hnps] == [True] and not request.ipv4_requests and request.gre_key is None
    assert (request.handoff, request.att, request.timestamp) == (common.handoff, common.att, common.timestamp)
    assert (request.sequence, request.lifetime_s) == (common.sequence, common.lifetime_s) and common.lifetime_s > 0
    assert request.link_local is None and len(message.options) == 4 + (common.ll_id is not None) + (common.timestamp is not None)
    assert (request.mn_ll_id or b'') == common.mn_ll_id
    assert (request.mn_ll_id_option.identifier if request.mn_ll_id_option else None) == common.ll_id
    assert common.decoded() == MessageReceived(MAG1, LMAA, message, Transport.IPV6)  # the event carries its datagram


_COMMON_OPTIONS = st.fixed_dictionaries({  # every PBU common (the flips make the near misses)
    'nai': st.binary(min_size=1, max_size=40),
    'subtype': st.just(MNIdentifierSubtype.NAI),
    'hnps': st.just(['::/0']),
    'hi': st.integers(0, 255),
    'att': st.integers(0, 255),
    'll_id': st.one_of(st.none(), st.binary(max_size=10)),
    'ts': st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    'extra': st.just(()),
})


@settings(deadline=None, max_examples=400)
@given(
    fields=_COMMON_OPTIONS,
    seed=st.integers(0, 1000),
    flips=st.lists(st.tuples(st.integers(0, 90), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_a_learned_layout_reads_what_the_walk_reads(fields: dict, seed: int, flips: list[tuple[int, int]]) -> None:
    """Once a PBU taught its layout, any wire of that size and first option length (a later PBU,
    or the same one corrupted) reads exactly as the option-by-option walk reads it."""
    clean = encode(_message(fields, BUFlags.A | BUFlags.P, 600, random.Random(seed)))
    assert read_common_pbu(clean, MAG1, LMAA) is not None  # and its layout is learned
    wire = bytearray(clean)
    for at, value in flips:
        if at < len(wire):
            wire[at] = value
    assert read_common_pbu(bytes(wire), MAG1, LMAA) == common_pbu._walk(bytes(wire), MAG1, LMAA)


@pytest.mark.parametrize('timestamp', [None, 2**63 + 5])
def test_later_pbus_of_a_layout_are_read_without_the_walk(monkeypatch: pytest.MonkeyPatch, timestamp: int | None) -> None:
    def message(nai: str, seq: int, ll_id: bytes, ts: int | None) -> bytes:
        options: list[object] = [MobileNodeIdentifier.nai(nai), HomeNetworkPrefix.of('::/0'), HandoffIndicatorOption(1),
                                 AccessTechnologyTypeOption(4), MobileNodeLinkLayerIdentifier(ll_id)]
        if ts is not None:
            options.append(Timestamp(ts))
        return encode(BindingUpdate.proxy(seq, 600, tuple(options)))  # type: ignore[arg-type]

    first = read_common_pbu(message('mn001@example.com', 1, b'\1' * 6, timestamp), MAG1, LMAA)
    assert first is not None

    def no_walk(wire: bytes) -> None:
        raise AssertionError('walked a PBU of a known layout')

    monkeypatch.setattr(common_pbu, '_walk', no_walk)
    later = read_common_pbu(message('mn002@example.com', 65535, b'\2' * 6, None if timestamp is None else timestamp + 1), MAG1, LMAA)
    assert later is not None and later[:7] == (65535, 600, b'mn002@example.com', 1, 4, b'\2' * 6, None if timestamp is None else timestamp + 1)
    assert (later.src, later.dst) == (MAG1, LMAA)


def test_read_common_pbu_reads_a_mags_pbu() -> None:
    common = read_common_pbu(encode(pbu(seq=9, lifetime=600)), MAG1, LMAA)
    assert common is not None
    assert (common.sequence, common.lifetime_s, common.identifier, common.handoff, common.att) == (9, 600, b'mn1@example.com', 1, 3)
    assert common.ll_id == bytes.fromhex('001122334455') and common.timestamp is not None


def test_read_common_pbu_leaves_other_shapes_to_the_codec() -> None:
    """A prefix to keep, a second HNP, no HI, a zero lifetime, junk: not common."""
    assert read_common_pbu(encode(pbu(hnps=('2001:db8:aaaa:1::/64',))), MAG1, LMAA) is None
    assert read_common_pbu(encode(pbu(hnps=('::/0', '::/0'))), MAG1, LMAA) is None
    assert read_common_pbu(encode(pbu(hi=None)), MAG1, LMAA) is None
    assert read_common_pbu(encode(pbu(lifetime=0)), MAG1, LMAA) is None
    assert read_common_pbu(b'\x3b\x01\x05', MAG1, LMAA) is None
    truncated = encode(pbu())[:-8]
    assert read_common_pbu(truncated, MAG1, LMAA) is None
    try:
        decode(truncated)
    except DecodeError:
        pass
    else:
        raise AssertionError('the codec accepted a truncated PBU')


@settings(deadline=None, max_examples=200)
@given(
    nai_length=st.integers(1, 60),
    ll_id=st.one_of(st.none(), st.binary(max_size=12)),
    ts=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    hi=st.integers(0, 255),
    att=st.integers(0, 255),
    sequence=st.integers(0, 65535),
    lifetime=st.integers(1, 65535).map(lambda units: units * 4),
    prefix=st.integers(0, 2**64 - 1),
)
def test_accepted_pba_is_build_pba_encoded(
    nai_length: int, ll_id: bytes | None, ts: int | None, hi: int, att: int, sequence: int, lifetime: int, prefix: int
) -> None:
    """Byte for byte the PBA build_pba and the codec make for the same PBU and grant."""
    from pmiprouter.fast.common_pbu import accepted_pba

    options: list[object] = [MobileNodeIdentifier.nai('n' * nai_length), HomeNetworkPrefix.of('::/0'),
                             HandoffIndicatorOption(hi), AccessTechnologyTypeOption(att)]
    if ll_id is not None:
        options.append(MobileNodeLinkLayerIdentifier(ll_id))
    if ts is not None:
        options.append(Timestamp(ts))
    wire = encode(BindingUpdate.proxy(sequence, lifetime, tuple(options)))  # type: ignore[arg-type]
    common = read_common_pbu(wire, MAG1, LMAA)
    assert common is not None
    granted = IPv6Network((prefix << 64, 64))
    request = ProxyRegistration.parse(MessageReceived(MAG1, LMAA, decode(wire), Transport.IPV6))
    grant = Grant(lifetime, (granted,), None, None, None, None, False, False, False, None)
    expected = encode(build_pba(request, BAStatus.ACCEPTED, 0.0, grant))
    assert accepted_pba(common, granted, lifetime) == expected


def test_common_registration_leaves_what_it_cannot_open_untouched() -> None:
    """A known MN, an unknown one, an unauthorized MAG: None, and the engine's state unchanged."""
    lma = LocalMobilityAnchor(policy(use_timestamps=False))
    unknown = read_common_pbu(encode(pbu(nai='nobody@example.com')), MAG1, LMAA)
    assert unknown is not None
    assert lma.common.register(unknown, 0.0) is None
    unauthorized = read_common_pbu(encode(pbu()), IPv6Address('2001:db8:9::9'), LMAA)
    assert unauthorized is not None
    assert lma.common.register(unauthorized, 0.0) is None
    assert (len(lma.cache), lma.revision, sum(lma.stats.received.values())) == (0, 0, 0)
    common = read_common_pbu(encode(pbu()), MAG1, LMAA)
    assert common is not None
    assert lma.common.register(common, 0.0) is not None
    (entry,) = lma.bindings()
    assert entry.hnps[0].subnet_of(IPv6Network('2001:db8:aaaa::/48'))
    assert lma.common.register(common, 0.0) is None  # the MN has a binding now: the general path's
