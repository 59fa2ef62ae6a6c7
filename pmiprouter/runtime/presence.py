"""Finding a mobile node that arrives without a word: the MAG asks the link who is there.

A host that roams keeps its addresses and its default router (every MAG has the same
link-local and link-layer address, RFC 5213 §6.8), so on re-association it sends no Router
Solicitation and no DHCP request: nothing would tell the new MAG it arrived until its
neighbour cache needs the MAG. So when an access link gains its carrier, the MAG sends an
ICMPv6 Echo Request to all-nodes (ff02::1) from its link-local address; the host's kernel
answers, and the answer's link-layer source is the host's MAC, its identity for PMIPv6.
A host's kernel also sends MLD Reports as soon as its own link comes up (RFC 3810 §6.1 on
re-activation), which tells the MAG the same thing a little earlier.

Both are read from an AF_PACKET socket per access link with a classic BPF filter that passes
only ICMPv6 Echo Replies and MLD Reports, so data traffic on the link never reaches Python.
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from pmiprouter.runtime.reader import SocketReader

ETH_P_IPV6 = 0x86DD
ETH_P_ARP = 0x0806
BROADCAST = b'\xff' * 6
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY = 128, 129
MLD1_REPORT, MLD2_REPORT = 131, 143
IPPROTO_HOPOPTS, IPPROTO_ICMPV6 = 0, 58
IPV6_HEADER = 40

_BPF_INSN = struct.Struct('=HBBI')  # struct sock_filter: code, jt, jf, k
_LDB_ABS, _JEQ_K, _RET_K = 0x30, 0x15, 0x06

#: When to send Echo Requests after the carrier comes up, until a new host is heard. The
#: host's side of the link may come up later: Linux activates a device's transmit queue only
#: when its link watch runs, up to one second after the carrier event. Every 10 ms during
#: that second bounds the detection delay; then a few more, further apart.
SOLICIT_DELAYS = tuple(n * 0.01 for n in range(120)) + (1.6, 2.4, 3.2, 4.8)


class Solicitation:
    """The Echo Requests of one carrier gain, at SOLICIT_DELAYS from now, until `ask` says stop.

    One timer is pending at a time (the next request), not one per request: when a host is
    heard the MAG sends its PBU, and cancelling 124 timers (and the reactor's clean-up of
    them) would delay that exchange for nothing.
    """

    def __init__(self, clock: Any, ask: Callable[[int], bool], delays: tuple[float, ...] = SOLICIT_DELAYS) -> None:
        self.clock = clock
        self.ask = ask  # sends request number n; False: a host was heard, stop
        self.delays = delays
        self.started = clock.seconds()
        self.call: Any = clock.callLater(delays[0], self._fire, 0) if delays else None

    def _fire(self, number: int) -> None:
        self.call = None
        if not self.ask(number) or number + 1 >= len(self.delays):
            return
        due = self.started + self.delays[number + 1]
        self.call = self.clock.callLater(max(0.0, due - self.clock.seconds()), self._fire, number + 1)

    @property
    def active(self) -> bool:
        return self.call is not None

    def cancel(self) -> None:
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None


def presence_filter() -> bytes:
    """BPF over the IPv6 header (SOCK_DGRAM): pass ICMPv6 Echo Replies, and MLD Reports behind
    the Hop-by-Hop header MLD always has (RFC 3810 §5); drop everything else (data traffic)."""
    program = [
        (_LDB_ABS, 0, 0, 6),  # 0: IPv6 next header
        (_JEQ_K, 0, 2, IPPROTO_ICMPV6),  # 1: ICMPv6 -> 2, else -> 4
        (_LDB_ABS, 0, 0, IPV6_HEADER),  # 2: ICMPv6 type
        (_JEQ_K, 6, 7, ICMP6_ECHO_REPLY),  # 3: -> accept / drop
        (_JEQ_K, 0, 6, IPPROTO_HOPOPTS),  # 4: Hop-by-Hop -> 5, else drop
        (_LDB_ABS, 0, 0, IPV6_HEADER),  # 5: its next header
        (_JEQ_K, 0, 4, IPPROTO_ICMPV6),  # 6: ICMPv6 -> 7, else drop
        (_LDB_ABS, 0, 0, IPV6_HEADER + 8),  # 7: ICMPv6 type after an 8-byte Hop-by-Hop header
        (_JEQ_K, 1, 0, MLD2_REPORT),  # 8: -> accept / 9
        (_JEQ_K, 0, 1, MLD1_REPORT),  # 9: -> accept / drop
        (_RET_K, 0, 0, 0xFFFF),  # 10: accept
        (_RET_K, 0, 0, 0),  # 11: drop
    ]
    return b''.join(_BPF_INSN.pack(*insn) for insn in program)


def attach_filter(sock: socket.socket, program: bytes) -> None:
    """SO_ATTACH_FILTER: the kernel copies the program during the call."""
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack('@HP', len(program) // _BPF_INSN.size, ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def echo_request(ident: int, sequence: int) -> bytes:
    """An ICMPv6 Echo Request (the kernel fills in the checksum on an ICMPv6 raw socket)."""
    return struct.pack('!BBHHH', ICMP6_ECHO_REQUEST, 0, 0, ident & 0xFFFF, sequence & 0xFFFF) + b'pmip'


def gratuitous_arp(address: IPv4Address, mac: bytes) -> bytes:
    """An ARP Request announcing `address` at `mac` (sender and target address the same).

    The IPv4 twin of the Router Advertisement's source link-layer address: a host that lost
    its carrier has dropped its ARP entry for its default router, and this refills it (Linux
    updates an existing or pending entry on a gratuitous ARP) instead of the host's own ARP
    retry a second later.
    """
    return struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac + address.packed + bytes(6) + address.packed


def send_gratuitous_arp(sock: socket.socket, ifname: str, address: IPv4Address, mac: bytes) -> None:
    sock.sendto(gratuitous_arp(address, mac), (ifname, ETH_P_ARP, 0, 0, BROADCAST))


class HostSignals(SocketReader):
    """Echo Replies and MLD Reports from hosts on one access link, as (ifname, source MAC)."""

    def __init__(self, reactor: Any, ifname: str, on_reply: Callable[[str, bytes], None]) -> None:
        # Protocol 0 first: nothing is queued before the filter is in place; bind then selects IPv6.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        super().__init__(reactor, sock, f'HostSignals({ifname})')
        attach_filter(sock, presence_filter())
        sock.bind((ifname, ETH_P_IPV6))
        sock.setblocking(False)
        self.ifname = ifname
        self.on_reply = on_reply

    def receive(self) -> tuple[bytes, Any]:
        return self.sock.recvfrom(2048)

    def handle(self, packet: tuple[bytes, Any]) -> None:
        _data, address = packet
        pkttype, mac = address[2], address[4]
        # Echo Replies come to us (PACKET_HOST), MLD Reports to a group (PACKET_MULTICAST);
        # what we send ourselves is PACKET_OUTGOING.
        if pkttype != PACKET_OUTGOING and len(mac) == 6:
            self.on_reply(self.ifname, mac)
