"""Operational handlers: `show ipv6 mobile pmipv6 ...`, `clear ...`, `debug ...`, `show users`.

Pure module. The handlers read the daemon through `session.control`, a `Control` (the
runtime's `ControlAPI` implements it; tests pass a fake). The views below are plain
data, so no Twisted type reaches this layer. Offline (`pmiprouter cli --offline`) there
is no control and the commands say so instead of inventing state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Protocol

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.binding_table import Column, binding_table, home_addresses
from pmiprouter.cli.tree import Invocation
from pmiprouter.config.model import LmaConfig, MagConfig, RouterConfig
from pmiprouter.mh.iana import BAStatus, BRAStatus

DEBUG_CATEGORIES = ('events', 'messages', 'dataplane')


@dataclass(frozen=True)
class BindingView:
    """One binding cache entry, as shown (strings and numbers only)."""

    binding_id: int
    mn_id: str
    state: str
    proxy_coa: str
    transport: str
    att: int
    ll_id: str
    hnps: tuple[str, ...]
    ipv4: str | None
    lifetime_s: int
    remaining_s: int
    gre_key_in: int | None
    gre_key_out: int | None
    sequence: int


@dataclass(frozen=True)
class TunnelView:
    """One tunnel to a MAG and how many bindings use it."""

    local: str
    remote: str
    mode: str
    users: int


@dataclass(frozen=True)
class LmaView:
    """A running LMA: its configuration, binding cache, tunnels and counters."""

    config: LmaConfig
    addresses: tuple[str, ...]
    restart_counter: int
    bindings: tuple[BindingView, ...] = ()
    tunnels: tuple[TunnelView, ...] = ()
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class MagEntryView:
    """One Binding Update List entry of a MAG, as shown."""

    entry_id: int
    mn_id: str
    ifname: str
    mac: str
    state: str
    local: str
    lma: str
    hnps: tuple[str, ...]
    ipv4: str | None
    lifetime_s: int
    remaining_s: int


@dataclass(frozen=True)
class MagView:
    """A running MAG: configuration, access links, Binding Update List and counters."""

    config: MagConfig
    links: tuple[str, ...]
    entries: tuple[MagEntryView, ...] = ()
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class UserLine:
    """A management session, for `show users`."""

    line: str
    user: str
    where: str
    idle_s: int
    current: bool = False


class Control(Protocol):
    """What the CLI may ask of the running daemon."""

    #: Failed SSH logins since the daemon started.
    auth_failures: int

    @property
    def config(self) -> RouterConfig:
        """The running configuration."""

    def commit(self, config: RouterConfig) -> str | None:
        """Make `config` the running one; return a warning, or raise `CommandError`."""

    def problems(self) -> list[str]:
        """Why the running configuration is not (yet) in force; empty when it is."""

    def lmas(self) -> list[LmaView]:
        """Snapshots of the running LMAs."""

    def mags(self) -> list[MagView]:
        """Snapshots of the running MAGs."""

    def clear_bindings(self, nai: str | None) -> int:
        """Revoke the LMA bindings of `nai` (all when None, RFC 5846); return how many."""

    def clear_mag_peer_bindings(self, mag: IPv4Address | IPv6Address) -> int:
        """Revoke every LMA binding with MAG `mag` in one global BRI; return how many."""

    def clear_mag_bindings(self, nai: str | None) -> int:
        """De-register the MAG bindings of `nai` (all when None); return how many."""

    def clear_stats(self, role: str = 'lma') -> None:
        """Zero the message counters of the LMAs or the MAGs."""

    def now(self) -> float:
        """Wall-clock time (seconds since the epoch)."""

    def uptime(self) -> float:
        """Seconds since the daemon started."""

    def users(self) -> list[UserLine]:
        """Open management sessions."""

    def log_lines(self) -> list[str]:
        """The logging buffer, oldest first."""

    def debugging(self) -> set[str]:
        """Active debug categories."""

    def set_debug(self, category: str | None, on: bool) -> None:
        """Turn a debug category (None: all) on or off."""


def control_of(inv: Invocation) -> Control:
    """The session's control API, or the error offline sessions get."""
    control = inv.session.control
    if control is None:
        raise CommandError('Not available offline: no pmiprouter daemon is attached')
    return control  # type: ignore[no-any-return]


