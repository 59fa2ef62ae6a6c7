"""Cross-field checks of a `RouterConfig`, returned as a list of problems.

Pure module. Per-value checks (ranges, address syntax) happen in the parser; here are
the rules that involve several commands: references between blocks, overlapping pools
and prefixes, timer orderings. The loader maps each problem's `anchor` (the path of the
block at fault) back to the file line that opened that block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from pmiprouter.config.model import DomainConfig, LmaConfig, MagConfig, RouterConfig, find

Anchor = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Problem:
    """One configuration error and the block it belongs to."""

    message: str
    anchor: Anchor = ()


def _overlaps(prefixes: Sequence[tuple[str, IPv6Network | IPv4Network]]) -> list[tuple[str, str]]:
    """Every pair of overlapping prefixes of one family, in the order of
    `itertools.combinations(prefixes, 2)`.

    Two prefixes overlap only when one contains the other, so a sweep in address order
    with a stack of the enclosing prefixes finds the pairs in O(n log n + pairs) instead of
    testing all n^2/2 pairs (20,000 MN profiles with an HNP each took minutes).
    """
    # (family, first address, length, last address, index); the last address is computed,
    # not read from `broadcast_address`, which would build an address object per prefix.
    spans = sorted(
        (net.version, first, net.prefixlen, first + (1 << (net.max_prefixlen - net.prefixlen)) - 1, i)
        for i, (_, net) in enumerate(prefixes)
        for first in (int(net.network_address),)
    )
    pairs: list[tuple[int, int]] = []
    enclosing: list[tuple[int, int, int]] = []  # (family, last address, index), each inside the one below
    for version, first, _, last, i in spans:
        while enclosing and (enclosing[-1][0] != version or enclosing[-1][1] < first):
            enclosing.pop()
        for _, _, j in enclosing:
            pairs.append((min(i, j), max(i, j)))
        enclosing.append((version, last, i))
    return [(prefixes[i][0], prefixes[j][0]) for i, j in sorted(pairs)]


def _domain(domain: DomainConfig) -> list[Problem]:
    out = []
    anchor: Anchor = (('domains', domain.name),)
    for attr, role in (('lmas', 'LMA'), ('mags', 'MAG')):
        for peer in getattr(domain, attr):
            if peer.ipv6_address is None and peer.ipv4_address is None:
                message = f'{role} peer {peer.name} of domain {domain.name} has no address'
                out.append(Problem(message, anchor + ((attr, peer.name),)))
    hnps = [(p.identifier, prefix) for p in domain.mn_profiles for prefix in p.hnps]
    for a, b in _overlaps(hnps):
        out.append(Problem(f'Domain {domain.name}: home network prefixes of {a} and {b} overlap', anchor))
    for profile in domain.mn_profiles:
        where = anchor + (('mn_profiles', profile.key),)
        who = f'Profile {profile.identifier}'
        if profile.ipv4_home_address is not None and profile.service == 'ipv6':
            out.append(Problem(f'{who}: ipv4-address needs service ipv4 or dual', where))
        if profile.hnps and profile.service == 'ipv4':
            out.append(Problem(f'{who}: hnp needs service ipv6 or dual', where))
        if profile.lma is not None and find(domain.lmas, profile.lma) is None:
            out.append(Problem(f'{who}: LMA {profile.lma} is not a peer of domain {domain.name}', where))
    return out


def _lma(cfg: RouterConfig, lma: LmaConfig) -> list[Problem]:
    anchor: Anchor = (('lmas', lma.name),)
    out = []
    if find(cfg.domains, lma.domain) is None:
        out.append(Problem(f'LMA {lma.name}: domain {lma.domain} is not configured', anchor))
    if lma.ipv6_address is None and lma.ipv4_address is None:
        out.append(Problem(f'LMA {lma.name} has no address (address ipv6 X:X:X:X::X)', anchor))
    pools: list[tuple[str, IPv6Network | IPv4Network]] = [(p.name, p.prefix) for p in lma.ipv6_pools]
    pools += [(p.name, p.prefix) for p in lma.ipv4_pools]
    for a, b in _overlaps(pools):
        out.append(Problem(f'LMA {lma.name}: pools {a} and {b} overlap', anchor))
    if lma.bce_refresh_time_s > lma.bce_lifetime_s:
        out.append(Problem(f'LMA {lma.name}: bce refresh-time exceeds bce lifetime', anchor))
    if lma.bri_min_delay_ms > lma.bri_max_delay_ms:
        out.append(Problem(f'LMA {lma.name}: bri delay min exceeds bri delay max', anchor))
    return out


def _mag(cfg: RouterConfig, mag: MagConfig) -> list[Problem]:
    anchor: Anchor = (('mags', mag.name),)
    out = []
    domain = find(cfg.domains, mag.domain)
    if domain is None:
        out.append(Problem(f'MAG {mag.name}: domain {mag.domain} is not configured', anchor))
    if mag.ipv6_address is None and mag.ipv4_address is None:
        out.append(Problem(f'MAG {mag.name} has no address (address ipv6 X:X:X:X::X)', anchor))
    if not mag.interfaces:
        out.append(Problem(f'MAG {mag.name} has no access interface (interface IFNAME)', anchor))
    if mag.lma is None:
        out.append(Problem(f'MAG {mag.name} has no LMA (lma NAME DOMAIN)', anchor))
    else:
        lma_domain = find(cfg.domains, mag.lma_domain)
        if lma_domain is None:
            message = f'MAG {mag.name}: domain {mag.lma_domain} of LMA {mag.lma} is not configured'
            out.append(Problem(message, anchor))
        elif find(lma_domain.lmas, mag.lma) is None:
            message = f'MAG {mag.name}: LMA {mag.lma} is not a peer of domain {mag.lma_domain}'
            out.append(Problem(message, anchor))
    if mag.binding_init_retx_time_ms > mag.binding_max_retx_time_ms:
        out.append(Problem(f'MAG {mag.name}: binding init-retx-time exceeds binding max-retx-time', anchor))
    if mag.binding_refresh_time_s > mag.binding_lifetime_s:
        out.append(Problem(f'MAG {mag.name}: binding refresh-time exceeds binding lifetime', anchor))
    return out


def validate(cfg: RouterConfig) -> list[Problem]:
    """Every cross-field problem of `cfg` (empty when the configuration is usable)."""
    problems: list[Problem] = []
    for domain in cfg.domains:
        problems += _domain(domain)
    for lma in cfg.lmas:
        problems += _lma(cfg, lma)
    for mag in cfg.mags:
        problems += _mag(cfg, mag)
    return problems
