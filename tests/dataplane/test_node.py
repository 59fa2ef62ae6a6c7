"""The standalone node's spec loader: prefixes parsed in C, equal to (and as strict as) `ipaddress`'s."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.dataplane.node import load_specs, prefix6


@given(st.integers(0, (1 << 128) - 1), st.integers(0, 128))
def test_a_prefix_equals_and_hashes_as_the_parsed_network(value: int, length: int) -> None:
    network = IPv6Network((value, length), strict=False)
    text = str(network) if value % 2 else f'{IPv6Address(int(network.network_address)).exploded}/{length}'
    parsed = prefix6(text)
    assert parsed == network and hash(parsed) == hash(network) and str(parsed) == str(network)


@pytest.mark.parametrize('text', ['2001:db8::1/64', '2001:db8::/129', '2001:db8::/', '2001:db8::/ 64', 'x/64', '10.0.0.0/8'])
def test_what_ipaddress_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        IPv6Network(text)
    with pytest.raises(ValueError):
        prefix6(text)


def test_an_address_without_length_is_a_host_prefix() -> None:
    assert prefix6('2001:db8::1') == IPv6Network('2001:db8::1/128')


def test_load_specs_builds_the_mns_on_their_tunnels() -> None:
    doc = {'tunnels': [{'local': '2001:db8:1::2', 'remote': '2001:db8:1::1', 'mode': 'ip6any'}],
           'mns': [{'role': 'lma', 'tunnel': 0, 'hnps': ['2001:db8:a1::/64', '2001:db8:a2::/64'], 'ipv4_hoa': '10.0.0.2'}]}
    state = load_specs(doc)
    (mn,) = state.mn_routes
    assert mn.tunnel in state.tunnels and [str(p) for p in mn.prefixes] == ['2001:db8:a1::/64', '2001:db8:a2::/64', '10.0.0.2/32']
