"""The userspace fast path: TUN and tunnel sockets read by the Twisted reactor.

Each descriptor is an ``IReadDescriptor`` whose ``doRead`` drains up to :data:`BATCH` packets
(Python has no recvmmsg; draining in a loop is the batching the platform allows) into one
preallocated buffer, and never lets an exception escape: Twisted would drop the descriptor
(``posixbase``). Per-packet logic is in :mod:`encap` (pure); lookups in :mod:`tables`.

Hop limit / TTL: the kernel decrements them when it forwards a packet into the TUN device
and again when it forwards what we write back, exactly as for a kernel tunnel device; this code
does not decrement a second time.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
import time
from collections import Counter
from typing import Any, Callable

from zope.interface import implementer

from twisted.internet.interfaces import IReadDescriptor

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.encap import HEADROOM, DecapError
from pmiprouter.dataplane.interface import PMIP6_DATA_PORT
from pmiprouter.dataplane.tables import Tables, TunnelCtx

log = logging.getLogger(__name__)

BATCH = 64
BUFSIZE = HEADROOM + 65536
IPV6_TCLASS = getattr(socket, 'IPV6_TCLASS', 67)
IPV6_RECVTCLASS = getattr(socket, 'IPV6_RECVTCLASS', 66)
IP_RECVTOS = getattr(socket, 'IP_RECVTOS', 13)
IP_MTU_DISCOVER = getattr(socket, 'IP_MTU_DISCOVER', 10)
_ANC = socket.CMSG_SPACE(4) * 2
_INT = struct.Struct('i')


@implementer(IReadDescriptor)
class Reader:
    """Adapts a file descriptor and a drain callback to the reactor; contains every exception."""

    def __init__(self, fd: int, drain: Callable[[], None], name: str) -> None:
        self.fd = fd
        self.drain = drain
        self.name = name
        self._last_log = 0.0

    def fileno(self) -> int:
        """The descriptor the reactor polls."""
        return self.fd

    def doRead(self) -> None:  # noqa: N802 - Twisted's name
        """Drain the descriptor; log (rate-limited) and swallow errors so the reader survives."""
        try:
            self.drain()
        except Exception:  # noqa: BLE001 - an escaped exception would unregister us
            now = time.monotonic()
            if now - self._last_log > 5:
                self._last_log = now
                log.exception('dataplane reader %s failed', self.name)

    def connectionLost(self, reason: object) -> None:  # noqa: N802 - Twisted's name
        """Nothing to release: the owner closes the descriptor."""

    def logPrefix(self) -> str:  # noqa: N802 - Twisted's name
        """Name in Twisted's logs."""
        return self.name