def _lmas(inv: Invocation) -> list[LmaView]:
    lmas = control_of(inv).lmas()
    if not lmas:
        raise CommandError('No PMIPv6 LMA is running')
    return lmas


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f'{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


# ---- show ipv6 mobile pmipv6 lma ... -----------------------------------------------------


LMA_BINDING_COLUMNS = (
    Column('MN-Identifier', 32), Column('Proxy-CoA', 26), Column('HNP / IPv4 HoA', 28), Column('State', 12),
    Column('Remaining'),
)


def _binding_brief(lmas: list[LmaView]) -> str:
    return binding_table(LMA_BINDING_COLUMNS, (
        (f'LMA {lma.config.name} (domain {lma.config.domain})',
         [(b.mn_id, b.proxy_coa, home_addresses(b.hnps, b.ipv4), b.state, duration(b.remaining_s))
          for b in lma.bindings])
        for lma in lmas
    ))


def _binding_detail(lmas: list[LmaView], nai: str | None) -> str:
    lines = []
    for lma in lmas:
        for b in lma.bindings:
            if nai is not None and b.mn_id != nai:
                continue
            lines += [
                f'Binding {b.binding_id} of LMA {lma.config.name}',
                f'  MN-Identifier: {b.mn_id}',
                f'  State: {b.state}',
                f'  Peer (Proxy-CoA): {b.proxy_coa} over {b.transport}',
                f'  ATT: {b.att}  LLID: {b.ll_id or "none"}',
                f'  HNP: {", ".join(b.hnps) or "none"}',
                f'  IPv4 HoA: {b.ipv4 or "none"}',
                f'  Lifetime: {b.lifetime_s} sec, remaining {b.remaining_s} sec',
                f'  GRE key up/down: {b.gre_key_in if b.gre_key_in is not None else "none"}'
                f'/{b.gre_key_out if b.gre_key_out is not None else "none"}',
                f'  Last sequence: {b.sequence}',
            ]
    lines.append(f'Total number of bindings: {sum(1 for line in lines if line.startswith("Binding "))}')
    return '\n'.join(lines)


