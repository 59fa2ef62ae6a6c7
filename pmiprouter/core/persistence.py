"""Binding cache entries as plain JSON-able records, so bindings survive a daemon restart (pure).

Times are absolute (the engines' `now` is wall-clock seconds in the daemon), so a restored
entry keeps exactly the lifetime it had left.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import Any

from pmiprouter.core.binding_cache import BceState, BindingCacheEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

FORMAT_VERSION = 1


@lru_cache(maxsize=4096)
def _text(address: IPv4Address | IPv6Address) -> str:
    """An address as text; the few peer and local addresses every binding shares are formatted once."""
    return str(address)


def entry_to_record(entry: BindingCacheEntry) -> dict[str, Any]:
    return {
        'id': entry.binding_id,
        'mn_subtype': int(entry.mn_id.subtype),
        'mn_id': entry.mn_id.identifier.hex(),
        'att': entry.att,
        'mn_ll_id': entry.mn_ll_id.hex(),
        'handoff': entry.handoff,
        'proxy_coa': _text(entry.proxy_coa),
        'local': _text(entry.local),
        'transport': entry.transport.value,
        'sport': entry.sport,
        'hnps': [str(p) for p in entry.hnps],
        'ipv4': str(entry.ipv4) if entry.ipv4 is not None else None,
        'ipv4_router': str(entry.ipv4_router) if entry.ipv4_router is not None else None,
        'link_local': str(entry.link_local) if entry.link_local is not None else None,
        'lifetime_s': entry.lifetime_s,
        'expires_at': entry.expires_at,
        'timestamp': entry.timestamp,
        'sequence': entry.sequence,
        'gre_key_in': entry.gre_key_in,
        'gre_key_out': entry.gre_key_out,
        'use_gre': entry.use_gre,
        'tlv': entry.tlv,
        'udp': entry.udp,
        'state': entry.state.value,
        'registered_at': entry.registered_at,
    }


def entry_from_record(record: dict[str, Any]) -> BindingCacheEntry:
    """Rebuild an entry; raises KeyError/ValueError/TypeError on a damaged record."""
    state = BceState(record['state'])
    if state is BceState.PROGRAMMING:  # it was accepted; the restore re-programs it anyway
        state = BceState.ACTIVE
    return BindingCacheEntry(
        binding_id=int(record['id']),
        mn_id=MobileNodeIdentifier(int(record['mn_subtype']), bytes.fromhex(record['mn_id'])),
        att=int(record['att']),
        mn_ll_id=bytes.fromhex(record['mn_ll_id']),
        handoff=int(record['handoff']),
        proxy_coa=ip_address(record['proxy_coa']),
        local=ip_address(record['local']),
        transport=Transport(record['transport']),
        sport=record['sport'],
        hnps=tuple(IPv6Network(p) for p in record['hnps']),
        ipv4=Ipv4HomeAddress.parse(record['ipv4']) if record['ipv4'] else None,
        ipv4_router=IPv4Address(record['ipv4_router']) if record['ipv4_router'] else None,
        link_local=IPv6Address(record['link_local']) if record['link_local'] else None,
        lifetime_s=int(record['lifetime_s']),
        expires_at=float(record['expires_at']),
        timestamp=record['timestamp'],
        sequence=int(record['sequence']),
        gre_key_out=record['gre_key_out'],
        use_gre=bool(record['use_gre']),
        tlv=bool(record['tlv']),
        udp=bool(record['udp']),
        state=state,
        registered_at=float(record['registered_at']),
    )
