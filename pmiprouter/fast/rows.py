"""A binding's state-file row as JSON text, written directly (pure).

The row is `pmiprouter.core.persistence.entry_to_record(entry)` (format 2, ROW_FIELDS), and its
text is what ``json.dumps(row, separators=(',', ':'))`` writes: the reference the tests hold
`entry_to_text` to on generated entries (``tests/fast/test_rows.py``). The daemon writes one for
every new or changed binding, on the reactor thread, so the text is spliced in one formatting
step instead of a list, its encoding and the per-row address formatting. Every step is counted
(``bench/bench_state.py --callgrind``: 39.1k -> ~34.3k instructions per binding's save):

- a dict subscript costs less than a call or an int's formatting: small ints (MN-ID subtype,
  ATT, handoff indicator, prefix lengths) come from a table of their texts;
- the MAG's and our address are the same few objects in every binding: their JSON text is kept
  by identity (hashing an ``ipaddress`` object runs Python code; `ByIdentity`);
- addresses and prefixes are written as integers read from ``ipaddress``'s internals;
- a finite float's repr is its JSON text, and the float repr (~5,000 machine instructions) is
  done once, not twice: a new binding expires a whole number of seconds after it registered, and
  two such floats in [2**30, 2**31) (the daemon's times, 2004-2038) have the same digits after
  the point;
- what the direct text does not cover (an address not seen yet, an int or a non-finite time, a
  small int out of its table) takes the reference: the record through the JSON encoder.

API: ``entry_to_text(entry: BindingCacheEntry) -> str`` (``from pmiprouter.fast.rows import
entry_to_text``); ``row_json(row: list) -> str``, the encoder every row text comes from otherwise.
"""

from __future__ import annotations

from json import JSONEncoder
from math import isfinite as _finite
from typing import Any

from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.persistence import entry_to_record
from pmiprouter.fast.by_identity import ByIdentity

#: The compact JSON of a row (no spaces after the separators: the daemon keeps every row's text).
row_json = JSONEncoder(separators=(',', ':'), check_circular=False).encode

ADDRESS_JSON_BOUND = 4096  # peer and local addresses: a handful; the bound stops a spray of them growing it
# An address's JSON text, by identity (the entry holds the address: its id stays its own).
_address_json = ByIdentity[Any, str](lambda address: row_json(str(address)), ADDRESS_JSON_BOUND)
_BOOLEAN_JSON = ('false', 'true')
# By value, so an IntEnum subtype finds its number.
_BYTE_JSON = {number: str(number) for number in range(256)}
# Every float in [2**30, 2**31) has the same spacing and ten digits before the point.
_TIME_LOW, _TIME_HIGH = 1073741824.0, 2147483648.0


def _reference(entry: BindingCacheEntry) -> str:
    """The row built as values and encoded; the addresses' texts are kept for the next rows."""
    _address_json(entry.proxy_coa)
    _address_json(entry.local)
    return row_json(entry_to_record(entry))


def entry_to_text(entry: BindingCacheEntry) -> str:
    """``row_json(entry_to_record(entry))``, written directly (see the module's text)."""
    expires_at, registered_at, lifetime_s = entry.expires_at, entry.registered_at, entry.lifetime_s
    # repr is json's text for a finite float; an int, an infinity or a NaN takes the encoder.
    if type(expires_at) is not float or type(registered_at) is not float or not _finite(expires_at) or not _finite(registered_at):
        return _reference(entry)
    mn_id, hnps = entry.mn_id, entry.hnps
    addresses = _address_json.entries
    try:
        proxy_coa = addresses[id(entry.proxy_coa)][1]
        local = addresses[id(entry.local)][1]
        subtype, att, handoff = _BYTE_JSON[mn_id.subtype], _BYTE_JSON[entry.att], _BYTE_JSON[entry.handoff]
        if len(hnps) == 1:  # one prefix per binding, nearly always
            prefix = hnps[0]
            prefixes = f'[[{prefix.network_address._ip},{_BYTE_JSON[prefix._prefixlen]}]]'
        else:
            prefixes = '[' + ','.join([f'[{p.network_address._ip},{_BYTE_JSON[p._prefixlen]}]' for p in hnps]) + ']'
        ipv4 = entry.ipv4
        ipv4_json = 'null' if ipv4 is None else f'[{ipv4.ip._ip},{_BYTE_JSON[ipv4.prefix_length]}]'
    except KeyError:
        return _reference(entry)
    registered = repr(registered_at)
    fraction = registered[10:]
    # Two floats in [2**30, 2**31) a whole number of seconds apart have the same fraction of a
    # second and the same spacing, so their shortest reprs have the same digits after the point
    # (and, unless the repr rounded to a whole second, the digits before it are the float's
    # whole seconds): the expiry's repr costs no second repr.
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
