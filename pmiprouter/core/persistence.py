"""Binding cache entries as plain JSON-able records, so bindings survive a daemon restart (pure).

Times are absolute (the engines' `now` is wall-clock seconds in the daemon), so a restored
entry keeps exactly the lifetime it had left.

A row is `entry_to_record(entry)`, a list of JSON values (ROW_FIELDS); the daemon journals its
compact JSON text, written by `pmiprouter.fast.rows.entry_to_text` (held to this record by tests).
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import Any

from pmiprouter.core.binding_cache import BceState, BindingCacheEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

#: 1: one JSON object per binding; 2: one compact row (ROW_FIELDS). Rows are written without
#: spaces after the separators (~45 bytes less per binding, kept in memory and written): still
#: format 2, which every daemon since format 2 reads.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # a daemon upgraded from a version-1 file restores its bindings

#: The columns of a row (format 2). Addresses and prefixes are integers, not text:
#: formatting an IPv6 prefix costs more than the rest of the row, and the row is written on every change.
ROW_FIELDS = (
    'id', 'mn_subtype', 'mn_id', 'att', 'mn_ll_id', 'handoff', 'proxy_coa', 'local', 'transport', 'sport',
    'hnps', 'ipv4', 'ipv4_router', 'link_local', 'lifetime_s', 'expires_at', 'timestamp', 'sequence',
    'gre_key_out', 'use_gre', 'tlv', 'udp', 'state', 'registered_at',
)


@lru_cache(maxsize=4096)
def _text(address: IPv4Address | IPv6Address) -> str:
    """An address as text; the few peer and local addresses every binding shares are formatted once."""
    return str(address)


def entry_to_record(entry: BindingCacheEntry) -> list[Any]:
    """The entry as a row (ROW_FIELDS); its compact JSON is the state file's text (pmiprouter/fast/rows.py)."""
    ipv4 = entry.ipv4
    return [
        entry.binding_id, int(entry.mn_id.subtype), entry.mn_id.identifier.hex(), entry.att, entry.mn_ll_id.hex(),
        entry.handoff, _text(entry.proxy_coa), _text(entry.local), entry.transport.value, entry.sport,
        [[int(p.network_address), p.prefixlen] for p in entry.hnps],
        [int(ipv4.ip), ipv4.prefix_length] if ipv4 is not None else None,
        int(entry.ipv4_router) if entry.ipv4_router is not None else None,
        int(entry.link_local) if entry.link_local is not None else None,
        entry.lifetime_s, entry.expires_at, entry.timestamp, entry.sequence,
        entry.gre_key_out, entry.use_gre, entry.tlv, entry.udp, entry.state.value, entry.registered_at,
    ]


def _from_row(row: list[Any]) -> dict[str, Any]:
    """A version-2 row as the version-1 record, with addresses and prefixes already parsed."""
    if len(row) != len(ROW_FIELDS):
        raise ValueError(f'a binding row has {len(ROW_FIELDS)} columns, not {len(row)}')
    record = dict(zip(ROW_FIELDS, row))
    record['hnps'] = [IPv6Network((int(network), int(length))) for network, length in record['hnps']]
    ipv4 = record['ipv4']
    record['ipv4'] = Ipv4HomeAddress(IPv4Address(int(ipv4[0])), int(ipv4[1])) if ipv4 is not None else None
    for key, kind in (('ipv4_router', IPv4Address), ('link_local', IPv6Address)):
        record[key] = kind(int(record[key])) if record[key] is not None else None
    return record


def entry_from_record(record: dict[str, Any] | list[Any]) -> BindingCacheEntry:
    """Rebuild an entry from a row (format 2) or a record (format 1); raises
    KeyError/ValueError/TypeError on a damaged one."""
    if isinstance(record, list):
        record = _from_row(record)
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
        hnps=tuple(_parsed(record['hnps'], IPv6Network)),
        ipv4=_parsed_one(record['ipv4'], Ipv4HomeAddress.parse),
        ipv4_router=_parsed_one(record['ipv4_router'], IPv4Address),
        link_local=_parsed_one(record['link_local'], IPv6Address),
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


def _parsed(values: list[Any], parse: Any) -> list[Any]:
    """Version-1 texts parsed; version-2 values arrive parsed already (_from_row)."""
    return [parse(value) if isinstance(value, str) else value for value in values]


def _parsed_one(value: Any, parse: Any) -> Any:
    return parse(value) if isinstance(value, str) else value or None
