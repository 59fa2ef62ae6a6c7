"""The addresses the tests share: one plan, from the documentation ranges (RFC 3849, RFC 5737).

Import from here where a test means "the MAG", "the LMA" or "the MN's prefix" of the common
plan. A test that needs an address to be different (another link, another pool, a foreign
network) keeps its own, with a name that says so.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

# The protocol plan (core engines, codec, runtime): the LMA and its MAGs on different networks.
LMAA = IPv6Address('2001:db8:2::1')  # the LMA Address (RFC 5213's LMAA)
LMAA4 = IPv4Address('198.51.100.1')  # the LMA's IPv4 address (RFC 5844: IPv4 transport)
MAG1 = IPv6Address('2001:db8:1::1')  # the MAG's Proxy-CoA
MAG2 = IPv6Address('2001:db8:1::2')  # a second MAG, the one an MN hands over to
MAG1_V4 = IPv4Address('192.0.2.1')  # MAG1's IPv4 Proxy-CoA

# What the LMA hands out: the first two /64s of its pool 2001:db8:aaaa::/48, and the first
# address of its IPv4 pool 10.1.0.0/24 behind the pool's default router.
HNP1 = IPv6Network('2001:db8:aaaa::/64')
HNP2 = IPv6Network('2001:db8:aaaa:1::/64')
HOA_ADDRESS = IPv4Address('10.1.0.2')
HOA_PREFIX_LENGTH = 24
ROUTER = IPv4Address('10.1.0.1')