def show_lma_binding(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 lma binding [nai NAI | detail]`."""
    lmas = _lmas(inv)
    nai = inv.args.get('nai')
    if inv.args.get('detail') or nai is not None:
        return _binding_detail(lmas, nai)
    return _binding_brief(lmas)


def show_lma_globals(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 lma globals`: the configuration variables in force."""
    out = []
    for lma in _lmas(inv):
        c = lma.config
        pools = [f'{p.name} {p.prefix} pfxlen {p.pfxlen}' for p in c.ipv6_pools]
        pools += [f'{p.name} {p.prefix}' for p in c.ipv4_pools]
        out += [
            f'Domain: {c.domain}',
            f'LMA Identifier: {c.name}',
            f'  Self address: {" ".join(lma.addresses) or "none"}',
            '  Role: LMA',
            f'  Restart counter: {lma.restart_counter}',
            f'  Registration lifetime: {c.bce_lifetime_s} sec',
            f'  Refresh time: {c.bce_refresh_time_s} sec',
            f'  BCE delete wait time: {c.min_delay_before_bce_delete_ms} msec',
            f'  BCE create wait time: {c.max_delay_before_new_bce_assign_ms} msec',
            f'  HNPs per MN: {c.hnp_maximum}',
            f'  Dynamic MAG learning: {"enabled" if c.dynamic_mag_learning else "disabled"}',
            f'  Heartbeat: {"enabled" if c.heartbeat_enabled else "disabled"}'
            f' (interval {c.heartbeat_interval_s} sec, retries {c.heartbeat_retries})',
            f'  BRI delay min/max: {c.bri_min_delay_ms}/{c.bri_max_delay_ms} msec, retries {c.bri_max_retries}',
            f'  Pools: {"; ".join(pools) or "none"}',
            f'  Bindings: {len(lma.bindings)}',
        ]
    return '\n'.join(out)


def show_lma_tunnel(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 lma tunnel`."""
    out = []
    for lma in _lmas(inv):
        out.append(f'LMA {lma.config.name}')
        out.append(f'{"Local":<26} {"Remote":<26} {"Mode":<14} Bindings')
        out += [f'{t.local:<26} {t.remote:<26} {t.mode:<14} {t.users}' for t in lma.tunnels]
        out.append(f'Total number of tunnels: {len(lma.tunnels)}')
    return '\n'.join(out)


def _status_name(code: str) -> str:
    try:
        return BAStatus(int(code)).name.lower().replace('_', ' ')
    except ValueError:
        return 'status'


def _bra_status_name(code: str) -> str:
    try:
        return BRAStatus(int(code)).name.lower().replace('_', ' ')
    except ValueError:
        return 'status'


def show_lma_stats(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 lma stats`: messages by type, PBAs by status code."""
    out = []
    for lma in _lmas(inv):
        stats = lma.stats
        out.append(f'LMA {lma.config.name} statistics')
        out.append(f'  Bindings: {len(lma.bindings)}')
        for title, key in (('Received', 'received'), ('Sent', 'sent')):
            counts = stats.get(key, {})
            out.append(f'  {title}:')
            out += [f'    {name.upper():<20} {counts[name]}' for name in sorted(counts)] or ['    none']
        out.append('  PBA sent by status:')
        statuses = stats.get('pba-status', {})
        out += [f'    {code:>3} {_status_name(code):<48} {count}' for code, count in statuses.items()] or ['    none']
        out.append('  BRA received by status:')
        bra = stats.get('bra-status', {})
        out += [f'    {code:>3} {_bra_status_name(code):<48} {count}' for code, count in bra.items()] or ['    none']
        events = stats.get('events', {})
        out.append('  Events:')
        out += [f'    {name:<32} {events[name]}' for name in sorted(events)] or ['    none']
        out.append(kernel_drops_line(stats))
        out += forwarding_lines(stats)
    return '\n'.join(out)


def forwarding_lines(stats: dict[str, dict[str, int]]) -> list[str]:
    """The user-space data plane's packet counters (none with the kernel's data plane, whose
    counters are the tunnel devices' own: `ip -s link`)."""
    counters = stats.get('forwarding', {})
    if not counters:
        return []
    return ['  Forwarding (user-space data plane):', *(f'    {name:<32} {counters[name]}' for name in sorted(counters))]


def kernel_drops_line(stats: dict[str, dict[str, int]]) -> str:
    """The Mobility Headers the kernel dropped before we could read them (a burst filled the buffer)."""
    return f"  MH socket drops (receive buffer full): {stats.get('kernel-drops', {}).get('mh-socket', 0)}"


# ---- clear ----------------------------------------------------------------------------


def clear_lma_binding(inv: Invocation) -> str:
    """`clear ipv6 mobile pmipv6 lma binding {all | nai NAI}`: revoked with a BRI to the MAG (RFC 5846)."""
    _lmas(inv)
    count = control_of(inv).clear_bindings(inv.args.get('nai'))
    if inv.args.get('nai') is not None and count == 0:
        raise CommandError(f'No binding for {inv.args["nai"]}')
    return f'Cleared {count} binding{"s" if count != 1 else ""} (revocation sent to the MAG)'


def clear_lma_mag_bindings(inv: Invocation) -> str:
    """`clear ipv6 mobile pmipv6 lma binding mag ADDRESS`: one global BRI (G=1, Per-Peer Policy,
    RFC 5846 §8.1) revokes every binding with that MAG at once."""
    _lmas(inv)
    mag = inv.args['mag']
    count = control_of(inv).clear_mag_peer_bindings(ip_address(str(mag)))
    if count == 0:
        raise CommandError(f'No binding with MAG {mag}')
    return f'Cleared {count} binding{"s" if count != 1 else ""} (one revocation sent to MAG {mag})'


def clear_lma_stats(inv: Invocation) -> None:
    """`clear ipv6 mobile pmipv6 lma stats`."""
    _lmas(inv)
    control_of(inv).clear_stats('lma')


# ---- debug and terminal monitor ---------------------------------------------------------


def debug(inv: Invocation) -> str:
    """`debug ipv6 mobile pmipv6 {events|messages|dataplane}`."""
    category = inv.args['category']
    control_of(inv).set_debug(category, True)
    return f'PMIPv6 {category} debugging is on'


def undebug(inv: Invocation) -> str:
    """`undebug ipv6 mobile pmipv6 CATEGORY`."""
    control_of(inv).set_debug(inv.args['category'], False)
    return f'PMIPv6 {inv.args["category"]} debugging is off'


def undebug_all(inv: Invocation) -> str:
    """`undebug all` / `no debug all`."""
    control_of(inv).set_debug(None, False)
    return 'All possible debugging has been turned off'


def show_debugging(inv: Invocation) -> str:
    """`show debugging`."""
    active = sorted(control_of(inv).debugging())
    return '\n'.join(['PMIPv6:'] + [f'  PMIPv6 {name} debugging is on' for name in active]) if active else ''


def terminal_monitor(inv: Invocation) -> None:
    """`terminal monitor`: copy debug and log lines to this session (front-ends read the flag)."""
    inv.session.monitor = True


def terminal_no_monitor(inv: Invocation) -> None:
    """`terminal no monitor`."""
    inv.session.monitor = False


# ---- system -------------------------------------------------------------------------------


def show_users(inv: Invocation) -> str:
    """`show users`."""
    lines = [f'    {"Line":<12} {"User":<16} {"Host(s)":<24} Idle']
    mine = inv.session.extras.get('line')
    for user in control_of(inv).users():
        mark = '*' if user.current or user.line == mine else ' '
        lines.append(f'{mark}   {user.line:<12} {user.user:<16} {user.where:<24} {duration(user.idle_s)}')
    return '\n'.join(lines)


def show_ip_ssh(inv: Invocation) -> str:
    """`show ip ssh`: the SSH settings in force and the failed-login counter."""
    ssh = inv.session.config.ssh
    return '\n'.join([
        'SSH Enabled - version 2.0',
        f'Port: {ssh.port}',
        f'Listen addresses: {" ".join(str(a) for a in ssh.listen_addresses) or "all (::)"}',
        f'Authentication timeout: {ssh.timeout_s} secs; Authentication retries: {ssh.authentication_retries}',
        f'Failed logins: {control_of(inv).auth_failures}',
        f'Configured users: {len(inv.session.config.users)}',
        f'Public keys: {sum(len(u.keys) for u in ssh.pubkey_users)} (ip ssh pubkey-chain)',
    ])


def show_clock(inv: Invocation) -> str:
    """`show clock` (UTC, IOS format)."""
    import datetime as dt  # datetime formats a timestamp it is given; it reads no clock here

    now = dt.datetime.fromtimestamp(control_of(inv).now(), dt.timezone.utc)
    return now.strftime('*%H:%M:%S.') + f'{now.microsecond // 1000:03d} UTC ' + now.strftime('%a %b %d %Y')


def show_logging(inv: Invocation) -> str:
    """`show logging`: logging configuration, then the buffer."""
    logging = inv.session.config.logging
    lines = control_of(inv).log_lines()
    console = logging.console_level or 'disabled'
    return '\n'.join([
        'Syslog logging: enabled',
        f'    Console logging: level {console}',
        f'    Monitor logging: level debugging, {"enabled" if inv.session.monitor else "disabled"} on this session',
        f'    Buffer logging: level debugging, {len(lines)} messages logged',
        *(f'    Logging to {host}' for host in logging.hosts),
        '',
        f'Log Buffer ({logging.buffered_size_bytes} bytes):',
        *lines,
    ])


def show_history(inv: Invocation) -> str:
    """`show history`: the lines this session typed."""
    return '\n'.join(f'  {line}' for line in inv.session.history)
