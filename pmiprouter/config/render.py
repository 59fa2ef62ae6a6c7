"""Deterministic IOS-shaped text of a `RouterConfig` (what `show running-config` prints).

Pure module. Only values that differ from their defaults are written (the IOS
convention), in a fixed order, so `render(load(text))` is stable. The text is also what
`write memory` saves: the startup-config is CLI text replayed by `load.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pmiprouter.config.model import (
    DomainConfig,
    LmaConfig,
    LoggingConfig,
    MagConfig,
    MnProfile,
    PeerConfig,
    RouterConfig,
    SshConfig,
    default_of,
)

# (field, line template) rendered when the field differs from its default.
_SSH = (
    ('port', 'ip ssh port {}'),
    ('timeout_s', 'ip ssh time-out {}'),
    ('authentication_retries', 'ip ssh authentication-retries {}'),
)
_LMA = (
    ('ipv6_address', 'address ipv6 {}'),
    ('ipv4_address', 'address ipv4 {}'),
    ('hnp_maximum', 'hnp maximum {}'),
    ('bce_lifetime_s', 'bce lifetime {}'),
    ('bce_refresh_time_s', 'bce refresh-time {}'),
    ('min_delay_before_bce_delete_ms', 'bce delete-wait-time {}'),
    ('max_delay_before_new_bce_assign_ms', 'bce create-wait-time {}'),
    ('bri_min_delay_ms', 'bri delay min {}'),
    ('bri_max_delay_ms', 'bri delay max {}'),
    ('bri_max_retries', 'bri retries {}'),
)
_MAG = (
    ('ipv6_address', 'address ipv6 {}'),
    ('ipv4_address', 'address ipv4 {}'),
    ('fixed_link_local_address', 'fixed link-local-address {}'),
    ('fixed_link_layer_address', 'fixed link-layer-address {}'),
    ('binding_lifetime_s', 'binding lifetime {}'),
    ('binding_refresh_time_s', 'binding refresh-time {}'),
    ('binding_init_retx_time_ms', 'binding init-retx-time {}'),
    ('binding_max_retx_time_ms', 'binding max-retx-time {}'),
)
_PEER = (
    ('ipv6_address', 'ipv6-address {}'),
    ('ipv4_address', 'ipv4-address {}'),
)
_MN = (
    ('lma', 'lma {}'),
    ('ipv4_home_address', 'ipv4-address {}'),
    ('service', 'service {}'),
    ('gre_key', 'gre-key {}'),
)


def _fields(obj: Any, table: Iterable[tuple[str, str]], indent: str) -> list[str]:
    out = []
    for name, template in table:
        value = getattr(obj, name)
        if value != default_of(type(obj), name):
            out.append(indent + template.format(value))
    return out


def _logging(cfg: LoggingConfig) -> list[str]:
    out = _fields(cfg, (('buffered_size_bytes', 'logging buffered {}'),), '')
    if cfg.console_level is None:
        out.append('no logging console')
    elif cfg.console_level != default_of(LoggingConfig, 'console_level'):
        out.append(f'logging console {cfg.console_level}')
    out += [f'logging host {host}' for host in cfg.hosts]
    return out


def _users(cfg: RouterConfig) -> list[str]:
    out = []
    if cfg.enable_secret is not None:
        out.append(f'enable secret {cfg.enable_secret.type} {cfg.enable_secret.hash}')
    for user in cfg.users:
        privilege = f' privilege {user.privilege}' if user.privilege != 1 else ''
        out.append(f'username {user.name}{privilege} secret {user.secret.type} {user.secret.hash}')
    return out


def _ssh(cfg: SshConfig) -> list[str]:
    out = _fields(cfg, _SSH, '') + [f'ip ssh listen-address {a}' for a in cfg.listen_addresses]
    if cfg.pubkey_users:
        out.append('ip ssh pubkey-chain')
        for user in cfg.pubkey_users:
            out.append(f' username {user.name}')
            out += [f'  key-hash {k.type} {k.hash}' + (f' {k.name}' if k.name else '') for k in user.keys]
    return out


def _peer(keyword: str, peer: PeerConfig) -> list[str]:
    return [f' {keyword} {peer.name}', *_fields(peer, _PEER, '  '), ' !']


def _mn(profile: MnProfile) -> list[str]:
    keyword = 'nai' if profile.kind == 'nai' else 'mac-address'
    out = [f' {keyword} {profile.identifier}']
    out += [f'  hnp {prefix}' for prefix in profile.hnps]
    out += _fields(profile, _MN, '  ')
    return [*out, ' !']


def _domain(domain: DomainConfig) -> list[str]:
    out = [f'ipv6 mobile pmipv6-domain {domain.name}']
    if domain.encap != default_of(DomainConfig, 'encap'):
        out.append(f' encap {domain.encap}')
    if domain.replay_protection == 'sequence-number':
        out.append(' replay-protection sequence-number')
    elif domain.timestamp_window_ms != default_of(DomainConfig, 'timestamp_window_ms'):
        out.append(f' replay-protection timestamp window {domain.timestamp_window_ms}')
    if domain.auth_spi is not None:
        out.append(f' auth-option spi {domain.auth_spi} key {domain.auth_key_format} {domain.auth_key}')
    for peer in domain.lmas:
        out += _peer('lma', peer)
    for peer in domain.mags:
        out += _peer('mag', peer)
    for profile in domain.mn_profiles:
        out += _mn(profile)
    return out


def _heartbeat(obj: LmaConfig | MagConfig) -> list[str]:
    if not obj.heartbeat_enabled:
        return []
    return [f' heartbeat interval {obj.heartbeat_interval_s} retries {obj.heartbeat_retries}']


def _lma(lma: LmaConfig) -> list[str]:
    out = [f'ipv6 mobile pmipv6-lma {lma.name} domain {lma.domain}', *_fields(lma, _LMA[:3], ' ')]
    out += [f' pool ipv6 {p.name} prefix {p.prefix} pfxlen {p.pfxlen}' for p in lma.ipv6_pools]
    out += [f' pool ipv4 {p.name} prefix {p.prefix}' for p in lma.ipv4_pools]
    out += _fields(lma, _LMA[3:7], ' ')
    if lma.dynamic_mag_learning:
        out.append(' dynamic mag learning')
    return out + _heartbeat(lma) + _fields(lma, _LMA[7:], ' ')


def _mag(mag: MagConfig) -> list[str]:
    out = [f'ipv6 mobile pmipv6-mag {mag.name} domain {mag.domain}', *_fields(mag, _MAG[:2], ' ')]
    for interface in mag.interfaces:
        att = '' if interface.access_tech == 'ieee-802.3' else f' access-tech {interface.access_tech}'
        out.append(f' interface {interface.name}{att}')
    if mag.lma is not None:
        out.append(f' lma {mag.lma} {mag.lma_domain}')
    out += _fields(mag, _MAG[2:], ' ')
    if mag.local_routing:
        out.append(' local-routing-mag')
    if mag.dhcp_mode == 'server':
        out.append(' dhcp mode server')
    elif mag.dhcp_mode == 'relay':
        out.append(f' dhcp mode relay destination {mag.dhcp_relay_destination}')
    if mag.dhcp6_relay_destination is not None:
        out.append(f' ipv6 dhcp relay destination {mag.dhcp6_relay_destination}')
    return out + _heartbeat(mag)


def render(cfg: RouterConfig) -> str:
    """The configuration as CLI text, from the first `!` to the final `end`."""
    sections: list[list[str]] = [
        [f'hostname {cfg.hostname}'],
        _logging(cfg.logging),
        _users(cfg),
        _ssh(cfg.ssh) if cfg.ssh != SshConfig() else [],
        ['ipv6 mobile home-agent'] if cfg.home_agent else [],
        *(_domain(d) for d in cfg.domains),
        *(_lma(lma) for lma in cfg.lmas),
        *(_mag(mag) for mag in cfg.mags),
    ]
    lines = ['!']
    for section in sections:
        if section:
            lines += [*section, '!']
    lines.append('end')
    return '\n'.join(lines) + '\n'


def running_config(cfg: RouterConfig) -> str:
    """`show running-config` output: the IOS header, then `render(cfg)`."""
    body = render(cfg)
    return f'Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n{body}'
