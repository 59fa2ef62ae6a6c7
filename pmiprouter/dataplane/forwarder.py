"""The userspace fast path: TUN devices and tunnel sockets drained in batches.

The packet pump (:mod:`pump`) calls a ``drain_*`` method when a descriptor is readable; each
drains what is queued, up to :data:`ROUNDS` batches of :data:`BATCH` packets (then it returns,
so one busy descriptor cannot starve the others), and never lets an exception escape.

- From a TUN device, ``os.readv`` reads each packet into its own slot of a preallocated
  buffer, behind :data:`HEADROOM` free bytes; the GRE / TLV header is written into that
  headroom, and the whole burst goes out with one ``sendmmsg`` per socket (:mod:`mmsg`).
- From a tunnel socket, one ``recvmmsg`` reads every queued datagram with its source address
  and outer traffic class; each is checked and written to its TUN device.

Per-packet logic is in :mod:`encap` (pure); lookups in :mod:`tables`. The fast path reads
``self.tables`` once per batch; when the control side has swapped in new tables it derives the
per-tunnel send paths and peer dictionaries keyed by raw address bytes once, so a packet costs
one prefix lookup (encapsulation) or one peer lookup plus one prefix check (decapsulation).
Counters of the common outcomes are added once per batch.

Hop limit / TTL: the kernel decrements them when it forwards a packet into the TUN device
and again when it forwards what we write back, exactly as for a kernel tunnel device; this code
does not decrement a second time.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
from collections import Counter
from typing import Any

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.encap import HEADROOM, DecapError
from pmiprouter.dataplane.interface import PMIP6_DATA_PORT
from pmiprouter.dataplane.mmsg import U32_FLAGS, U32_LEN, U32_STRIDE, U64_CONTROLLEN, U64_STRIDE, MSG_TRUNC
from pmiprouter.dataplane.mmsg import CBuffer, RecvBatch, SendBatch, Slots, control_message
from pmiprouter.dataplane.tables import PrefixTable, Tables, TunnelCtx

#: Packets per batch (one sendmmsg / recvmmsg) and batches per readable event.
BATCH = 64
ROUNDS = 4
#: Largest packet read from a TUN device (its MTU is 9000; no GSO without IFF_VNET_HDR).
MAX_TUN_PACKET = 9216
#: Largest datagram from a tunnel socket (a reassembled outer packet).
MAX_DATAGRAM = 65536
IPV6_TCLASS = getattr(socket, 'IPV6_TCLASS', 67)
IPV6_RECVTCLASS = getattr(socket, 'IPV6_RECVTCLASS', 66)
IP_RECVTOS = getattr(socket, 'IP_RECVTOS', 13)
IP_MTU_DISCOVER = getattr(socket, 'IP_MTU_DISCOVER', 10)
SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)
SO_SNDBUFFORCE = getattr(socket, 'SO_SNDBUFFORCE', 32)
SOCKET_BUFFER = 4 << 20
_CMSG_INT = socket.CMSG_SPACE(4)
#: Offset of the control message data, and of the low byte of an int there (IPV6_TCLASS).
_CMSG_DATA = socket.CMSG_LEN(0)
_TCLASS_LOW_BYTE = _CMSG_DATA + (0 if sys.byteorder == 'little' else 3)
_SOCKADDR_IN6 = 28
_SOCKADDR_IN = 16
_ADDR16 = struct.Struct('16s')
_ADDR4 = struct.Struct('4s')
_KEY = struct.Struct('!I')
#: Outer ECN at encapsulation per inner ECN (RFC 3168 §9.1.1, see encap.encap_ecn).
_ENCAP_ECN = tuple(encap.encap_ecn(e) for e in range(4))


def _cmsg(level: int, kind: int, value: int) -> bytes:
    """A control message carrying one int, padded to CMSG_SPACE."""
    return control_message(level, kind, struct.pack('@i', value))


#: Control messages per outer ECN value. Not-ECT needs none (the sockets' default class is 0),
#: which spares the kernel parsing a cmsg for most packets.
_NO_CONTROL = CBuffer(b'')
_CONTROL6 = (_NO_CONTROL, *(CBuffer(_cmsg(socket.IPPROTO_IPV6, IPV6_TCLASS, e)) for e in range(1, 4)))
_CONTROL4 = (_NO_CONTROL, *(CBuffer(_cmsg(socket.IPPROTO_IP, socket.IP_TOS, e)) for e in range(1, 4)))


class OutPath:
    """How a tunnel sends one inner IP version: socket fd, header, C address, ECN controls."""

    __slots__ = ('fd', 'sock', 'header', 'tlv', 'name', 'controls')

    def __init__(self, ctx: TunnelCtx, version: int) -> None:
        self.sock = ctx.senders[version]
        self.fd = self.sock.fileno()
        self.header = ctx.gre.get(version, b'') if ctx.carrier in ('gre6', 'gre4', 'udp') else b''
        self.tlv = ctx.carrier == 'udp' and bool(self.header)
        self.name = CBuffer(_sockaddr(ctx.remote))
        self.controls = _CONTROL6 if ctx.carrier in ('ip6', 'gre6') else _CONTROL4


def _sockaddr(remote: tuple[Any, ...]) -> bytes:
    """``struct sockaddr_in6`` / ``sockaddr_in`` for a socket-module address tuple."""
    host, port = remote[0], remote[1]
    if ':' in host:
        return struct.pack('@H', socket.AF_INET6) + struct.pack('!HI', port, 0) + socket.inet_pton(
            socket.AF_INET6, host) + struct.pack('@I', 0)
    return struct.pack('@H', socket.AF_INET) + struct.pack('!H', port) + socket.inet_aton(host) + bytes(8)


def out_paths(ctx: TunnelCtx) -> list[OutPath | None]:
    """The send path of each inner version a tunnel carries, indexed by version (4, 6)."""
    out: list[OutPath | None] = [None] * 7
    for version in ctx.senders:
        out[version] = OutPath(ctx, version)
    return out


class _Derived:
    """Lookups derived from one :class:`Tables`: peers by raw address bytes, per carrier.

    ``plain[carrier]``: remote address bytes -> ctx (unkeyed tunnels, and GRE without key);
    ``keyed[carrier]``: remote address bytes + 4-byte key -> ctx.
    """

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.plain: dict[str, dict[bytes, TunnelCtx]] = {c: {} for c in ('ip6', 'gre6', 'ip4', 'gre4', 'udp')}
        self.keyed: dict[str, dict[bytes, TunnelCtx]] = {c: {} for c in self.plain}
        for peer, ctx in tables.peers.items():
            carrier, remote = peer[0], peer[1]
            packed = socket.inet_pton(socket.AF_INET6 if ':' in remote else socket.AF_INET, remote)
            key = peer[2] if len(peer) > 2 else None
            if key is None:
                self.plain[carrier][packed] = ctx
            else:
                self.keyed[carrier][packed + _KEY.pack(key)] = ctx
            if not ctx.out:
                ctx.out = out_paths(ctx)


class Forwarder:
    """Encapsulates packets read from TUN devices and decapsulates packets from tunnel sockets."""

    def __init__(self, tun_fd: int) -> None:
        self.tun_fd = tun_fd
        self.tables = Tables()
        self.counters: Counter[str] = Counter()
        self.tx_slots = Slots(BATCH, MAX_TUN_PACKET, HEADROOM)
        self.tx = SendBatch(self.tx_slots)
        # Raw IPv6 and UDP deliver a source address and one control message; raw IPv4 neither
        # (the outer header is in the data). Both share the packet slots: one drain at a time.
        self.rx_slots = Slots(BATCH, MAX_DATAGRAM, HEADROOM)
        self.rx_named = RecvBatch(self.rx_slots, _SOCKADDR_IN6, _CMSG_INT)
        self.rx_bare = RecvBatch(self.rx_slots, 0, 0)
        self._derived = _Derived(self.tables)

    def _current(self) -> _Derived:
        """The lookups of the current tables (rebuilt once after each swap)."""
        tables = self.tables
        derived = self._derived
        if derived.tables is not tables:
            derived = self._derived = _Derived(tables)
        return derived

    # -- encapsulation ------------------------------------------------------------------------

    def drain_tun(self, fd: int) -> None:
        """Read what a TUN device holds (bounded) and send each packet into its tunnel."""
        tables = self._current().tables
        lma, mag = tables.by_fd.get(fd) or (tables.lma, tables.mag)  # a domain's TUN, or the shared one
        bufs = self.tx_slots.bufs
        readv = os.readv
        for _round in range(ROUNDS):
            queued = 0
            empty = False
            # Runs of consecutive messages for the same socket: one sendmmsg each.
            runs: list[tuple[int, int, int]] = []
            run_fd = -1
            run_start = 0
            for _read in range(BATCH):
                try:
                    n = readv(fd, bufs[queued])
                except BlockingIOError:
                    empty = True
                    break
                except OSError as exc:  # the device went away: send what was read, then report
                    self.counters[f'tun_read_{errno.errorcode.get(exc.errno or 0, "error")}'] += 1
                    empty = True
                    break
                if not n:
                    continue
                if n >= MAX_TUN_PACKET:  # filled the slot: possibly cut short, never forward that
                    self.counters['encap_oversize'] += 1
                    continue
                out_fd = self.encapsulate(queued, n, lma, mag, fd)
                if out_fd < 0:
                    continue
                if out_fd != run_fd:
                    if queued > run_start:
                        runs.append((run_fd, run_start, queued - run_start))
                    run_fd, run_start = out_fd, queued
                queued += 1
            if queued > run_start:
                runs.append((run_fd, run_start, queued - run_start))
            for out_fd, first, count in runs:
                self._send(out_fd, first, count)
            if empty:
                return

    def _send(self, fd: int, first: int, count: int) -> None:
        sent, err = self.tx.send(fd, first, count)
        counters = self.counters
        counters['encap_tx'] += sent
        counters['encap_batches'] += 1
        if err:
            counters[f'encap_send_{errno.errorcode.get(err, "error")}'] += count - sent

    def encapsulate(self, slot: int, n: int, lma: PrefixTable, mag: PrefixTable, fd: int) -> int:
        """Prepare the packet in ``slot`` (n bytes after the headroom) as message ``slot``.

        The tunnel is the one of the MN whose prefix holds the destination (``lma``: an LMA's
        downlink) or else the source (``mag``: a MAG's uplink), in the lookups of the TUN device
        the packet came from (``fd``). Returns the fd of the socket that sends it, or -1 if it
        was dropped (and counted).
        """
        data = self.tx_slots.data
        base = slot * self.tx_slots.stride
        pkt = base + HEADROOM
        first = data[pkt]
        version = first >> 4
        if version == 6:
            if data[pkt + 8] == 0xFE and data[pkt + 9] & 0xC0 == 0x80:
                # A link-local source never leaves its link (RFC 5213 §6.10.3); this also keeps
                # the TUN device's own MLD and ND traffic out of the tunnels.
                self.counters['encap_link_local_dropped'] += 1
                return -1
            ctx = lma.lookup6(data, pkt + 24) or mag.lookup6(data, pkt + 8)
            ecn = (data[pkt + 1] >> 4) & 3
        elif version == 4:
            ctx = lma.lookup4(data, pkt + 16) or mag.lookup4(data, pkt + 12)
            ecn = data[pkt + 1] & 3
        else:
            ctx = None
        if ctx is None:
            self.counters['encap_no_tunnel'] += 1
            return -1
        if not ctx.out:
            ctx.out = out_paths(ctx)  # a tunnel only reachable by prefix: derive once
        path = ctx.out[version]
        if path is None:
            self.counters['encap_family_not_carried'] += 1
            return -1
        if n > ctx.mtu and self._too_big(ctx, version, pkt, n, fd):
            return -1
        start = pkt
        header = path.header
        if header:
            start -= len(header)
            data[start:pkt] = header
            if path.tlv:
                start -= 4
                encap.put_tlv(data, start, encap.PROTO_GRE, pkt + n - start - 4)
        self.tx.set(slot, start, pkt + n - start, path.name, path.controls[_ENCAP_ECN[ecn]])
        return path.fd

    def _too_big(self, ctx: TunnelCtx, version: int, pkt: int, n: int, fd: int) -> bool:
        """Answer an oversized packet with PTB / Fragmentation Needed; True if it is dropped."""
        packet = self.tx_slots.view[pkt:pkt + n]
        if version == 6:
            reply = encap.icmp6_packet_too_big(ctx.icmp6_src, packet, ctx.mtu) if ctx.icmp6_src else None
        elif not encap.ipv4_df(self.tx_slots.data, pkt):
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
        self._drain_named(sock.fileno(), carrier, version, 8, 16, _TCLASS_LOW_BYTE)

    def drain_udp(self, sock: socket.socket) -> None:
        """Drain the UDP 5437 socket (RFC 5844 §4.1.4.1, with the RFC 5845 TLV header when negotiated)."""
        self._drain_named(sock.fileno(), 'udp', 0, 4, 4, _CMSG_DATA)

    def _drain_named(
        self, fd: int, carrier: str, version: int, addr_off: int, addr_len: int, ecn_at: int
    ) -> None:
        """Drain a socket whose datagrams come with a source address and a traffic-class cmsg.

        ``addr_off``/``addr_len``: where the address is in the sockaddr; ``ecn_at``: offset of
        the byte holding the traffic class in the control message.
        """
        batch = self.rx_named
        derived = self._current()
        plain = derived.plain[carrier]
        keyed = derived.keyed[carrier]
        data = batch.slots.data
        stride = batch.slots.stride
        names = batch.names
        controls = batch.controls
        u32, u64 = batch.u32, batch.u64
        unpack_addr = (_ADDR16 if addr_len == 16 else _ADDR4).unpack_from
        delivered = 0
        for _round in range(ROUNDS):
            count = batch.recv(fd)
            for i in range(count):
                if u32[i * U32_STRIDE + U32_FLAGS] & MSG_TRUNC:
                    self.counters['decap_truncated'] += 1
                    continue
                off = i * stride + HEADROOM
                end = off + u32[i * U32_STRIDE + U32_LEN]
                remote = unpack_addr(names, i * _SOCKADDR_IN6 + addr_off)[0]
                outer_ecn = 0
                if u64[i * U64_STRIDE + U64_CONTROLLEN]:
                    # The one control message asked for: IPV6_TCLASS (int) or IP_TOS (byte).
                    outer_ecn = controls[i * _CMSG_INT + ecn_at] & 3
                delivered += self._decap(off, end, carrier, remote, version, outer_ecn, plain, keyed)
            if count < BATCH:
                break
        if delivered:
            self.counters['decap_rx'] += delivered
            self.counters['decap_batches'] += 1

    def drain_raw4(self, sock: socket.socket, carrier: str) -> None:
        """Drain a raw IPv4 socket (protocol 41, 4 or 47): the datagram includes the outer header."""
        batch = self.rx_bare
        derived = self._current()
        plain = derived.plain[carrier]
        keyed = derived.keyed[carrier]
        data = batch.slots.data
        stride = batch.slots.stride
        u32 = batch.u32
        fd = sock.fileno()
        delivered = 0
        for _round in range(ROUNDS):
            count = batch.recv(fd)
            for i in range(count):
                if u32[i * U32_STRIDE + U32_FLAGS] & MSG_TRUNC:
                    self.counters['decap_truncated'] += 1
                    continue
                start = i * stride + HEADROOM
                end = start + u32[i * U32_STRIDE + U32_LEN]
                try:
                    off, proto, outer_ecn = encap.parse_ipv4_outer(data, start, end)
                except DecapError:
                    self.counters['decap_bad_outer'] += 1
                    continue
                remote = _ADDR4.unpack_from(data, start + 12)[0]
                version = 6 if proto == encap.PROTO_IPV6 else 4
                delivered += self._decap(off, end, carrier, remote, version, outer_ecn, plain, keyed)
            if count < BATCH:
                break
        if delivered:
            self.counters['decap_rx'] += delivered
            self.counters['decap_batches'] += 1

    def _decap(self, off: int, end: int, carrier: str, remote: bytes, version: int,
               outer_ecn: int, plain: dict[bytes, TunnelCtx], keyed: dict[bytes, TunnelCtx]) -> int:
        """Check one received tunnel payload at ``rx_slots.data[off:end]`` and write it to its TUN.

        ``remote`` is the peer's raw address; ``version`` the inner version the carrier implies
        (0: read it from the packet). Returns 1 if delivered, 0 if dropped (and counted).
        """
        buf = self.rx_slots.data
        try:
            if carrier in ('gre6', 'gre4'):
                off, key, version = encap.parse_gre(buf, off, end)
                ctx = plain.get(remote) if key is None else keyed.get(remote + _KEY.pack(key))
            else:
                ctx = plain.get(remote)
                if carrier == 'udp':
                    if ctx is None and keyed:
                        ctx = self._udp_keyed(buf, off, end, remote, keyed)
                    if ctx is not None and ctx.gre:
                        off, next_header = encap.parse_tlv(buf, off, end)
                        if next_header != encap.PROTO_GRE:
                            raise DecapError(f'TLV next header {next_header}, GRE expected')
                        off, _key, version = encap.parse_gre(buf, off, end)
                    elif end > off:
                        version = buf[off] >> 4
            if ctx is None:
                self.counters['decap_unknown_peer'] += 1
                return 0
            encap.check_inner(buf, off, end, version)
        except DecapError:
            self.counters['decap_malformed'] += 1
            return 0
        if version == 6:
            inner_ecn = (buf[off + 1] >> 4) & 3
        else:
            inner_ecn = buf[off + 1] & 3
        if outer_ecn:
            new_ecn = encap.decap_ecn(outer_ecn, inner_ecn)
            if new_ecn is None:
                self.counters['decap_ecn_drop'] += 1
                return 0
            if new_ecn != inner_ecn:
                encap.set_ecn(buf, off, new_ecn)
        if version == 6:
            ok = ctx.lma_prefixes.lookup6(buf, off + 8) or ctx.mag_prefixes.lookup6(buf, off + 24)
        else:
            ok = ctx.lma_prefixes.lookup4(buf, off + 12) or ctx.mag_prefixes.lookup4(buf, off + 16)
        if not ok:
            self.counters['decap_not_bound'] += 1  # RFC 5213 §5.6.2 / §6.10.5: not this MN's
            return 0
        try:
            os.write(ctx.tun_fd, self.rx_slots.view[off:end])
        except OSError as exc:
            self.counters[f'tun_write_{errno.errorcode.get(exc.errno or 0, "error")}'] += 1
            return 0
        return 1

    @staticmethod
    def _udp_keyed(buf: bytearray, off: int, end: int, remote: bytes,
                   keyed: dict[bytes, TunnelCtx]) -> TunnelCtx | None:
        """Find a keyed UDP-TLV tunnel by the GRE key inside the datagram."""
        try:
            goff, _nh = encap.parse_tlv(buf, off, end)
            _poff, key, _version = encap.parse_gre(buf, goff, end)
        except DecapError:
            return None
        return keyed.get(remote + _KEY.pack(key)) if key is not None else None

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
    for force, opt in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
        try:  # beyond net.core.[rw]mem_max (root only): bursts must not overflow the socket
            sock.setsockopt(socket.SOL_SOCKET, force, SOCKET_BUFFER)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER)
    sock.setblocking(False)
    return sock
