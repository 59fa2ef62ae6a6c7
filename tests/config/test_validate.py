"""Cross-field validation of the configuration model."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from pmiprouter.config.load import replay
from pmiprouter.config.model import DomainConfig, MnProfile, PeerConfig, RouterConfig
from pmiprouter.config.validate import validate

GOOD = """\
ipv6 mobile pmipv6-domain D
 lma L
  ipv6-address 2001:db8::1
 !
!
ipv6 mobile pmipv6-lma L domain D
 address ipv6 2001:db8::1
 pool ipv6 A prefix 2001:db8:100::/48 pfxlen 64
!
ipv6 mobile pmipv6-mag M domain D
 address ipv6 2001:db8::2
 interface eth0
 lma L D
!
"""


def messages(text: str) -> list[str]:
    """Validation messages for a config typed as `text` (which must parse)."""
    config, errors, _ = replay(text)
    assert errors == []
    return [p.message for p in validate(config)]


def test_good_config_has_no_problem() -> None:
    """An LMA and a MAG wired to each other validate cleanly."""
    assert messages(GOOD) == []


def test_overlapping_pools() -> None:
    """Two HNP pools that overlap are reported."""
    text = GOOD.replace(' pfxlen 64\n', ' pfxlen 64\n pool ipv6 B prefix 2001:db8:100:8000::/49\n')
    assert messages(text) == ['LMA L: pools A and B overlap']


def test_mag_without_lma() -> None:
    """A MAG with no `lma NAME DOMAIN` is reported."""
    assert messages(GOOD.replace(' lma L D\n', '')) == ['MAG M has no LMA (lma NAME DOMAIN)']


def test_mag_lma_must_be_a_domain_peer() -> None:
    """`lma X D` must name an LMA peer of domain D."""
    assert messages(GOOD.replace(' lma L D\n', ' lma X D\n')) == ['MAG M: LMA X is not a peer of domain D']


def test_roles_need_a_configured_domain_and_an_address() -> None:
    """An LMA in an unknown domain without an address gets both problems."""
    assert messages('ipv6 mobile pmipv6-lma L domain NOPE\n') == [
        'LMA L: domain NOPE is not configured',
        'LMA L has no address (address ipv6 X:X:X:X::X)',
    ]


def test_timer_orderings() -> None:
    """Initial retransmission above the maximum, refresh above lifetime: both reported."""
    text = GOOD.replace(' lma L D\n', ' lma L D\n binding init-retx-time 5000\n binding max-retx-time 4000\n')
    text = text.replace(' pfxlen 64\n', ' pfxlen 64\n bce lifetime 100\n bce refresh-time 200\n')
    assert messages(text) == [
        'LMA L: bce refresh-time exceeds bce lifetime',
        'MAG M: binding init-retx-time exceeds binding max-retx-time',
    ]


def test_mn_profile_checks() -> None:
    """Overlapping HNPs between MNs, IPv4 HoA under IPv6-only service, unknown LMA."""
    domain = DomainConfig(
        name='D',
        lmas=(PeerConfig('L', IPv6Address('2001:db8::1')),),
        mn_profiles=(
            MnProfile('nai', 'a@x', hnps=(IPv6Network('2001:db8:1::/48'),)),
            MnProfile('nai', 'b@x', lma='Z', hnps=(IPv6Network('2001:db8:1:1::/64'),)),
        ),
    )
    assert [p.message for p in validate(RouterConfig(domains=(domain,)))] == [
        'Domain D: home network prefixes of a@x and b@x overlap',
        'Profile b@x: LMA Z is not a peer of domain D',
    ]


def test_peer_without_address() -> None:
    """A domain peer needs an IPv6 or IPv4 address."""
    domain = DomainConfig(name='D', mags=(PeerConfig('M'),))
    assert [p.message for p in validate(RouterConfig(domains=(domain,)))] == ['MAG peer M of domain D has no address']
