"""MAG operational handlers: `show|clear ipv6 mobile pmipv6 mag ...` (pure; see operational.py)."""

from __future__ import annotations

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.binding_table import Column, binding_table, home_addresses
from pmiprouter.cli.handlers.operational import MagView, control_of, duration, forwarding_lines, kernel_drops_line
from pmiprouter.cli.tree import Invocation


def _mags(inv: Invocation) -> list[MagView]:
    mags = control_of(inv).mags()
    if not mags:
        raise CommandError('No PMIPv6 MAG is running')
    return mags


MAG_BINDING_COLUMNS = (
    Column('MN-Identifier', 32), Column('Interface', 12), Column('LMA', 26), Column('HNP / IPv4 HoA', 28),
    Column('State', 12), Column('Remaining'),
)


def show_mag_binding(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 mag binding [nai NAI]`: the Binding Update List."""
    nai = inv.args.get('nai')
    return binding_table(MAG_BINDING_COLUMNS, (
        (f'MAG {mag.config.name} (domain {mag.config.domain})',
         [(e.mn_id, e.ifname, e.lma, home_addresses(e.hnps, e.ipv4), e.state, duration(e.remaining_s))
          for e in mag.entries if nai is None or e.mn_id == nai])
        for mag in _mags(inv)
    ))


def show_mag_globals(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 mag globals`."""
    out = []
    for mag in _mags(inv):
        c = mag.config
        out += [
            f'Domain: {c.domain}',
            f'MAG Identifier: {c.name}',
            f'  Self address: {" ".join(str(a) for a in (c.ipv6_address, c.ipv4_address) if a) or "none"}',
            '  Role: MAG',
            f'  LMA: {c.lma or "none"} (domain {c.lma_domain or c.domain})',
            f'  Binding lifetime: {c.binding_lifetime_s} sec, refresh {c.binding_refresh_time_s} sec',
            f'  Retransmission init/max: {c.binding_init_retx_time_ms}/{c.binding_max_retx_time_ms} msec',
            f'  Local routing: {"enabled" if c.local_routing else "disabled"}',
            f'  Heartbeat: {"enabled" if c.heartbeat_enabled else "disabled"}',
            f'  Bindings: {len(mag.entries)}',
        ]
    return '\n'.join(out)


def show_mag_interfaces(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 mag interfaces`: access interfaces and their state."""
    out = [f'{"MAG":<16} {"Interface":<16} {"Access technology":<20} {"Link":<6} Bindings']
    for mag in _mags(inv):
        for interface in mag.config.interfaces:
            up = 'up' if interface.name in mag.links else 'down'
            count = sum(1 for e in mag.entries if e.ifname == interface.name)
            out.append(f'{mag.config.name:<16} {interface.name:<16} {interface.access_tech:<20} {up:<6} {count}')
    return '\n'.join(out)


def show_mag_tunnel(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 mag tunnel`: one line per (Proxy-CoA, LMA) pair in use."""
    out = [f'{"Local":<26} {"Remote":<26} Bindings']
    for mag in _mags(inv):
        pairs: dict[tuple[str, str], int] = {}
        for e in mag.entries:
            pairs[(e.local, e.lma)] = pairs.get((e.local, e.lma), 0) + 1
        out += [f'{local:<26} {remote:<26} {count}' for (local, remote), count in sorted(pairs.items())]
    return '\n'.join(out)


def show_mag_stats(inv: Invocation) -> str:
    """`show ipv6 mobile pmipv6 mag stats`."""
    out = []
    for mag in _mags(inv):
        out.append(f'MAG {mag.config.name} statistics')
        for title, key in (('Received', 'received'), ('Sent', 'sent'), ('Events', 'events'), ('Dropped from the access links', 'access')):
            counts = mag.stats.get(key, {})
            out.append(f'  {title}:')
            out += [f'    {name:<32} {counts[name]}' for name in sorted(counts)] or ['    none']
        trips = mag.stats.get('round-trip-ms', {})
        out.append('  PBU to PBA round trip (accepted registrations, PBU on the wire to PBA read):')
        if trips:
            out.append(f'    last {trips["last"]} ms, median {trips["median"]} ms, max {trips["max"]} ms over the last {trips["samples"]}')
        else:
            out.append('    none')
        out.append(kernel_drops_line(mag.stats))
        out += forwarding_lines(mag.stats)
    return '\n'.join(out)


def clear_mag_binding(inv: Invocation) -> str:
    """`clear ipv6 mobile pmipv6 mag binding {all | nai NAI}`: de-register (PBU lifetime 0) and clean up."""
    _mags(inv)
    nai = inv.args.get('nai')
    count = control_of(inv).clear_mag_bindings(nai)
    if nai is not None and count == 0:
        raise CommandError(f'No binding for {nai}')
    return f'Cleared {count} binding{"s" if count != 1 else ""} (de-registration sent to the LMA)'


def clear_mag_stats(inv: Invocation) -> None:
    """`clear ipv6 mobile pmipv6 mag stats`."""
    _mags(inv)
    control_of(inv).clear_stats('mag')
