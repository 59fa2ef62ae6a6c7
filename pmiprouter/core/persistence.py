"""Binding cache entries as plain JSON-able records, so bindings survive a daemon restart (pure).

Times are absolute (the engines' `now` is wall-clock seconds in the daemon), so a restored
entry keeps exactly the lifetime it had left.

The daemon journals a row for every binding it creates, so `entry_to_text` writes a row's JSON
text in one formatting step; `entry_to_record` is the same row as values (the reference the
tests hold it to, and what the engine exports).
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from json import JSONEncoder
from math import isfinite as _finite
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

_json = JSONEncoder(separators=(',', ':'), check_circular=False).encode  # compact: the daemon keeps every row's text
_ADDRESS_JSON_BOUND = 4096  # peer and local addresses: a handful; the bound stops a spray of them growing it
# An address's JSON text by id(), and the addresses themselves in _known_addresses: kept alive,
# no other object can take the id of one while it is in the table.
_address_json: dict[int, str] = {}
_known_addresses: list[IPv4Address | IPv6Address] = []
_BOOLEAN_JSON = ('false', 'true')
# The text of the small ints of a row (MN-ID subtype, ATT, handoff indicator, prefix lengths):
# a dict subscript is cheaper than formatting an int. By value, so an IntEnum subtype finds its number.
_BYTE_JSON = {number: str(number) for number in range(256)}
# Daemon times (wall-clock seconds) from 2004 to 2038: every float in [2**30, 2**31) has the same
# spacing and ten digits before the point, which entry_to_text's expiry text relies on.
_TIME_LOW, _TIME_HIGH = 1073741824.0, 2147483648.0


@lru_cache(maxsize=4096)
def _text(address: IPv4Address | IPv6Address) -> str:
    """An address as text; the few peer and local addresses every binding shares are formatted once."""
    return str(address)


def entry_to_record(entry: BindingCacheEntry) -> list[Any]:
    """The entry as a row (ROW_FIELDS); json.dumps turns it into the state file's text (entry_to_text)."""
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


def _remember_address(address: IPv4Address | IPv6Address) -> None:
    """Keep an address's JSON text by identity for the next rows (see entry_to_text)."""
    if id(address) in _address_json:
        return
    if len(_address_json) >= _ADDRESS_JSON_BOUND:
        _address_json.clear()
        _known_addresses.clear()
    _known_addresses.append(address)
    _address_json[id(address)] = _json(str(address))


def _row_json(entry: BindingCacheEntry) -> str:
    """The row built as values and encoded: for what entry_to_text's direct text does not cover
    (an address not seen yet, a time that is no finite float, a small int out of its table)."""
    _remember_address(entry.proxy_coa)
    _remember_address(entry.local)
    return _json(entry_to_record(entry))


def entry_to_text(entry: BindingCacheEntry) -> str:
    """The row's compact JSON (`json.dumps(entry_to_record(entry), separators=(',', ':'))`), written
    directly: one formatting step instead of a list, its encoding and the per-row address
    formatting (the daemon does this for every new or changed binding, on the reactor thread).
    Every step is counted (bench_state.py --callgrind): a dict subscript costs less than a call or
    an int's formatting, and the float repr (~5,000 machine instructions) is done once, not twice."""
    expires_at, registered_at, lifetime_s = entry.expires_at, entry.registered_at, entry.lifetime_s
    # repr is json's text for a finite float; an int, an infinity or a NaN takes the encoder.
    if type(expires_at) is not float or type(registered_at) is not float or not _finite(expires_at) or not _finite(registered_at):
        return _row_json(entry)
    mn_id, hnps = entry.mn_id, entry.hnps
    try:
        # The MAG's and our address are the same few objects in every binding: their text by identity
        # (hashing an ipaddress object runs Python code; see pmiprouter/fast/by_identity.py).
        proxy_coa = _address_json[id(entry.proxy_coa)]
        local = _address_json[id(entry.local)]
        subtype, att, handoff = _BYTE_JSON[mn_id.subtype], _BYTE_JSON[entry.att], _BYTE_JSON[entry.handoff]
        if len(hnps) == 1:  # one prefix per binding, nearly always
            prefix = hnps[0]
            prefixes = f'[[{prefix.network_address._ip},{_BYTE_JSON[prefix._prefixlen]}]]'
        else:
            prefixes = '[' + ','.join([f'[{p.network_address._ip},{_BYTE_JSON[p._prefixlen]}]' for p in hnps]) + ']'
        ipv4 = entry.ipv4
        ipv4_json = 'null' if ipv4 is None else f'[{ipv4.ip._ip},{_BYTE_JSON[ipv4.prefix_length]}]'
    except KeyError:
        return _row_json(entry)
    registered = repr(registered_at)
    fraction = registered[10:]
    # A new binding expires a whole number of seconds after it registered. Two such floats in
    # [2**30, 2**31) are the same fraction of a second, with the same spacing, so their shortest
    # reprs have the same digits after the point (and, unless the repr rounded to a whole second,
    # the digits before it are the float's whole seconds): the expiry's repr costs no second repr.
    if _TIME_LOW <= registered_at <= expires_at < _TIME_HIGH and expires_at - registered_at == lifetime_s \
            and fraction != '.0':
        expires = f'{int(expires_at)}{fraction}'
    else:
        expires = repr(expires_at)
    sport, router, link_local = entry.sport, entry.ipv4_router, entry.link_local
    timestamp, gre_key_out = entry.timestamp, entry.gre_key_out
    # Enum values are plain lowercase words and hex digits need no escaping: quoting them is their JSON.
    return (
        f'[{entry.binding_id},{subtype},"{mn_id.identifier.hex()}",{att},"{entry.mn_ll_id.hex()}",'
        f'{handoff},{proxy_coa},{local},"{entry.transport._value_}",{"null" if sport is None else sport},'
        f'{prefixes},{ipv4_json},'
        f'{"null" if router is None else router._ip},{"null" if link_local is None else link_local._ip},'
        f'{lifetime_s},{expires},{"null" if timestamp is None else timestamp},{entry.sequence},'
        f'{"null" if gre_key_out is None else gre_key_out},{_BOOLEAN_JSON[entry.use_gre]},{_BOOLEAN_JSON[entry.tlv]},'
        f'{_BOOLEAN_JSON[entry.udp]},"{entry.state._value_}",{registered}]'
    )


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
