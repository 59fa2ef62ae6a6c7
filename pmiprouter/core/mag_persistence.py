"""Binding Update List entries as plain JSON-able records, so the MAG's bindings survive a
daemon restart (pure; the MAG's counterpart of `persistence.py`).

Only what a restart needs is kept: the registered session (prefixes, IPv4 HoA, GRE keys,
absolute expiry) or a de-registration still in flight. The attempt in progress (sequence
numbers, backoff) is not: after a restart the MAG first checks the MN is still there (NUD,
RFC 5213 §6.13) and then renews or de-registers with fresh signalling. One extra record
keeps the MAG's PBU sequence number and last Timestamp, so the LMA sees them go on rising.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import Any

from pmiprouter.core.binding_update_list import FORWARDING, BulEntry, BulState
from pmiprouter.core.events import Transport
from pmiprouter.core.mag_events import AttachHint
from pmiprouter.core.mag_policy import MagProfile
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

REGISTERED = 'registered'  # the LMA holds a binding: probe, then renew or de-register
DEREGISTERING = 'deregistering'  # the lifetime-0 PBU was out: send it again
SIGNALLING = 'signalling'  # the record kind holding the sequence number and last Timestamp

SAVED_STATES = {
    **{state: REGISTERED for state in (*FORWARDING, BulState.PROGRAMMING)},
    BulState.DEREGISTERING: DEREGISTERING,
}


def saved_state(entry: BulEntry) -> str | None:
    """What a restart would make of the entry, or None when it is not worth keeping."""
    return SAVED_STATES.get(entry.state) if entry.state is not None else None


def _text(value: object | None) -> str | None:
    return str(value) if value is not None else None


def entry_to_record(entry: BulEntry) -> dict[str, Any] | None:
    state = saved_state(entry)
    if state is None:
        return None
    return {
        'kind': 'entry',
        'state': state,
        'id': entry.entry_id,
        'ifname': entry.ifname,
        'mac': entry.mac.hex(),
        'mn_subtype': int(entry.mn_id.subtype),
        'mn_id': entry.mn_id.identifier.hex(),
        'att': entry.att,
        'mn_ll_id': entry.mn_ll_id.hex(),
        'local': str(entry.local),
        'lma': str(entry.lma),
        'transport': entry.transport.value,
        'hint': entry.hint.value,
        'want_ipv6': entry.want_ipv6,
        'want_ipv4': entry.want_ipv4,
        'requested_prefixes': [str(p) for p in entry.requested_prefixes],
        'requested_ipv4': _text(entry.requested_ipv4),
        'hnps': [str(p) for p in entry.hnps],
        'ipv4': _text(entry.ipv4),
        'ipv4_router': _text(entry.ipv4_router),
        'dhcp_server': entry.dhcp_server,
        'link_local': _text(entry.link_local),
        'lifetime_s': entry.lifetime_s,
        'expires_at': entry.expires_at,
        'use_gre': entry.use_gre,
        'gre_key_in': entry.gre_key_in,
        'gre_key_out': entry.gre_key_out,
        'udp': entry.udp,
    }


def entry_from_record(record: dict[str, Any], profile: MagProfile) -> BulEntry:
    """Rebuild an entry (state not set); raises KeyError/ValueError/TypeError on a damaged record."""
    ipv4 = record['ipv4']
    requested_ipv4 = record['requested_ipv4']
    return BulEntry(
        entry_id=int(record['id']),
        ifname=str(record['ifname']),
        mac=bytes.fromhex(record['mac']),
        mn_id=MobileNodeIdentifier(int(record['mn_subtype']), bytes.fromhex(record['mn_id'])),
        profile=profile,
        att=int(record['att']),
        mn_ll_id=bytes.fromhex(record['mn_ll_id']),
        local=ip_address(record['local']),
        lma=ip_address(record['lma']),
        transport=Transport(record['transport']),
        hint=AttachHint(record['hint']),
        want_ipv6=bool(record['want_ipv6']),
        want_ipv4=bool(record['want_ipv4']),
        requested_prefixes=tuple(IPv6Network(p) for p in record['requested_prefixes']),
        requested_ipv4=Ipv4HomeAddress.parse(requested_ipv4) if requested_ipv4 else None,
        hnps=tuple(IPv6Network(p) for p in record['hnps']),
        ipv4=Ipv4HomeAddress.parse(ipv4) if ipv4 else None,
        ipv4_router=IPv4Address(record['ipv4_router']) if record['ipv4_router'] else None,
        dhcp_server=record['dhcp_server'] if record['dhcp_server'] in (True, False) else None,
        link_local=IPv6Address(record['link_local']) if record['link_local'] else None,
        lifetime_s=int(record['lifetime_s']),
        expires_at=float(record['expires_at']),
        use_gre=bool(record['use_gre']),
        gre_key_in=record['gre_key_in'],
        gre_key_out=record['gre_key_out'],
        udp=bool(record['udp']),
        ever_accepted=True,
    )


def fingerprint(entry: BulEntry) -> tuple[Any, ...]:
    """What `entry_to_record` depends on that can change, cheap to compare on every save tick."""
    return (
        saved_state(entry), entry.hnps, entry.ipv4, entry.ipv4_router, entry.dhcp_server, entry.link_local,
        entry.expires_at, entry.use_gre, entry.gre_key_out, entry.udp, entry.want_ipv4, entry.want_ipv6,
        entry.requested_prefixes, entry.requested_ipv4,
    )


def signalling_record(sequence: int, last_timestamp: int) -> dict[str, Any]:
    return {'kind': SIGNALLING, 'sequence': sequence, 'timestamp': last_timestamp}
