"""DHCPv4 on the MAG's access links: one UDP 67 socket per access interface (RFC 5844 §3.4).

A DISCOVER from an MN without a lease becomes a DhcpDiscover event (it triggers the PBU);
once the PBA granted an IPv4 HoA the engine says OfferIpv4 and the waiting DISCOVER is
answered at once: by the co-located server (the default), or relayed to the configured
server (`dhcp mode relay destination A.B.C.D`; `pmiprouter.access.dhcp4_relay` decides what
may pass). RELEASE becomes a DhcpRelease event (IPv4-only de-registration; relayed too in
relay mode). The IPv4 default router address is put on the access interface, so the MAG
answers ARP for it and the replies leave from it (the server identifier, or giaddr).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from twisted.logger import Logger

from pmiprouter.access import dhcp4
from pmiprouter.access.dhcp4_relay import Dhcp4Relay, Dropped, ToClient, ToServer
from pmiprouter.core.mag_events import DhcpDiscover, DhcpRelease, OfferIpv4, RevokeIpv4
from pmiprouter.mh.errors import DecodeError
from pmiprouter.runtime.reader import SocketReader

SERVER_PORT, CLIENT_PORT = 67, 68
MAX_PENDING = 1024  # DISCOVERs waiting for a PBA per link: a flood of invented MACs evicts the oldest
IP_PKTINFO = getattr(socket, 'IP_PKTINFO', 8)
_PKTINFO = struct.Struct('@I4s4s')  # struct in_pktinfo: ifindex, spec_dst, addr


class DhcpPort(SocketReader):
    """The DHCPv4 socket of one access interface: co-located server, or the relay's client side."""

    def __init__(
        self, reactor: Any, ifname: str, server: dhcp4.DhcpServer, deliver: Callable[[Any], None],
        relay: DhcpRelayPort | None = None,
    ) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), f'DhcpPort({ifname})')
        self.ifname = ifname
        self.ifindex = socket.if_nametoindex(ifname)
        self.server = server
        self.deliver = deliver
        self.relay = relay
        self.pending: dict[bytes, dhcp4.DhcpMessage] = {}  # last DISCOVER per MAC, answered when the lease arrives
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        self.sock.bind(('', SERVER_PORT))
        self.sock.setblocking(False)
        self.dropped = 0

    def receive(self) -> bytes:
        return self.sock.recv(1500)

    def handle(self, packet: bytes) -> None:
        try:
            message = dhcp4.decode(packet)
        except DecodeError:  # hostile or broken input from the access side: counted, dropped
            self.dropped += 1
            return
        self.on_message(message)

    def on_message(self, message: dhcp4.DhcpMessage) -> None:
        kind = message.message_type
        if message.op != dhcp4.BOOTREQUEST or len(message.chaddr) != 6:
            self.dropped += 1
            return
        if self.relay is not None:
            self.on_relayed(message)
            return
        if kind == dhcp4.RELEASE:
            self.deliver(DhcpRelease(self.ifname, message.chaddr))
            return
        reply = self.server.handle(self.ifname, message)
        if reply is not None:
            self.send(reply)
        elif kind == dhcp4.DISCOVER:
            self.hold(message)  # nothing before the PBA (RFC 5844 §3.4.1)
            self.deliver(DhcpDiscover(self.ifname, message.chaddr))

    def on_relayed(self, message: dhcp4.DhcpMessage) -> None:
        """Relay mode: the MN's request goes to the server once it has a HoA; a DISCOVER waits for it."""
        assert self.relay is not None
        kind = message.message_type
        if self.relay.relay.allowed(self.ifname, message.chaddr):
            self.relay.forward(self.ifname, message)  # a RELEASE too: the server frees its lease
        elif kind == dhcp4.DISCOVER:
            self.hold(message)  # nothing before the PBA (RFC 5844 §3.4)
            self.deliver(DhcpDiscover(self.ifname, message.chaddr))
            return
        else:
            self.relay.relay.dropped['no-home-address'] += 1
        if kind == dhcp4.RELEASE:
            self.deliver(DhcpRelease(self.ifname, message.chaddr))

    def hold(self, discover: dhcp4.DhcpMessage) -> None:
        """Keep the MN's latest DISCOVER until its PBA; bounded, so invented MACs cannot exhaust memory."""
        self.pending.pop(discover.chaddr, None)
        if len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]
        self.pending[discover.chaddr] = discover

    def grant(self, mac: bytes, lease: dhcp4.Lease) -> None:
        """The PBA's HoA for `mac`: serve (or relay) it, and answer the DISCOVER that waited for it."""
        waiting = self.pending.pop(mac, None)
        if self.relay is not None:
            self.relay.relay.grant(self.ifname, mac, lease)
            if waiting is not None:
                self.relay.forward(self.ifname, waiting)
            return
        self.server.grant(self.ifname, mac, lease)
        if waiting is not None:
            reply = self.server.handle(self.ifname, waiting)
            if reply is not None:
                self.send(reply)

    def send(self, reply: dhcp4.Reply) -> None:
        self.send_message(reply.message, reply.broadcast)

    def send_message(self, message: dhcp4.DhcpMessage, broadcast: bool) -> None:
        target = '255.255.255.255' if broadcast else str(message.yiaddr)
        try:
            self.sock.sendto(dhcp4.encode(message), (target, CLIENT_PORT))
        except OSError as exc:
            self.log.warn('DHCP reply on {ifname} not sent: {error}', ifname=self.ifname, error=exc)


