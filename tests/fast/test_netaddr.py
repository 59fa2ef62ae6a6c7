"""HomePrefix4/HomePrefix6: equal to and hashed like the plain network, so either finds the other in a dict."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.fast.netaddr import HomePrefix4, HomePrefix6, address_int, ipv4_address, network_int, prefix_length


def test_home_prefix_is_interchangeable_with_a_plain_network() -> None:
    four = HomePrefix4(('10.1.2.3', 32))
    assert four == IPv4Network('10.1.2.3/32') and hash(four) == hash(IPv4Network('10.1.2.3/32'))
    index = {IPv4Network('10.1.2.3/32'): 'plain', four: 'home'}
    assert index == {four: 'home'} and index[IPv4Network('10.1.2.3/32')] == 'home'
    assert four != HomePrefix4('10.1.2.4/32') and str(four) == '10.1.2.3/32'
    assert repr(four) == "IPv4Network('10.1.2.3/32')"


def test_host_builds_the_same_slash_32_without_parsing() -> None:
    address = IPv4Address('192.0.2.77')
    fast, parsed = HomePrefix4.host(address), IPv4Network('192.0.2.77/32')
    assert fast == parsed and hash(fast) == hash(parsed) and str(fast) == '192.0.2.77/32'
    assert fast.network_address is address  # shared, not copied
    assert list(fast.hosts()) == list(parsed.hosts()) == [address]
    assert fast.prefixlen == 32 and fast.num_addresses == 1 and address in fast
    assert {parsed: 'x'}[fast] == 'x'


def test_home_prefix6_is_interchangeable_with_a_plain_network() -> None:
    for text in ('2001:db8:0:7::/64', '2001:db8::/48', '::/0', '2001:db8::4/126'):
        plain = IPv6Network(text)
        fast = HomePrefix6.of(int(plain.network_address), plain.prefixlen)
        assert fast == plain and hash(fast) == hash(plain) and str(fast) == text
        assert repr(fast) == f"IPv6Network('{text}')"
        assert fast.num_addresses == plain.num_addresses and fast.broadcast_address == plain.broadcast_address
        assert {plain: 1}[fast] == 1 and fast in {plain} and plain.network_address in fast


def test_home_prefix6_falls_back_to_the_checking_constructor() -> None:
    # /127 and /128 (the parser adds `hosts`), and bad input, go through IPv6Network's own checks.
    assert HomePrefix6.of(1, 128) == IPv6Network('::1/128') and list(HomePrefix6.of(1, 128).hosts()) == [IPv6Address('::1')]
    assert HomePrefix6.of(0, 127) == IPv6Network('::/127')
    with pytest.raises(ValueError):
        HomePrefix6.of(1, 64)  # host bits set
    with pytest.raises(ValueError):
        HomePrefix6.of(0, 129)
    with pytest.raises(ValueError):
        HomePrefix6.of(1 << 128, 64)


def test_ipv4_address_builds_a_plain_address() -> None:
    for value in (0, 1, 0x0A000005, 0xFFFFFFFF):
        fast = ipv4_address(value)
        assert type(fast) is IPv4Address and fast == IPv4Address(value) and hash(fast) == hash(IPv4Address(value))
        assert str(fast) == str(IPv4Address(value)) and fast.packed == IPv4Address(value).packed
    with pytest.raises(ValueError):
        ipv4_address(1 << 32)  # out of range: the checking constructor's error
    with pytest.raises(ValueError):
        ipv4_address(-1)


@st.composite
def networks(draw: st.DrawFn) -> IPv4Network | IPv6Network:
    """Plain networks of both versions, and the fast types' (the reads must agree on all of them)."""
    bits = draw(st.sampled_from((32, 128)))
    length = draw(st.integers(0, bits))
    value = draw(st.integers(0, 2**bits - 1)) >> (bits - length) << (bits - length) if length else 0
    kind = draw(st.sampled_from(('plain', 'fast')))
    if bits == 32:
        return HomePrefix4((value, length)) if kind == 'fast' else IPv4Network((value, length))
    return HomePrefix6.of(value, length) if kind == 'fast' else IPv6Network((value, length))


@settings(deadline=None)  # timings vary on a shared machine
@given(networks())
def test_the_reads_of_internals_equal_the_public_attributes(network: IPv4Network | IPv6Network) -> None:
    assert prefix_length(network) == network.prefixlen
    assert network_int(network) == int(network.network_address)
    assert address_int(network.network_address) == int(network.network_address)
    assert address_int(network.netmask) == int(network.netmask)
