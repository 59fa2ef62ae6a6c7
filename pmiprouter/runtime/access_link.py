"""The MAG's access links: Router Solicitations in, Router Advertisements out, link set-up.

One raw ICMPv6 socket per access interface (bound to it, filtered to RS, joined to
all-routers) turns each RS into a RouterSolicitationReceived event; SendRouterAdvertisement
actions go out from the domain's fixed link-local address with hop limit 255 (RFC 4861
§6.1.2 requires it). At start every access interface gets the fixed link-layer address and
link-local address (RFC 5213 §6.8, RFC 6543), so the MN's default router never changes.

Attach and detach also come from the link: carrier loss detaches a link's MNs; carrier gain
makes the MAG ask who is there (an Echo Request to all-nodes, repeated until a new host
answers or sends an MLD Report: presence.py), because a roaming host that keeps its
addresses sends no RS.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from pathlib import Path
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from twisted.logger import Logger

from pmiprouter.access import netlink_events
from pmiprouter.access.nd import ALL_NODES, ALL_ROUTERS, PrefixInformation, RouterAdvertisement, decode_rs, encode_ra
from pmiprouter.core.mag_events import (
    AttachTrigger,
    DetachReason,
    MobileNodeAttached,
    MobileNodeDetached,
    NeighbourReachable,
    ProbeNeighbour,
    RouterSolicitationReceived,
    SendRouterAdvertisement,
    SetLinkLocal,
)
from pmiprouter.dataplane.rtnl_batch import IFA_F_NODAD, RtnlBatch
from pmiprouter.mh.errors import DecodeError
from pmiprouter.runtime.presence import HostSignals, Solicitation, echo_request, send_gratuitous_arp
from pmiprouter.runtime.reader import SocketReader

ICMP6_FILTER = 1  # <netinet/icmp6.h>
ROUTER_SOLICITATION = 133
_PKTINFO = struct.Struct('16sI')
NUD_ALIVE = 0x02 | 0x04 | 0x08 | 0x10 | 0x80  # REACHABLE, STALE, DELAY, PROBE, PERMANENT


def rs_only_filter() -> bytes:
    """An ICMP6_FILTER passing only Router Solicitations (a set bit blocks that type)."""
    words = [0xFFFFFFFF] * 8
    words[ROUTER_SOLICITATION >> 5] &= ~(1 << (ROUTER_SOLICITATION & 31))
    return struct.pack('8I', *words)


class AccessLink(SocketReader):
    """RS/RA on one access interface."""

    def __init__(self, reactor: Any, ifname: str, deliver: Callable[[Any], None]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6), f'AccessLink({ifname})')
        self.ifname = ifname
        self.ifindex = socket.if_nametoindex(ifname)
        self.deliver = deliver
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        self.sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, rs_only_filter())
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)  # our RAs are not for us
        mreq = ALL_ROUTERS.packed + struct.pack('@I', self.ifindex)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self.rs_received = 0
        self.rs_dropped = 0

    def receive(self) -> tuple[bytes, list[tuple[int, int, bytes]]]:
        data, ancillary, _, _ = self.sock.recvmsg(1500, socket.CMSG_SPACE(4))
        return data, ancillary

    def handle(self, packet: tuple[bytes, list[tuple[int, int, bytes]]]) -> None:
        self.on_packet(*packet)

    def on_packet(self, data: bytes, ancillary: list[tuple[int, int, bytes]]) -> None:
        hop_limit = next((int.from_bytes(v[:4], 'little') for lvl, kind, v in ancillary if kind == socket.IPV6_HOPLIMIT), 255)
        try:
            rs = decode_rs(data)
        except DecodeError:
            self.rs_dropped += 1
            return
        if hop_limit != 255 or rs.source_mac is None:  # RFC 4861 §6.1.1; no MAC, no MN identity
            self.rs_dropped += 1
            return
        self.rs_received += 1
        self.deliver(RouterSolicitationReceived(self.ifname, rs.source_mac))

    def send_ra(self, action: SendRouterAdvertisement, source: IPv6Address) -> None:
        pios = tuple(PrefixInformation(p, action.lifetime, action.lifetime) for p in action.prefixes)
        ra = RouterAdvertisement(action.router_lifetime, pios, action.mtu, action.source_mac)
        pktinfo = _PKTINFO.pack(source.packed, self.ifindex)
        try:
            self.sock.sendmsg([encode_ra(ra)], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0, (str(ALL_NODES), 0, 0, self.ifindex))
        except OSError as exc:
            self.log.warn('RA on {ifname} not sent: {error}', ifname=self.ifname, error=exc)


    def send_echo(self, source: IPv6Address, sequence: int) -> None:
        """Echo Request to all-nodes on this link: whoever is there answers (see presence.py)."""
        pktinfo = _PKTINFO.pack(source.packed, self.ifindex)
        try:
            self.sock.sendmsg([echo_request(self.ifindex, sequence)], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0,
                              (str(ALL_NODES), 0, 0, self.ifindex))
        except OSError as exc:
            self.log.warn('echo request on {ifname} not sent: {error}', ifname=self.ifname, error=exc)


class LinkMonitor(SocketReader):
    """rtnetlink link and neighbour notifications for the access links (attach and detach detection)."""

    batch = 64

    def __init__(self, reactor: Any, on_events: Callable[[list[Any]], None]) -> None:
        super().__init__(reactor, socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0), 'LinkMonitor')  # NETLINK_ROUTE
        self.on_events = on_events
        self.sock.bind((0, netlink_events.RTMGRP_LINK | netlink_events.RTMGRP_NEIGH))
        self.sock.setblocking(False)

    def receive(self) -> bytes:
        return self.sock.recv(65536)

    def handle(self, packet: bytes) -> None:
        self.on_events(netlink_events.parse(packet))


class AccessLinks:
    """All access links of one MAG, and the MAG's access-link actions carried out on them."""

    log = Logger()

    def __init__(self, reactor: Any, ifnames: list[str], deliver: Callable[[Any], None], link_local: IPv6Address, mac: bytes | None) -> None:
        from pyroute2 import IPRoute

        self.ipr = IPRoute()
        self.rtnl = RtnlBatch()  # addresses added while MNs register: no pyroute2 on that path
        self.link_local = link_local
        for ifname in ifnames:
            self.prepare(ifname, mac)
        self.deliver = deliver
        self.links = {ifname: AccessLink(reactor, ifname, self.on_rs) for ifname in ifnames}
        self.names = {link.ifindex: ifname for ifname, link in self.links.items()}
        self.own_mac = mac
        self.known: dict[str, set[bytes]] = {ifname: set() for ifname in ifnames}  # MNs seen per link
        self.monitor = LinkMonitor(reactor, self.on_netlink)
        self.reactor = reactor
        self.host_signals = {ifname: HostSignals(reactor, ifname, self.on_host_signal) for ifname in ifnames}
        self.carrier: dict[str, bool] = {ifname: False for ifname in ifnames}
        self.soliciting: dict[str, Solicitation] = {}  # ifname -> its pending Echo Requests
        self.arp_sender = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)  # sends only

    def on_rs(self, event: RouterSolicitationReceived) -> None:
        self.known[event.ifname].add(event.mac)
        self.deliver(event)

    def on_netlink(self, events: list[Any]) -> None:
        """Carrier loss on an access link detaches its MNs; a newly reachable neighbour attaches one."""
        for event in events:
            ifname = self.names.get(event.ifindex)
            if ifname is None:
                continue
            if isinstance(event, netlink_events.LinkChange) and (event.deleted or not event.carrier):
                self.carrier[ifname] = False
                self.stop_soliciting(ifname)
                for mac in sorted(self.known[ifname]):
                    self.deliver(MobileNodeDetached(ifname, mac, DetachReason.LINK_DOWN))
                self.known[ifname].clear()
            elif isinstance(event, netlink_events.LinkChange):
                if not self.carrier[ifname]:
                    self.carrier[ifname] = True
                    self.log.info('access-link-up ifname={ifname}', ifname=ifname)
                    self.solicit(ifname)
            elif (
                isinstance(event, netlink_events.NeighbourChange)
                and not event.deleted
                and event.mac is not None
                and event.mac != self.own_mac
                and event.state & netlink_events.NUD_REACHABLE
                and event.mac not in self.known[ifname]
            ):
                self.known[ifname].add(event.mac)
                self.deliver(MobileNodeAttached(ifname, event.mac, AttachTrigger.NEIGHBOUR))

    def solicit(self, ifname: str) -> None:
        """The link has a carrier again: ask who is there until a new host answers (presence.py)."""
        self.stop_soliciting(ifname)
        known = frozenset(self.known[ifname])

        def ask(sequence: int) -> bool:
            if self.known[ifname] - known:
                self.soliciting.pop(ifname, None)  # a new host answered (or sent an RS)
                return False
            self.links[ifname].send_echo(self.link_local, sequence)
            return True

        self.soliciting[ifname] = Solicitation(self.reactor, ask)

    def stop_soliciting(self, ifname: str) -> None:
        solicitation = self.soliciting.pop(ifname, None)
        if solicitation is not None:
            solicitation.cancel()

    def on_host_signal(self, ifname: str, mac: bytes) -> None:
        """A host answered the Echo Request or sent an MLD Report: it is attached, as a new neighbour is."""
        if mac == self.own_mac or mac in self.known[ifname]:
            return
        self.known[ifname].add(mac)
        self.deliver(MobileNodeAttached(ifname, mac, AttachTrigger.NEIGHBOUR))
        self.stop_soliciting(ifname)  # after the attach: its PBU goes out first

    def prepare(self, ifname: str, mac: bytes | None) -> None:
        """The fixed MAC and link-local address on the access interface (RFC 5213 §6.8-§6.9.3),
        and router behaviour: forward, and never autoconfigure from RAs (ours included)."""
        for key, value in (('forwarding', '1'), ('accept_ra', '0')):
            Path(f'/proc/sys/net/ipv6/conf/{ifname}/{key}').write_text(value)
        index = self.ipr.link_lookup(ifname=ifname)[0]
        if mac is not None:
            self.ipr.link('set', index=index, address=':'.join(f'{b:02x}' for b in mac))
        self.add_link_local(index, self.link_local)

    def add_link_local(self, index: int, address: IPv6Address) -> None:
        self.add_address(index, address, 64, IFA_F_NODAD)

    def add_address(self, index: int, address: IPv4Address | IPv6Address, prefixlen: int, flags: int = 0) -> None:
        """Add an address unless it is there: one netlink round trip (rtnl_batch), no dump.

        It runs on the reactor thread right after a registration (the MN's IPv4 router), when
        the packet pump is forwarding the MN's first packets and waits for the GIL: pyroute2's
        dump-then-add held it for milliseconds there.
        """
        code = self.rtnl.add_address(index, address, prefixlen, flags)
        if code not in (0, errno.EEXIST):
            raise OSError(code, f'cannot add {address}/{prefixlen} to interface {index}: {os.strerror(code)}')

    def add_ipv4_router(self, ifname: str, address: IPv4Address) -> None:
        """The MN's IPv4 default router on its access link, so the MAG answers ARP for it (RFC 5844 §3.2.3.2),
        announced at once (presence.gratuitous_arp): a host arriving from another MAG re-resolves it."""
        self.add_address(socket.if_nametoindex(ifname), address, 32)
        try:
            mac = self.own_mac or bytes.fromhex(Path(f'/sys/class/net/{ifname}/address').read_text().strip().replace(':', ''))
            send_gratuitous_arp(self.arp_sender, ifname, address, mac)
        except (OSError, ValueError) as exc:
            self.log.warn('gratuitous ARP for {address} on {ifname} not sent: {error}', address=address, ifname=ifname, error=exc)

    def start(self) -> None:
        for link in self.links.values():
            link.start()
        for replies in self.host_signals.values():
            replies.start()
        self.monitor.start()

    def stop(self) -> None:
        self.monitor.stop()
        for ifname in list(self.soliciting):
            self.stop_soliciting(ifname)
        for replies in self.host_signals.values():
            replies.stop()
        for link in self.links.values():
            link.stop()
        self.arp_sender.close()
        self.ipr.close()
        self.rtnl.close()

    def execute(self, action: Any) -> None:
        """Carry out one MAG access-link action (the driver's `extra` handler)."""
        match action:
            case SendRouterAdvertisement(ifname=ifname) if ifname in self.links:
                self.links[ifname].send_ra(action, action.source or self.link_local)
            case SetLinkLocal(ifname=ifname, address=address):
                self.add_link_local(socket.if_nametoindex(ifname), address)
            case ProbeNeighbour(ifname=ifname, mac=mac):
                self.probe(ifname, mac)
            case _:
                self.log.debug('access-link action {action} not handled here', action=type(action).__name__)

    def probe(self, ifname: str, mac: bytes) -> None:
        """Is `mac` still on the link? Answered from the kernel's neighbour cache (its own NUD)."""
        index = self.ipr.link_lookup(ifname=ifname)[0]
        text = ':'.join(f'{b:02x}' for b in mac)
        alive = any(
            n.get_attr('NDA_LLADDR') == text and n['state'] & NUD_ALIVE
            for n in self.ipr.get_neighbours(ifindex=index)
        )
        if alive:
            self.deliver(NeighbourReachable(ifname, mac))
        else:
            self.deliver(MobileNodeDetached(ifname, mac, DetachReason.NUD_FAILURE))