class DhcpRelayPort(SocketReader):
    """The relay's server side: requests out to the server from giaddr, its answers in (port 67).

    Bound to no device, so the server's unicast answers to giaddr arrive here whatever the
    uplink; what arrives over an access interface is an MN talking, never the server.
    """

    def __init__(self, reactor: Any, relay: Dhcp4Relay, access: Callable[[], dict[str, DhcpPort]]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 'DhcpRelayPort')
        self.relay = relay
        self.access = access
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.sock.bind(('', SERVER_PORT))
        self.sock.setblocking(False)
        self.giaddrs: set[IPv4Address] = set()

    def receive(self) -> tuple[bytes, list[tuple[int, int, bytes]], Any]:
        data, ancillary, _, source = self.sock.recvmsg(1500, socket.CMSG_SPACE(_PKTINFO.size))
        return data, ancillary, source

    def handle(self, packet: tuple[bytes, list[tuple[int, int, bytes]], Any]) -> None:
        data, ancillary, source = packet
        ifindex = next((_PKTINFO.unpack(v[: _PKTINFO.size])[0] for lvl, kind, v in ancillary if kind == IP_PKTINFO), 0)
        if any(port.ifindex == ifindex for port in self.access().values()):
            return  # an MN's broadcast request, also seen by its access port: not for this side
        if IPv4Address(source[0]) != self.relay.server:
            self.relay.dropped['not-from-server'] += 1
            return
        try:
            reply = dhcp4.decode(data)
        except DecodeError:
            self.relay.dropped['malformed'] += 1
            return
        out = self.relay.from_server(reply, frozenset(self.giaddrs))
        if isinstance(out, Dropped):
            self.log.warn('dhcp-relay-dropped reason={reason} mac={mac} yiaddr={yiaddr}', reason=out.reason,
                          mac=reply.chaddr.hex(':'), yiaddr=reply.yiaddr)
            return
        self.deliver(out)

    def deliver(self, out: ToClient) -> None:
        port = self.access().get(out.ifname)
        if port is not None:
            port.send_message(out.message, out.broadcast)

    def forward(self, ifname: str, request: dhcp4.DhcpMessage) -> None:
        out = self.relay.from_client(ifname, request)
        if isinstance(out, Dropped):
            self.log.info('dhcp-relay-dropped reason={reason} ifname={ifname}', reason=out.reason, ifname=ifname)
            return
        self.send(out)

    def send(self, out: ToServer) -> None:
        """From giaddr (RFC 1542 §4.1.1), so the server's answer comes back to the access link's router."""
        self.giaddrs.add(out.giaddr)
        pktinfo = _PKTINFO.pack(0, out.giaddr.packed, bytes(4))
        try:
            self.sock.sendmsg([dhcp4.encode(out.message)], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0,
                              (str(out.server), SERVER_PORT))
        except OSError as exc:
            self.log.warn('DHCP request to {server} not relayed: {error}', server=out.server, error=exc)


class DhcpLinks:
    """The DHCPv4 server (or relay) of every access interface, and the MAG's DHCP actions."""

    log = Logger()

    def __init__(
        self, reactor: Any, ifnames: list[str], deliver: Callable[[Any], None],
        add_router: Callable[[str, IPv4Address], None], relay_server: IPv4Address | None = None,
        agent_address: IPv4Address | None = None,
    ) -> None:
        self.server = dhcp4.DhcpServer()
        self.relay: DhcpRelayPort | None = None
        if relay_server is not None:
            self.relay = DhcpRelayPort(reactor, Dhcp4Relay(relay_server, agent_address), lambda: self.ports)
        self.ports = {ifname: DhcpPort(reactor, ifname, self.server, deliver, self.relay) for ifname in ifnames}
        self.add_router = add_router

    def start(self) -> None:
        for port in self.ports.values():
            port.start()
        if self.relay is not None:
            self.relay.start()

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        for port in self.ports.values():
            port.stop()

    def execute(self, action: Any) -> bool:
        """Carry out OfferIpv4 / RevokeIpv4; False for any other action.

        The MAG's own configuration decides server or relay: the LMA's DHCP Support Mode
        (RFC 5844 §3.3.4, `action.relay`) cannot conjure a relay destination it lacks.
        """
        match action:
            case OfferIpv4(ifname=ifname, mac=mac) if ifname in self.ports:
                if action.relay and self.relay is None:
                    self.log.info('LMA asks for DHCP relay on {ifname}; no relay destination configured: serving', ifname=ifname)
                if action.router is not None:
                    self.add_router(ifname, action.router)
                self.ports[ifname].grant(mac, dhcp4.Lease(action.address, action.prefix_length, action.router, action.mtu))
                return True
            case RevokeIpv4(ifname=ifname, mac=mac):
                self.server.revoke(ifname, mac)
                if self.relay is not None:
                    self.relay.relay.revoke(ifname, mac)
                return True
        return False
