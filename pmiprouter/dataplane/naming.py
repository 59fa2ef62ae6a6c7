"""Deterministic names and numbers for the objects the dataplane owns.

Every device we create is called ``pmip`` + 8 hex digits of a hash of its spec (12 characters,
inside IFNAMSIZ-1 = 15), and every routing table we use lies in one numeric range. That is how
a restarted daemon recognises its own orphans and leaves everything else alone.

Purity: no I/O; standard library only.
"""

from __future__ import annotations

import functools
import hashlib

from pmiprouter.dataplane.interface import DataplaneError, TunnelSpec

#: Prefix of every device the dataplane creates.
IFNAME_PREFIX = 'pmip'
#: The userspace backend's shared TUN device (one per daemon).
TUN_IFNAME = 'pmiptun0'
#: Linux limits interface names to IFNAMSIZ (16) bytes including the NUL.
IFNAMSIZ_MAX = 15
#: Our routing tables: TABLE_BASE .. TABLE_BASE + TABLE_SPAN - 1 ("PM" in the top 16 bits).
TABLE_BASE = 0x504D0000
TABLE_SPAN = 0x10000
#: The LMA's role table: the routes of every mobile node, whatever its tunnel; one rule per
#: address family sends lookups into it, however many MNs there are (plan.py).
LMA_TABLE = TABLE_BASE
#: The MAG's role tables: every MN's route to its access link (downlink), and the uplink's
#: routes: behind the user-space backend's shared TUN one default route into it (its forwarder
#: picks the tunnel), with the kernel's tunnel devices an IPv6 source-specific default route per
#: MN prefix (plan.py). The kernel backend's tunnel tables lie above.
MAG_DOWN_TABLE = TABLE_BASE + 1
MAG_UP_TABLE = TABLE_BASE + 2
_FIRST_TUNNEL_TABLE = TABLE_BASE + 3

#: Rule priorities, below the main table's 32766 so our rules are consulted first.
PRIO_LMA_DOWN = 31000
PRIO_MAG_UP = 31001
PRIO_MAG_DOWN = 31002
PRIO_REALM_UP = 31003
PRIO_MAG_LOCAL = 31004
#: The uplink rule of a MAG's access link behind the shared TUN: after the per-tunnel rules of
#: keyed tunnels (`from A iif <access>`), which it would otherwise hide.
PRIO_MAG_UP_SHARED = 31005


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=65536)  # called for every MN route change; the name never changes
def tunnel_ifname(spec: TunnelSpec) -> str:
    """Return the device name of a tunnel: ``pmip`` + 8 hex digits of its identity.

    The MTU is not part of the identity: changing it updates the device in place.
    """
    ident = f'{spec.mode.value}|{spec.local}|{spec.remote}|{spec.gre_key_in}|{spec.gre_key_out}'
    name = IFNAME_PREFIX + _digest(ident)[:8]
    assert len(name) <= IFNAMSIZ_MAX
    return name


@functools.lru_cache(maxsize=1024)
def domain_ifname(kind: str, name: str) -> str:
    """Return the name of the user-space backend's TUN device for the keyed tunnels' MNs of one
    domain (``kind`` 'realm' at an LMA, 'access' at a MAG, ``name`` its interface)."""
    return IFNAME_PREFIX + _digest(f'domain|{kind}|{name}')[:8]


@functools.lru_cache(maxsize=65536)
def tunnel_table(tunnel_name: str) -> int:
    """Return the routing table of a tunnel (derived from its device name)."""
    span = TABLE_BASE + TABLE_SPAN - _FIRST_TUNNEL_TABLE
    return _FIRST_TUNNEL_TABLE + int(_digest('table|' + tunnel_name)[:8], 16) % span


def is_our_ifname(ifname: str) -> bool:
    """True for device names the dataplane creates."""
    return ifname.startswith(IFNAME_PREFIX)


def is_our_table(table: int) -> bool:
    """True for routing tables the dataplane owns."""
    return TABLE_BASE <= table < TABLE_BASE + TABLE_SPAN


class NameRegistry:
    """Maps names to tunnel specs and refuses a second spec for a name (a hash collision)."""

    def __init__(self) -> None:
        self._by_name: dict[str, TunnelSpec] = {}
        self._tables: dict[int, str] = {}

    def claim(self, spec: TunnelSpec) -> str:
        """Return the spec's name; raise :class:`DataplaneError` if another spec holds it."""
        name = tunnel_ifname(spec)
        table = tunnel_table(name)
        held = self._by_name.get(name)
        if held is not None and _identity(held) != _identity(spec):
            raise DataplaneError(f'ifname collision: {name} is {held} and {spec}')
        owner = self._tables.get(table)
        if owner is not None and owner != name:
            raise DataplaneError(f'table collision: {table} is used by {owner} and {name}')
        self._by_name[name] = spec
        self._tables[table] = name
        return name

    def release(self, spec: TunnelSpec) -> None:
        """Forget a spec's name (after its tunnel is deleted)."""
        name = tunnel_ifname(spec)
        if name in self._by_name:
            del self._by_name[name]
            self._tables.pop(tunnel_table(name), None)


def _identity(spec: TunnelSpec) -> tuple[object, ...]:
    return (spec.mode, spec.local, spec.remote, spec.gre_key_in, spec.gre_key_out)
