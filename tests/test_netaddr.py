"""HomePrefix4: equal to and hashed like the plain network, so either finds the other in a dict."""

from __future__ import annotations

from ipaddress import IPv4Network

from pmiprouter.netaddr import HomePrefix4


def test_home_prefix_is_interchangeable_with_a_plain_network() -> None:
    four = HomePrefix4(('10.1.2.3', 32))
    assert four == IPv4Network('10.1.2.3/32') and hash(four) == hash(IPv4Network('10.1.2.3/32'))
    index = {IPv4Network('10.1.2.3/32'): 'plain', four: 'home'}
    assert index == {four: 'home'} and index[IPv4Network('10.1.2.3/32')] == 'home'
    assert four != HomePrefix4('10.1.2.4/32') and str(four) == '10.1.2.3/32'
    assert repr(four) == "IPv4Network('10.1.2.3/32')"
