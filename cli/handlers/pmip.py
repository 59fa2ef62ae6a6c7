"""PMIPv6 configuration handlers: domain, LMA role, MAG role, MN profiles (RFC 5213).

Pure module. Mode-entering commands create the object if needed and push a frame whose
path addresses it; the sub-mode commands then edit "the current object" through
`edit.current`, mostly via the generic setters of `edit.py`.
"""

from __future__ import annotations

import dataclasses

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.edit import Path, current, get, put, update
from pmiprouter.cli.tree import Handler, Invocation
from pmiprouter.config.model import (
    AccessInterface,
    DomainConfig,
    Ipv4Pool,
    Ipv6Pool,
    LmaConfig,
    MagConfig,
    MnProfile,
    PeerConfig,
    default_of,
    find,
    remove,
)

DOMAIN_MODE = 'config-ipv6-pmipv6-domain'
DOMAIN_LMA_MODE = 'config-ipv6-pmipv6-domain-lma'
DOMAIN_MAG_MODE = 'config-ipv6-pmipv6-domain-mag'
MN_MODE = 'config-ipv6-pmipv6-domain-mn'
LMA_MODE = 'config-ipv6-pmipv6-lma'
MAG_MODE = 'config-ipv6-pmipv6-mag'


def _remove_child(inv: Invocation, parent_path: Path, attr: str, key: object, what: str) -> None:
    parent = get(inv.session.config, parent_path)
    items = getattr(parent, attr)
    if find(items, key) is None:
        raise CommandError(f'{what} does not exist')
    changed = dataclasses.replace(parent, **{attr: remove(items, key)})
    inv.session.config = put(inv.session.config, parent_path, changed)


def _enter(inv: Invocation, path: Path, new: object, mode: str) -> None:
    """Create the object at `path` unless it exists, then enter `mode` on it."""
    if get(inv.session.config, path) is None:
        inv.session.config = put(inv.session.config, path, new)
    inv.session.enter_mode(mode, path)


def domain(inv: Invocation) -> None:
    """`ipv6 mobile pmipv6-domain NAME`; `no ...` deletes the domain."""
    name = inv.args['name']
    if inv.negate:
        _remove_child(inv, (), 'domains', name, f'Domain {name}')
        return
    _enter(inv, (('domains', name),), DomainConfig(name=name), DOMAIN_MODE)


def domain_peer(role: str) -> Handler:
    """`lma NAME` / `mag NAME` in the domain: the peer table entry (with addresses)."""
    attr, mode = ('lmas', DOMAIN_LMA_MODE) if role == 'lma' else ('mags', DOMAIN_MAG_MODE)

    def handler(inv: Invocation) -> None:
        name = inv.args['name']
        base = inv.session.frame.path
        if inv.negate:
            _remove_child(inv, base, attr, name, f'{role.upper()} {name}')
            return
        _enter(inv, base + ((attr, name),), PeerConfig(name=name), mode)

    handler.__name__ = f'domain_{role}'
    return handler


def mn_profile(kind: str) -> Handler:
    """`nai NAI` / `mac-address H.H.H` in the domain: a mobile-node profile."""

    def handler(inv: Invocation) -> None:
        key = (kind, inv.args['id'])
        base = inv.session.frame.path
        if inv.negate:
            _remove_child(inv, base, 'mn_profiles', key, f'Profile {key[1]}')
            return
        _enter(inv, base + (('mn_profiles', key),), MnProfile(kind=kind, identifier=key[1]), MN_MODE)

    handler.__name__ = f'mn_profile_{kind}'
    return handler


def replay_protection(inv: Invocation) -> None:
    """`replay-protection timestamp [window MS]` | `replay-protection sequence-number`."""
    where, obj = current(inv)
    window = default_of(DomainConfig, 'timestamp_window_ms')
    if inv.negate or inv.args.get('method', 'timestamp') == 'timestamp':
        method = 'timestamp'
        if not inv.negate:
            window = inv.args.get('window', window)
    else:
        method = 'sequence-number'
    update(inv, where, obj, replay_protection=method, timestamp_window_ms=window)


def auth_option(inv: Invocation) -> None:
    """`auth-option spi SPI key {ascii|hex} KEY` (RFC 4285); `no auth-option`."""
    where, obj = current(inv)
    if inv.negate:
        update(inv, where, obj, auth_spi=None, auth_key_format=None, auth_key=None)
        return
    key_format, key = inv.args['key_format'], inv.args['key']
    if key_format == 'hex' and len(key) % 2:
        raise CommandError('A hex key needs an even number of digits')
    update(inv, where, obj, auth_spi=inv.args['spi'], auth_key_format=key_format, auth_key=key)


