"""The MAG's DHCPv6 relay agent (pure): RFC 5213 §6.11, RFC 8415 §19, RFC 6939.

An MN's client message is relayed only once the LMA granted its home network prefixes:
before that a SOLICIT is held (and is an attach trigger, like an RS) and anything else is
dropped. The Relay-Forward carries link-address = an address of the MN's first HNP (the
server knows the MN's "link" by it, §6.11), peer-address = the MN's source address, an
Interface-ID naming the access interface and the client's link-layer address (RFC 6939).

A Relay-Reply reaches the MN only when it names one of our access interfaces and an MN we
relayed for, and every address or prefix it hands out lies inside that MN's own HNPs;
anything else is dropped and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from pmiprouter.access.dhcp6 import (
    ADVERTISE,
    CLIENT_TYPES,
    OPT_CLIENTID,
    OPT_INTERFACE_ID,
    OPT_RELAY_MSG,
    RECONFIGURE,
    RELAY_FORW,
    RELAY_REPL,
    REPLY,
    SOLICIT,
    Dhcp6Message,
    RelayMessage,
    client_linklayer_option,
    decode,
    duid_mac,
    encode,
    eui64_mac,
    ia_leases,
)
from pmiprouter.mh.errors import DecodeError

MAX_HELD = 1024  # SOLICITs waiting for a PBA, across all links: a flood evicts the oldest, memory stays bounded


@dataclass(frozen=True, slots=True)
class Forward6:
    """Send `payload` (a Relay-Forward) to the DHCPv6 server, port 547."""

    server: IPv6Address
    payload: bytes


@dataclass(frozen=True, slots=True)
class Attach6:
    """An MN without a registration sent a SOLICIT: it is an attach trigger (held until the PBA)."""

    ifname: str
    mac: bytes


@dataclass(frozen=True, slots=True)
class Deliver6:
    """Send `payload` (the server's message) to `peer` port 546 on `ifname`."""

    ifname: str
    peer: IPv6Address
    payload: bytes


@dataclass(frozen=True, slots=True)
class Dropped6:
    """Nothing goes out; `reason` is also counted in `Dhcp6Relay.dropped`."""

    reason: str


@dataclass
class Dhcp6Relay:
    """Relay state for every access link of one MAG."""

    server: IPv6Address
    prefixes: dict[tuple[str, bytes], tuple[IPv6Network, ...]] = field(default_factory=dict)
    peers: dict[tuple[str, IPv6Address], bytes] = field(default_factory=dict)  # (ifname, peer) -> MAC
    held: dict[tuple[str, bytes], tuple[IPv6Address, bytes]] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    relayed: Counter[str] = field(default_factory=Counter)

    # ---- home network prefixes (from the engine's Router Advertisements) --------------

    def set_prefixes(self, ifname: str, mac: bytes, prefixes: tuple[IPv6Network, ...]) -> list[Forward6]:
        """The MN's HNPs after a PBA (empty: withdrawn); releases a SOLICIT that waited for them."""
        key = (ifname, mac)
        if not prefixes:
            self.prefixes.pop(key, None)
            for peer in [p for (i, p), m in self.peers.items() if i == ifname and m == mac]:
                del self.peers[(ifname, peer)]
            return []
        self.prefixes[key] = prefixes
        waiting = self.held.pop(key, None)
        if waiting is None:
            return []
        out = self._forward(ifname, mac, *waiting)
        return [out] if isinstance(out, Forward6) else []

    # ---- MN -> server -----------------------------------------------------------------

    def identify(self, source: IPv6Address, message: Dhcp6Message) -> bytes | None:
        """The MN's MAC: from its DUID when that carries one, else from an EUI-64 source address."""
        duid = message.option(OPT_CLIENTID)
        return (duid_mac(duid) if duid is not None else None) or eui64_mac(source)

    def from_client(self, ifname: str, source: IPv6Address, data: bytes) -> Forward6 | Attach6 | Dropped6:
        try:
            message = decode(data)
        except DecodeError:
            return self._drop('malformed')
        if not isinstance(message, Dhcp6Message) or message.msg_type not in CLIENT_TYPES:
            return self._drop('not-a-client-message')  # the MN is alone on its link: no relay below us
        if not source.is_link_local:
            return self._drop('source-not-link-local')  # RFC 8415 §13.1: clients use their link-local
        mac = self.identify(source, message)
        if mac is None:
            return self._drop('no-client-mac')
        if (ifname, mac) not in self.prefixes:
            if message.msg_type != SOLICIT:
                return self._drop('no-home-prefix')
            self.held.pop((ifname, mac), None)  # the latest SOLICIT of an MN is the one answered
            if len(self.held) >= MAX_HELD:
                del self.held[next(iter(self.held))]
                self.dropped['held-evicted'] += 1
            self.held[(ifname, mac)] = (source, data)
            return Attach6(ifname, mac)
        return self._forward(ifname, mac, source, data)

    def _forward(self, ifname: str, mac: bytes, source: IPv6Address, data: bytes) -> Forward6 | Dropped6:
        prefixes = self.prefixes[(ifname, mac)]
        link_address = prefixes[0].network_address  # RFC 5213 §6.11: an address from the MN's HNP
        options = (
            (OPT_RELAY_MSG, data),
            (OPT_INTERFACE_ID, ifname.encode()),
            client_linklayer_option(mac),
        )
        self.peers[(ifname, source)] = mac
        self.relayed['to-server'] += 1
        return Forward6(self.server, encode(RelayMessage(RELAY_FORW, 0, link_address, source, options)))

    # ---- server -> MN -----------------------------------------------------------------

    def from_server(self, data: bytes) -> Deliver6 | Dropped6:
        try:
            message = decode(data)
        except DecodeError:
            return self._drop('malformed')
        if not isinstance(message, RelayMessage) or message.msg_type != RELAY_REPL:
            return self._drop('not-a-relay-reply')
        interface_id = message.option(OPT_INTERFACE_ID)
        inner_bytes = message.option(OPT_RELAY_MSG)
        if interface_id is None or inner_bytes is None:
            return self._drop('missing-option')
        ifname = interface_id.decode('ascii', 'replace')
        mac = self.peers.get((ifname, message.peer_address))
        prefixes = self.prefixes.get((ifname, mac)) if mac is not None else None
        if mac is None or prefixes is None:
            return self._drop('unknown-peer')
        try:
            inner = decode(inner_bytes)
            leases = ia_leases(inner.options)
        except DecodeError:
            return self._drop('malformed')
        if not isinstance(inner, Dhcp6Message) or inner.msg_type not in (ADVERTISE, REPLY, RECONFIGURE):
            return self._drop('not-a-server-message')  # a nested Relay-Reply: we are the only relay
        if any(not any(lease.network.subnet_of(p) for p in prefixes) for lease in leases):
            return self._drop('address-outside-home-prefix')
        self.relayed['to-client'] += 1
        return Deliver6(ifname, message.peer_address, inner_bytes)

    def _drop(self, reason: str) -> Dropped6:
        self.dropped[reason] += 1
        return Dropped6(reason)
