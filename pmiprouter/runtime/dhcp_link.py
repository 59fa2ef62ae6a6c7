"""DHCPv4 on the MAG's access links: one UDP 67 socket per access interface (RFC 5844 §3.4).

A DISCOVER from an MN without a lease becomes a DhcpDiscover event (it triggers the PBU);
once the PBA granted an IPv4 HoA the engine says OfferIpv4, the co-located server gets the
lease and answers the waiting DISCOVER at once. RELEASE becomes a DhcpRelease event (IPv4-only
de-registration). The IPv4 default router address is put on the access interface, so the
MAG answers ARP for it and the replies leave from it (the server identifier).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any


from pmiprouter.access import dhcp4
from pmiprouter.core.mag_events import DhcpDiscover, DhcpRelease, OfferIpv4, RevokeIpv4
from pmiprouter.mh.errors import DecodeError
from pmiprouter.runtime.reader import SocketReader

SERVER_PORT, CLIENT_PORT = 67, 68


class DhcpPort(SocketReader):
    """The DHCPv4 server socket of one access interface."""

    def __init__(self, reactor: Any, ifname: str, server: dhcp4.DhcpServer, deliver: Callable[[Any], None]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), f'DhcpPort({ifname})')
        self.ifname = ifname
        self.server = server
        self.deliver = deliver
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
        if kind == dhcp4.RELEASE:
            self.deliver(DhcpRelease(self.ifname, message.chaddr))
            return
        reply = self.server.handle(self.ifname, message)
        if reply is not None:
            self.send(reply)
        elif kind == dhcp4.DISCOVER:
            self.pending[message.chaddr] = message  # nothing before the PBA (RFC 5844 §3.4.1)
            self.deliver(DhcpDiscover(self.ifname, message.chaddr))

    def grant(self, mac: bytes, lease: dhcp4.Lease) -> None:
        self.server.grant(self.ifname, mac, lease)
        waiting = self.pending.pop(mac, None)
        if waiting is not None:
            reply = self.server.handle(self.ifname, waiting)
            if reply is not None:
                self.send(reply)

    def send(self, reply: dhcp4.Reply) -> None:
        target = '255.255.255.255' if reply.broadcast else str(reply.message.yiaddr)
        try:
            self.sock.sendto(dhcp4.encode(reply.message), (target, CLIENT_PORT))
        except OSError as exc:
            self.log.warn('DHCP reply on {ifname} not sent: {error}', ifname=self.ifname, error=exc)


class DhcpLinks:
    """The DHCPv4 server of every access interface, and the MAG's DHCP actions."""

    def __init__(self, reactor: Any, ifnames: list[str], deliver: Callable[[Any], None], add_router: Callable[[str, IPv4Address], None]) -> None:
        self.server = dhcp4.DhcpServer()
        self.ports = {ifname: DhcpPort(reactor, ifname, self.server, deliver) for ifname in ifnames}
        self.add_router = add_router

    def start(self) -> None:
        for port in self.ports.values():
            port.start()

    def stop(self) -> None:
        for port in self.ports.values():
            port.stop()

    def execute(self, action: Any) -> bool:
        """Carry out OfferIpv4 / RevokeIpv4; False for any other action."""
        match action:
            case OfferIpv4(ifname=ifname, mac=mac) if ifname in self.ports and not action.relay:
                if action.router is not None:
                    self.add_router(ifname, action.router)
                self.ports[ifname].grant(mac, dhcp4.Lease(action.address, action.prefix_length, action.router, action.mtu))
                return True
            case RevokeIpv4(ifname=ifname, mac=mac):
                self.server.revoke(ifname, mac)
                return True
        return False