class Forwarder:
    """Encapsulates packets read from TUN devices and decapsulates packets from tunnel sockets."""

    def __init__(self, tun_fd: int) -> None:
        self.tun_fd = tun_fd
        self.tables = Tables()
        self.counters: Counter[str] = Counter()
        self.buf = bytearray(BUFSIZE)
        self.view = memoryview(self.buf)
        self._rx_view = self.view[HEADROOM:]
        self._rx_list = [self._rx_view]  # reused by readv/recvmsg_into: no list per packet
        # Control messages per outer ECN value; Not-ECT needs none (the sockets' default class
        # is 0), which spares the kernel parsing a cmsg for most packets.
        self._cmsg6 = [[]] + [[(socket.IPPROTO_IPV6, IPV6_TCLASS, _INT.pack(ecn))] for ecn in range(1, 4)]
        self._cmsg4 = [[]] + [[(socket.IPPROTO_IP, socket.IP_TOS, _INT.pack(ecn))] for ecn in range(1, 4)]

    # -- encapsulation ------------------------------------------------------------------------

    def drain_tun(self, fd: int) -> None:
        """Read up to BATCH packets from a TUN device and send each into its tunnel."""
        tables = self.tables
        fixed = tables.by_fd.get(fd) if fd != self.tun_fd else None
        rx = self._rx_list
        for _ in range(BATCH):
            try:
                n = os.readv(fd, rx)
            except BlockingIOError:
                return
            if n:
                self.encapsulate(n, fixed, tables, fd)

    def encapsulate(self, n: int, ctx: TunnelCtx | None, tables: Tables, fd: int) -> None:
        """Send the packet at HEADROOM (n bytes) into ``ctx`` (or the tunnel its address selects)."""
        buf = self.buf
        version = buf[HEADROOM] >> 4
        if version == 6 and buf[HEADROOM + 8] == 0xFE and buf[HEADROOM + 9] & 0xC0 == 0x80:
            # A link-local source never leaves its link (RFC 5213 §6.10.3); this also keeps the
            # TUN device's own MLD and ND traffic out of the tunnels.
            self.counters['encap_link_local_dropped'] += 1
            return
        if ctx is None:
            if version == 6:
                ctx = tables.lma.lookup6(buf, HEADROOM + 24) or tables.mag.lookup6(buf, HEADROOM + 8)
            elif version == 4:
                ctx = tables.lma.lookup4(buf, HEADROOM + 16) or tables.mag.lookup4(buf, HEADROOM + 12)
            if ctx is None:
                self.counters['encap_no_tunnel'] += 1
                return
        if version not in ctx.senders:
            self.counters['encap_family_not_carried'] += 1
            return
        if n > ctx.mtu and self._too_big(ctx, version, n, fd):
            return
        ecn = encap.encap_ecn(encap.get_ecn(buf, HEADROOM))
        start = HEADROOM
        carrier = ctx.carrier
        if carrier in ('gre6', 'gre4', 'udp') and version in ctx.gre:
            hdr = ctx.gre[version]
            start -= len(hdr)
            buf[start:HEADROOM] = hdr
            if carrier == 'udp':
                start -= 4
                encap.put_tlv(buf, start, encap.PROTO_GRE, HEADROOM + n - start - 4)
        cmsg = self._cmsg6[ecn] if carrier in ('ip6', 'gre6') else self._cmsg4[ecn]
        try:
            ctx.senders[version].sendmsg([self.view[start:HEADROOM + n]], cmsg, 0, ctx.remote)
            self.counters['encap_tx'] += 1
        except OSError as exc:
            self.counters[f'encap_send_{errno.errorcode.get(exc.errno or 0, "error")}'] += 1

    def _too_big(self, ctx: TunnelCtx, version: int, n: int, fd: int) -> bool:
        """Answer an oversized packet with PTB / Fragmentation Needed; True if it is dropped."""
        packet = self.view[HEADROOM:HEADROOM + n]
        if version == 6:
            reply = encap.icmp6_packet_too_big(ctx.icmp6_src, packet, ctx.mtu) if ctx.icmp6_src else None
        elif not encap.ipv4_df(self.buf, HEADROOM):
            return False  # RFC 4213 §3.2: no DF, so the outer packet may be fragmented
        else:
            reply = encap.icmp4_frag_needed(ctx.icmp4_src, packet, ctx.mtu)
        self.counters['too_big'] += 1
        if reply is not None:
            self._write(fd, reply)
        return True

    # -- decapsulation ------------------------------------------------------------------------

    def drain_raw6(self, sock: socket.socket, carrier: str, version: int) -> None:
        """Drain a raw IPv6 socket (Next Header 41, 4 or 47): the kernel strips the outer header."""
        rx = self._rx_list
        for _ in range(BATCH):
            try:
                n, anc, _flags, addr = sock.recvmsg_into(rx, _ANC)
            except BlockingIOError:
                return
            outer_ecn = 0
            for level, kind, data in anc:
                if level == socket.IPPROTO_IPV6 and kind == IPV6_TCLASS:
                    outer_ecn = _INT.unpack_from(data)[0] & 3
            self._decap(HEADROOM, HEADROOM + n, carrier, addr[0], version, outer_ecn)

    def drain_raw4(self, sock: socket.socket, carrier: str) -> None:
        """Drain a raw IPv4 socket (protocol 41, 4 or 47): the datagram includes the outer header."""
        rx = self._rx_view
        buf = self.buf
        for _ in range(BATCH):
            try:
                n = sock.recv_into(rx)
            except BlockingIOError:
                return
            try:
                off, proto, outer_ecn = encap.parse_ipv4_outer(buf, HEADROOM, HEADROOM + n)
            except DecapError:
                self.counters['decap_bad_outer'] += 1
                continue
            remote = socket.inet_ntoa(buf[HEADROOM + 12:HEADROOM + 16])
            version = 6 if proto == encap.PROTO_IPV6 else 4
            self._decap(off, HEADROOM + n, carrier, remote, version, outer_ecn)

    def drain_udp(self, sock: socket.socket) -> None:
        """Drain the UDP 5437 socket (RFC 5844 §4.1.4.1, with the RFC 5845 TLV when negotiated)."""
        rx = self._rx_list
        for _ in range(BATCH):
            try:
                n, anc, _flags, addr = sock.recvmsg_into(rx, _ANC)
            except BlockingIOError:
                return
            outer_ecn = 0
            for level, kind, data in anc:
                if level == socket.IPPROTO_IP and kind == socket.IP_TOS:
                    outer_ecn = data[0] & 3
            self._decap(HEADROOM, HEADROOM + n, 'udp', addr[0], 0, outer_ecn)

    def _decap(self, off: int, end: int, carrier: str, remote: str, version: int, outer_ecn: int) -> None:
        buf = self.buf
        tables = self.tables
        try:
            if carrier in ('gre6', 'gre4'):
                off, key, version = encap.parse_gre(buf, off, end)
                ctx = tables.peers.get((carrier, remote, key))
            else:
                ctx = tables.peers.get((carrier, remote)) or tables.peers.get((carrier, remote, None))
                if carrier == 'udp':
                    if ctx is None:
                        ctx = self._udp_keyed(off, end, remote, tables)
                    if ctx is not None and ctx.gre:
                        off, next_header = encap.parse_tlv(buf, off, end)
                        if next_header != encap.PROTO_GRE:
                            raise DecapError(f'TLV next header {next_header}, GRE expected')
                        off, _key, version = encap.parse_gre(buf, off, end)
                    elif end > off:
                        version = buf[off] >> 4
            if ctx is None:
                self.counters['decap_unknown_peer'] += 1
                return
            encap.check_inner(buf, off, end, version)
        except DecapError:
            self.counters['decap_malformed'] += 1
            return
        inner_ecn = encap.get_ecn(buf, off)
        new_ecn = encap.decap_ecn(outer_ecn, inner_ecn)
        if new_ecn is None:
            self.counters['decap_ecn_drop'] += 1
            return
        if new_ecn != inner_ecn:
            encap.set_ecn(buf, off, new_ecn)
        if version == 6:
            ok = ctx.lma_prefixes.lookup6(buf, off + 8) or ctx.mag_prefixes.lookup6(buf, off + 24)
        else:
            ok = ctx.lma_prefixes.lookup4(buf, off + 12) or ctx.mag_prefixes.lookup4(buf, off + 16)
        if not ok:
            self.counters['decap_not_bound'] += 1  # RFC 5213 §5.6.2 / §6.10.5: not this MN's
            return
        self._write(ctx.tun_fd, self.view[off:end])
        self.counters['decap_rx'] += 1

    def _udp_keyed(self, off: int, end: int, remote: str, tables: Tables) -> TunnelCtx | None:
        """Find a keyed UDP-TLV tunnel by the GRE key inside the datagram."""
        try:
            goff, _nh = encap.parse_tlv(self.buf, off, end)
            _poff, key, _version = encap.parse_gre(self.buf, goff, end)
        except DecapError:
            return None
        return tables.peers.get(('udp', remote, key))

    def _write(self, fd: int, data: Any) -> None:
        try:
            os.write(fd, data)
        except OSError as exc:
            self.counters[f'tun_write_{errno.errorcode.get(exc.errno or 0, "error")}'] += 1


def open_carrier_socket(carrier: str, version: int, local: str) -> socket.socket:
    """Open the socket that sends (and receives) one carrier for one inner IP version.

    Raw sockets also keep the kernel from answering tunnel packets with ICMP "protocol
    unreachable" when it has no handler of its own for 41, 4 or 47.
    """
    if carrier in ('ip6', 'gre6'):
        proto = encap.PROTO_GRE if carrier == 'gre6' else encap.inner_proto(version)
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
        sock.bind((local, 0))
    elif carrier in ('ip4', 'gre4'):
        proto = encap.PROTO_GRE if carrier == 'gre4' else encap.inner_proto(version)
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, 0)  # IP_PMTUDISC_DONT
        sock.bind((local, 0))
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, 0)
        sock.bind((local, PMIP6_DATA_PORT))
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
    sock.setblocking(False)
    return sock
