"""A binding's journal row: `entry_to_text` (pmiprouter/fast/rows.py) writes exactly what json.dumps
writes of `entry_to_record` (the reference), and the row brings the entry back."""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.fast import rows
from pmiprouter.core.binding_cache import BceState, BindingCacheEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.persistence import entry_from_record, entry_to_record
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.fast.netaddr import HomePrefix6
from pmiprouter.fast.rows import entry_to_text

ipv6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))
ipv4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))


@st.composite
def prefixes(draw: st.DrawFn) -> IPv6Network:
    length = draw(st.integers(0, 128))
    value = draw(st.integers(0, 2**128 - 1)) >> (128 - length) << (128 - length) if length else 0
    return HomePrefix6.of(value, length) if draw(st.booleans()) else IPv6Network((value, length))


times = st.floats(allow_nan=False) | st.integers(0, 2**52)  # int times: tests and callers may pass them
entries = st.builds(
    BindingCacheEntry,
    binding_id=st.integers(0, 2**63),
    mn_id=st.builds(MobileNodeIdentifier, st.sampled_from(list(MNIdentifierSubtype)) | st.integers(0, 255),
                    st.binary(max_size=40)),
    att=st.integers(0, 255),
    mn_ll_id=st.binary(max_size=8),
    handoff=st.integers(0, 255),
    proxy_coa=ipv6 | ipv4,
    local=ipv6 | ipv4,
    transport=st.sampled_from(list(Transport)),
    sport=st.none() | st.integers(0, 65535),
    hnps=st.lists(prefixes(), max_size=3).map(tuple),
    ipv4=st.none() | st.builds(Ipv4HomeAddress, ipv4, st.integers(0, 32)),
    ipv4_router=st.none() | ipv4,
    link_local=st.none() | ipv6,
    lifetime_s=st.integers(0, 2**32),
    expires_at=times,
    timestamp=st.none() | st.integers(0, 2**64 - 1),
    sequence=st.integers(0, 65535),
    gre_key_out=st.none() | st.integers(0, 2**32 - 1),
    use_gre=st.booleans(),
    tlv=st.booleans(),
    udp=st.booleans(),
    state=st.sampled_from(list(BceState)),
    registered_at=times,
)


def compact(row: list[Any]) -> str:
    """The JSON text entry_to_text writes of a row (no spaces after the separators)."""
    return json.dumps(row, separators=(',', ':'))


def restored(entry: BindingCacheEntry) -> BindingCacheEntry:
    """What a restore should give back: the entry itself (one being programmed comes back active)."""
    return replace(entry, state=BceState.ACTIVE) if entry.state is BceState.PROGRAMMING else entry


@settings(max_examples=400, deadline=None)
@given(entries)
def test_the_fast_text_is_the_rows_json(entry: BindingCacheEntry) -> None:
    assert entry_to_text(entry) == compact(entry_to_record(entry))


@settings(max_examples=400, deadline=None)
@given(entries)
def test_a_row_brings_the_entry_back(entry: BindingCacheEntry) -> None:
    assert entry_from_record(json.loads(entry_to_text(entry))) == restored(entry)


FORMAT_2_ROW = [7, 1, '6d6e31406578616d706c652e636f6d', 3, '000000000001', 1, '2001:db8:12::1', '2001:db8:12::2', 'ipv6',
                None, [[42540766411282592856903984951653826560, 64]], [167772162, 8], 167772161, None, 3600,
                1790003600.125, None, 5, None, False, False, False, 'active', 1790000000.5]


def test_addresses_are_formatted_by_identity_within_a_bound(monkeypatch: Any) -> None:
    """Each row gets its own address's text, however many address objects come and go: the table
    holds the addresses it knows (their ids stay theirs) and starts over at its bound, after which
    a new address can take a forgotten one's id."""
    monkeypatch.setattr(rows._address_json, 'bound', 8)
    (entry,) = [entry_from_record(FORMAT_2_ROW)]
    seen = set()
    for value in range(300):
        coa = IPv6Address(value) if value % 2 else IPv4Address(value)
        seen.add(id(coa))
        assert json.loads(entry_to_text(replace(entry, proxy_coa=coa)))[6] == str(coa)
        assert len(rows._address_json) <= 8
        del coa
    assert len(seen) < 300  # ids were reused after the table started over


# The daemon's times: wall-clock floats of this century, each binding expiring a whole number of
# seconds after it registered (entry_to_text derives the expiry's text from the registration's).
daemon_times = st.floats(2.0**30 - 10_000, 2.0**31 + 10_000) | st.integers(2**52, 2**53 - 1).map(lambda m: m / 2**22)


@settings(max_examples=1000, deadline=None)
@given(entries, daemon_times, st.integers(0, 2**20) | st.sampled_from([0, 1, 3600, 65535 * 4]))
def test_an_expiry_whole_seconds_after_the_registration_is_the_rows_json(
        entry: BindingCacheEntry, registered_at: float, lifetime_s: int) -> None:
    entry = replace(entry, registered_at=registered_at, expires_at=registered_at + lifetime_s, lifetime_s=lifetime_s)
    assert entry_to_text(entry) == compact(entry_to_record(entry))


def test_times_at_the_edges_of_the_derived_expiry_text() -> None:
    """Whole seconds, the ends of [2**30, 2**31), an expiry past it, halfway fractions and the
    registration times of a real clock: each row is what json writes."""
    entry = entry_from_record(FORMAT_2_ROW)
    base = [2.0**30, 2.0**30 + 2**-22, 2.0**31 - 2**-22, 2.0**31 - 3600.5, 1790000000.0, 1790000000.5,
            1790000000.00390625, 1790000000.0000002, 1764258913.4831455, 2.0**31, 2.0**30 - 2**-23]
    for registered_at in base:
        for lifetime_s in (0, 1, 3599, 3600, 86400):
            for expires_at in (registered_at + lifetime_s, registered_at + lifetime_s + 2**-22, registered_at + 0.5):
                changed = replace(entry, registered_at=registered_at, expires_at=expires_at, lifetime_s=lifetime_s)
                assert entry_to_text(changed) == compact(entry_to_record(changed)), (registered_at, expires_at)


def test_small_numbers_out_of_their_byte_range_take_the_encoder() -> None:
    """A row restored from a file may hold any number where the wire has a byte: still its JSON."""
    entry = entry_from_record(FORMAT_2_ROW)
    for changed in (replace(entry, att=300), replace(entry, handoff=-1),
                    replace(entry, mn_id=MobileNodeIdentifier(1000, b'mn')),
                    replace(entry, ipv4=Ipv4HomeAddress(IPv4Address(1), 400)),
                    replace(entry, hnps=(IPv6Network('2001:db8::/64'), IPv6Network('2001:db8:1::/48')))):
        assert entry_to_text(changed) == compact(entry_to_record(changed))
    assert entry_to_text(entry) == compact(entry_to_record(entry))
