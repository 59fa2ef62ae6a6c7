"""The MAG's DHCPv4 relay agent (pure): RFC 5844 §3.4.2, RFC 1542 §4, RFC 3046.

Requests from an MN are relayed to the configured server only once the LMA granted the MN
an IPv4 home address (the PBA; nothing before it, RFC 5844 §3.4); giaddr is the MN's IPv4
default router, the address the MAG holds on the access link, so the server picks the home
subnet. Every MAG of a domain holds that same address, so with a relay `agent_address` (the
MAG's own IPv4 address) giaddr is that instead, which the server can route back to, and a
Link Selection sub-option (RFC 3527) names the default router for the subnet choice. The relay adds a Relay Agent Information option (circuit-id = access interface,
remote-id = the MN's MAC) and removes it again from the server's answer (RFC 3046 §2.2).

The relay stands in for the server towards the MN (the effect of RFC 5107's Server
Identifier Override, done by the relay itself): the server identifier the MN sees is its
default router, so its unicast RENEW and RELEASE come to the MAG -- which is how a RELEASE
still triggers the IPv4-only de-registration (RFC 5844 §3.4) -- and the relay puts the
server's own identifier back before forwarding.

The server is trusted for options, never for the address: an OFFER or ACK reaches the MN
only when its yiaddr is the HoA the LMA assigned to *that* MN; any other answer is dropped
and counted, so one MN can never be handed an address that belongs to another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from pmiprouter.access.dhcp4 import (
    ACK,
    AGENT_CIRCUIT_ID,
    AGENT_LINK_SELECTION,
    AGENT_REMOTE_ID,
    BOOTREPLY,
    BOOTREQUEST,
    BROADCAST_FLAG,
    DECLINE,
    DISCOVER,
    INFORM,
    NAK,
    OFFER,
    OPT_RELAY_AGENT_INFO,
    OPT_SERVER_ID,
    RELEASE,
    REQUEST,
    ZERO,
    DhcpMessage,
    Lease,
    decode_suboptions,
    encode_suboptions,
    with_options,
)
from pmiprouter.mh.errors import DecodeError

MAX_HOPS = 16  # RFC 1542 §4.1.1: discard a request that already crossed this many relays
RELAYED_TYPES = (DISCOVER, REQUEST, DECLINE, RELEASE, INFORM)


@dataclass(frozen=True, slots=True)
class ToServer:
    """Send `message` to the DHCP server from `giaddr` (port 67 to port 67)."""

    server: IPv4Address
    giaddr: IPv4Address
    message: DhcpMessage


@dataclass(frozen=True, slots=True)
class ToClient:
    """Send `message` to the MN on `ifname` (broadcast while it has no address yet)."""

    ifname: str
    message: DhcpMessage
    broadcast: bool


@dataclass(frozen=True, slots=True)
class Dropped:
    """Nothing goes out; `reason` is also counted in `Dhcp4Relay.dropped`."""

    reason: str


@dataclass
class Dhcp4Relay:
    """Relay state for every access link of one MAG: the HoA each MN may be given.

    `dropped` counts by reason what was not relayed (`show`-able, and what tests assert).
    """

    server: IPv4Address
    agent_address: IPv4Address | None = None  # giaddr instead of the default router (RFC 3527)
    leases: dict[tuple[str, bytes], Lease] = field(default_factory=dict)
    server_ids: dict[tuple[str, bytes], bytes] = field(default_factory=dict)  # the server's own, per MN
    dropped: Counter[str] = field(default_factory=Counter)
    relayed: Counter[str] = field(default_factory=Counter)

    def grant(self, ifname: str, mac: bytes, lease: Lease) -> None:
        """The PBA gave `mac` this HoA: its requests may now be relayed, this address only."""
        self.leases[(ifname, mac)] = lease

    def revoke(self, ifname: str, mac: bytes) -> None:
        self.leases.pop((ifname, mac), None)
        self.server_ids.pop((ifname, mac), None)

    def allowed(self, ifname: str, mac: bytes) -> bool:
        return (ifname, mac) in self.leases

    # ---- MN -> server -----------------------------------------------------------------

    def from_client(self, ifname: str, request: DhcpMessage) -> ToServer | Dropped:
        """The relayed form of an MN's request, or why (counted) it must not go out."""
        lease = self.leases.get((ifname, request.chaddr))
        if request.op != BOOTREQUEST or request.message_type not in RELAYED_TYPES:
            return self._drop('not-a-request')
        if lease is None or lease.router is None:
            return self._drop('no-home-address')  # before the PBA, or no default router to use as giaddr
        if request.giaddr != ZERO:
            return self._drop('client-set-giaddr')  # the MN is alone on its link: we are the first relay
        if request.hops >= MAX_HOPS:
            return self._drop('too-many-hops')
        if request.option(OPT_RELAY_AGENT_INFO) is not None:
            return self._drop('client-sent-agent-info')  # RFC 3046 §2.1: a client never sends option 82
        suboptions = [(AGENT_CIRCUIT_ID, ifname.encode()), (AGENT_REMOTE_ID, request.chaddr)]
        giaddr = lease.router
        if self.agent_address is not None:
            giaddr = self.agent_address
            suboptions.append((AGENT_LINK_SELECTION, lease.router.packed))
        agent = encode_suboptions(tuple(suboptions))
        real_id = self.server_ids.get((ifname, request.chaddr))
        stand_in = lease.router.packed
        # The MN names us as its server (see the module doc): the server must see its own identifier.
        own = tuple(
            (code, real_id if code == OPT_SERVER_ID and value == stand_in and real_id is not None else value)
            for code, value in request.options
        )
        # RFC 3046 §2.1: the Relay Agent Information option goes last, before END.
        options = (*own, (OPT_RELAY_AGENT_INFO, agent))
        relayed = with_options(request, options, giaddr=giaddr, hops=request.hops + 1)
        self.relayed['to-server'] += 1
        return ToServer(self.server, giaddr, relayed)

    # ---- server -> MN -----------------------------------------------------------------

    def from_server(self, reply: DhcpMessage, giaddrs: frozenset[IPv4Address] | None = None) -> ToClient | Dropped:
        """The server's answer as the MN must get it, or why (counted) it must not reach it."""
        if reply.op != BOOTREPLY:
            return self._drop('not-a-reply')
        if giaddrs is not None and reply.giaddr not in giaddrs:
            return self._drop('foreign-giaddr')
        ifname = self._circuit(reply)
        if ifname is None:
            return self._drop('no-circuit')
        lease = self.leases.get((ifname, reply.chaddr))
        if lease is None:
            return self._drop('unknown-client')
        kind = reply.message_type
        if kind in (OFFER, ACK):
            # INFORM's ACK carries no address (yiaddr 0); any address given must be the MN's own HoA.
            if reply.yiaddr not in (lease.address, ZERO) or (kind == OFFER and reply.yiaddr == ZERO):
                return self._drop('address-not-the-home-address')
        elif kind != NAK:
            return self._drop('unexpected-type')
        real_id = reply.option(OPT_SERVER_ID)
        if real_id is not None and lease.router is not None:
            self.server_ids[(ifname, reply.chaddr)] = real_id
        stand_in = lease.router.packed if lease.router is not None else None
        options = tuple(
            (code, stand_in if code == OPT_SERVER_ID and stand_in is not None else value)
            for code, value in reply.options
            if code != OPT_RELAY_AGENT_INFO
        )
        message = with_options(reply, options)
        self.relayed['to-client'] += 1
        # RFC 2131 §4.1: the client cannot receive unicast before it has the address; NAKs are broadcast.
        broadcast = kind == NAK or bool(reply.flags & BROADCAST_FLAG) or reply.ciaddr == ZERO
        return ToClient(ifname, message, broadcast)

    def _circuit(self, reply: DhcpMessage) -> str | None:
        """The access interface the answer belongs to: the circuit-id we put in (RFC 3046 §2.2)."""
        body = reply.option(OPT_RELAY_AGENT_INFO)
        if body is not None:
            try:
                sub = dict(decode_suboptions(body))
            except DecodeError:
                return None
            circuit = sub.get(AGENT_CIRCUIT_ID)
            if circuit is None or sub.get(AGENT_REMOTE_ID, reply.chaddr) != reply.chaddr:
                return None
            name = circuit.decode('ascii', 'replace')
            return name if any(i == name for i, _ in self.leases) else None
        # A server that does not echo option 82 (RFC 3046 §2.2 allows it): the MAC's only link.
        links = [ifname for ifname, mac in self.leases if mac == reply.chaddr]
        return links[0] if len(links) == 1 else None

    def _drop(self, reason: str) -> Dropped:
        self.dropped[reason] += 1
        return Dropped(reason)
