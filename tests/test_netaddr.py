"""HomePrefix6/4: equal to and hashed like the plain networks, so either finds the other in a dict."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pmiprouter.netaddr import HomePrefix4, HomePrefix6


def test_home_prefixes_are_interchangeable_with_plain_networks() -> None:
    six, four = HomePrefix6('2001:db8:0:7::/64'), HomePrefix4(('10.1.2.3', 32))
    assert six == IPv6Network('2001:db8:0:7::/64') and hash(six) == hash(IPv6Network('2001:db8:0:7::/64'))
    assert four == IPv4Network('10.1.2.3/32') and hash(four) == hash(IPv4Network('10.1.2.3/32'))
    index = {IPv6Network('2001:db8:0:7::/64'): 'plain', six: 'home'}
    assert index == {six: 'home'} and index[IPv6Network('2001:db8:0:7::/64')] == 'home'
    assert six != HomePrefix6('2001:db8:0:8::/64') and str(six) == '2001:db8:0:7::/64'
    assert repr(six) == "IPv6Network('2001:db8:0:7::/64')" and repr(four) == "IPv4Network('10.1.2.3/32')"
