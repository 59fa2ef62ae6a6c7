"""DHCPv6 relay on the MAG's access links (RFC 5213 §6.11, RFC 8415 §19).

One UDP 547 socket per access interface (bound to it, joined to ff02::1:2) takes the MNs'
client messages; one more, bound to no device, sends Relay-Forwards to the configured
server and takes its Relay-Replies. `pmiprouter.access.dhcp6_relay` decides what passes;
the MNs' home network prefixes come from the engine's Router Advertisement actions (the
HNPs after the PBA; lifetime 0 withdraws them), which are only observed here.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

from twisted.logger import Logger

from pmiprouter.access.dhcp6 import ALL_DHCP_RELAY_AGENTS_AND_SERVERS, CLIENT_PORT, SERVER_PORT
from pmiprouter.access.dhcp6_relay import Attach6, Deliver6, Dhcp6Relay, Dropped6, Forward6
from pmiprouter.core.mag_events import DhcpDiscover, SendRouterAdvertisement
from pmiprouter.runtime.reader import SocketReader

IPV6_MULTICAST_ALL = 29  # <linux/in6.h>: off, so the server side sees no client multicasts
_PKTINFO = struct.Struct('16sI')


class Dhcp6AccessPort(SocketReader):
    """The client side of the relay on one access interface."""

    def __init__(self, reactor: Any, ifname: str, on_client: Callable[[str, IPv6Address, bytes], None]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM), f'Dhcp6AccessPort({ifname})')
        self.ifname = ifname
        self.ifindex = socket.if_nametoindex(ifname)
        self.on_client = on_client
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        self.sock.bind(('::', SERVER_PORT))
        mreq = ALL_DHCP_RELAY_AGENTS_AND_SERVERS.packed + struct.pack('@I', self.ifindex)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self.sock.setblocking(False)

    def receive(self) -> tuple[bytes, Any]:
        return self.sock.recvfrom(65535)

    def handle(self, packet: tuple[bytes, Any]) -> None:
        data, source = packet
        address = IPv6Address(source[0].split('%')[0])
        self.on_client(self.ifname, address, data)

    def send(self, peer: IPv6Address, payload: bytes) -> None:
        try:
            self.sock.sendto(payload, (str(peer), CLIENT_PORT, 0, self.ifindex))
        except OSError as exc:
            self.log.warn('DHCPv6 reply on {ifname} not sent: {error}', ifname=self.ifname, error=exc)


class Dhcp6ServerPort(SocketReader):
    """The server side: Relay-Forwards out, Relay-Replies in (only from the server, never from an access link)."""

    def __init__(self, reactor: Any, on_server: Callable[[bytes], None], server: IPv6Address, access_indexes: set[int]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM), 'Dhcp6ServerPort')
        self.on_server = on_server
        self.server = server
        self.access_indexes = access_indexes
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        self.sock.bind(('::', SERVER_PORT))
        self.sock.setblocking(False)
        self.foreign = 0

    def receive(self) -> tuple[bytes, list[tuple[int, int, bytes]], Any]:
        data, ancillary, _, source = self.sock.recvmsg(65535, socket.CMSG_SPACE(_PKTINFO.size))
        return data, ancillary, source

    def handle(self, packet: tuple[bytes, list[tuple[int, int, bytes]], Any]) -> None:
        data, ancillary, source = packet
        ifindex = next((_PKTINFO.unpack(v[: _PKTINFO.size])[1] for _, kind, v in ancillary if kind == socket.IPV6_PKTINFO), 0)
        if ifindex in self.access_indexes:
            return  # an MN's message, also seen by its access port
        if IPv6Address(source[0].split('%')[0]) != self.server:
            self.foreign += 1
            return
        self.on_server(data)

    def send(self, out: Forward6) -> None:
        try:
            self.sock.sendto(out.payload, (str(out.server), SERVER_PORT))
        except OSError as exc:
            self.log.warn('DHCPv6 Relay-Forward to {server} not sent: {error}', server=out.server, error=exc)


class Dhcp6Links:
    """The DHCPv6 relay of one MAG: every access interface and the server side."""

    log = Logger()

    def __init__(self, reactor: Any, ifnames: list[str], deliver: Callable[[Any], None], server: IPv6Address) -> None:
        self.relay = Dhcp6Relay(server)
        self.deliver = deliver
        self.ports = {ifname: Dhcp6AccessPort(reactor, ifname, self.on_client) for ifname in ifnames}
        self.server_port = Dhcp6ServerPort(reactor, self.on_server, server, {p.ifindex for p in self.ports.values()})

    def start(self) -> None:
        for port in self.ports.values():
            port.start()
        self.server_port.start()

    def stop(self) -> None:
        self.server_port.stop()
        for port in self.ports.values():
            port.stop()

    def on_client(self, ifname: str, source: IPv6Address, data: bytes) -> None:
        out = self.relay.from_client(ifname, source, data)
        if isinstance(out, Attach6):
            self.deliver(DhcpDiscover(out.ifname, out.mac))  # a SOLICIT is an attach trigger too
        elif isinstance(out, Forward6):
            self.server_port.send(out)
        else:
            self.log.info('dhcp6-relay-dropped reason={reason} ifname={ifname}', reason=out.reason, ifname=ifname)

    def on_server(self, data: bytes) -> None:
        out = self.relay.from_server(data)
        if isinstance(out, Dropped6):
            self.log.warn('dhcp6-relay-dropped reason={reason}', reason=out.reason)
        elif isinstance(out, Deliver6) and out.ifname in self.ports:
            self.ports[out.ifname].send(out.peer, out.payload)

    def observe(self, action: Any) -> None:
        """Learn the MNs' HNPs from the RAs the engine sends (the action still goes to the access link)."""
        if isinstance(action, SendRouterAdvertisement) and action.ifname in self.ports:
            prefixes = action.prefixes if action.lifetime > 0 else ()
            for out in self.relay.set_prefixes(action.ifname, action.mac, prefixes):
                self.server_port.send(out)