def hnp(inv: Invocation) -> None:
    """`hnp X:X::X/M` adds a home network prefix; `no hnp [PREFIX]` removes one or all."""
    where, obj = current(inv)
    prefix = inv.args.get('prefix')
    if inv.negate:
        hnps = () if prefix is None else tuple(p for p in obj.hnps if p != prefix)
    else:
        hnps = tuple(sorted({*obj.hnps, prefix}))
    update(inv, where, obj, hnps=hnps)


def lma_role(inv: Invocation) -> None:
    """`ipv6 mobile pmipv6-lma NAME domain DOMAIN`; `no ipv6 mobile pmipv6-lma NAME`."""
    name = inv.args['name']
    if inv.negate:
        _remove_child(inv, (), 'lmas', name, f'LMA {name}')
        return
    path: Path = (('lmas', name),)
    existing = get(inv.session.config, path)
    if existing is not None and existing.domain != inv.args['domain']:
        moved = dataclasses.replace(existing, domain=inv.args['domain'])
        inv.session.config = put(inv.session.config, path, moved)
    _enter(inv, path, LmaConfig(name=name, domain=inv.args['domain']), LMA_MODE)


def mag_role(inv: Invocation) -> None:
    """`ipv6 mobile pmipv6-mag NAME domain DOMAIN`; `no ipv6 mobile pmipv6-mag NAME`."""
    name = inv.args['name']
    if inv.negate:
        _remove_child(inv, (), 'mags', name, f'MAG {name}')
        return
    path: Path = (('mags', name),)
    existing = get(inv.session.config, path)
    if existing is not None and existing.domain != inv.args['domain']:
        moved = dataclasses.replace(existing, domain=inv.args['domain'])
        inv.session.config = put(inv.session.config, path, moved)
    _enter(inv, path, MagConfig(name=name, domain=inv.args['domain']), MAG_MODE)


def pool(family: str) -> Handler:
    """`pool ipv6 NAME prefix P [pfxlen N]` / `pool ipv4 NAME prefix P`; `no pool ... NAME`."""
    attr = 'ipv6_pools' if family == 'ipv6' else 'ipv4_pools'

    def handler(inv: Invocation) -> None:
        where, obj = current(inv)
        name = inv.args['name']
        if inv.negate:
            _remove_child(inv, where, attr, name, f'Pool {name}')
            return
        prefix = inv.args['prefix']
        new: Ipv6Pool | Ipv4Pool
        if family == 'ipv6':
            pfxlen = inv.args.get('pfxlen', 64)
            if pfxlen < prefix.prefixlen:
                raise CommandError(f'pfxlen {pfxlen} is shorter than the pool prefix /{prefix.prefixlen}')
            new = Ipv6Pool(name=name, prefix=prefix, pfxlen=pfxlen)
        else:
            new = Ipv4Pool(name=name, prefix=prefix)
        inv.session.config = put(inv.session.config, where + ((attr, name),), new)

    handler.__name__ = f'pool_{family}'
    return handler


def bri_delay(inv: Invocation) -> None:
    """`bri delay {min|max} MS` (RFC 5846 §11)."""
    where, obj = current(inv)
    field = 'bri_min_delay_ms' if inv.args['bound'] == 'min' else 'bri_max_delay_ms'
    value = default_of(LmaConfig, field) if inv.negate else inv.args['value']
    update(inv, where, obj, **{field: value})


def interface(inv: Invocation) -> None:
    """`interface IFNAME [access-tech ATT]`; `no interface IFNAME`."""
    where, obj = current(inv)
    name = inv.args['ifname']
    if inv.negate:
        _remove_child(inv, where, 'interfaces', name, f'Interface {name}')
        return
    att = inv.args.get('att', default_of(AccessInterface, 'access_tech'))
    inv.session.config = put(inv.session.config, where + (('interfaces', name),), AccessInterface(name, att))


def mag_lma(inv: Invocation) -> None:
    """`lma NAME DOMAIN` in the MAG: the LMA serving this MAG; `no lma`."""
    where, obj = current(inv)
    if inv.negate:
        update(inv, where, obj, lma=None, lma_domain=None)
        return
    update(inv, where, obj, lma=inv.args['name'], lma_domain=inv.args['domain'])


def dhcp_mode(inv: Invocation) -> None:
    """`dhcp mode server` | `dhcp mode relay destination A.B.C.D` (DHCPv4); `no dhcp mode`."""
    where, obj = current(inv)
    if inv.negate:
        update(inv, where, obj, dhcp_mode=None, dhcp_relay_destination=None)
        return
    update(inv, where, obj, dhcp_mode=inv.args['dhcp'], dhcp_relay_destination=inv.args.get('relay'))

