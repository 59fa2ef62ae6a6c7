"""The raw IPv6 Mobility Header socket as a Twisted read descriptor (RFC 6275 §6.1, RFC 5213).

The kernel fills in and verifies the MH checksum (IPV6_CHECKSUM = 4); IPV6_PKTINFO gives
the destination address of each packet and pins the source address of each reply, so a
multi-homed LMA answers from the address the MAG used. Nothing raised while reading may
escape `doRead`: Twisted would drop the descriptor (design.md).

A burst is read with one ``recvmmsg(2)`` (every queued datagram, up to READ_BATCH), and the
replies made while handling it (an LMA answering PBUs with a synchronous data plane) wait in an
outbox and leave in one ``sendmmsg(2)`` at its end: under load two system calls per burst
instead of two per registration; a lone PBU's reply goes out as soon as it is made. The port
brackets each read with its `bursts` listener (the engine driver), so the data-plane changes of
a burst's registrations are applied as one batch before the outbox leaves. A stand-in
socket (tests) is read with ``recvmsg`` one datagram at a time and written with ``sendmsg``.

The socket asks for a large receive buffer and for the kernel's drop counter (SO_RXQ_OVFL),
which both read paths keep in `drops` (receive_buffer.py): a MAG that restarts sends thousands
of PBUs at once, and any the buffer cannot hold must show in `show ... stats` and the log.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable
from typing import Protocol
from ipaddress import IPv6Address

from twisted.internet.interfaces import IReactorFDSet

from pmiprouter.core.events import Event, MalformedReceived, MessageReceived, Transport
from pmiprouter.fast.bounded import Bounded
from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.mh.codec import decode
from pmiprouter.mh.errors import DecodeError
from pmiprouter.dataplane.mmsg import (
    U32_LEN, U32_STRIDE, U64_CONTROLLEN, U64_STRIDE, CBuffer, RecvBatch, SendBatch, Slots, control_message,
)
from pmiprouter.runtime.reader import SocketReader
from pmiprouter.runtime.receive_buffer import (
    DROP_CMSG_SPACE, DROP_COUNTER, SO_RXQ_OVFL, KernelDrops, drop_count, prepare,
)

IPPROTO_MH = 135
MAX_MH = 2048  # Header Len is one octet: at most 256 * 8 bytes
READ_BATCH = 256  # packets per doRead before yielding to the reactor (every queued one under load)
ADDRESS_CACHE = 4096  # distinct peer/local addresses remembered; the cache restarts when full
# One byte more than any MH: a longer datagram arrives cut to more bytes than its Header Len
# can cover, so decoding reports it malformed (never a valid message from a truncated one).
READ_SIZE = MAX_MH + 1
_PKTINFO = struct.Struct('16sI')  # struct in6_pktinfo: address, ifindex
_SOCKADDR_IN6 = struct.Struct('=HHI16sI')  # family, port (0: raw), flow info, address, scope id
_SOURCE = struct.Struct('=8x16s')  # the address in a received sockaddr_in6 (the scope id is left out)
# Room for the control messages asked for: the drop counter (only once the socket has dropped
# some; the kernel puts it first), then IPV6_PKTINFO.
_CONTROL_SPACE = DROP_CMSG_SPACE + socket.CMSG_SPACE(_PKTINFO.size)
_PKTINFO_CMSG = struct.Struct('@Nii16s')  # cmsghdr (length, level, type), then in6_pktinfo's address
_PKTINFO_CMSG_LEN = socket.CMSG_LEN(_PKTINFO.size)
_DROPS_AT = socket.CMSG_LEN(0)  # the counter's offset in its control message
_IPPROTO_IPV6, _IPV6_PKTINFO = socket.IPPROTO_IPV6, socket.IPV6_PKTINFO  # compared per datagram
_SOL_SOCKET = socket.SOL_SOCKET
UNSPECIFIED = IPv6Address(0)


def strip_scope(address: str) -> IPv6Address:
    """'fe80::1%eth0' -> fe80::1 (the scope is carried by the ifindex)."""
    return IPv6Address(address.split('%', 1)[0])


class Bursts(Protocol):
    """Told where each read of the socket begins and ends (EngineDriver)."""

    def begin_burst(self) -> None: ...

    def end_burst(self) -> None: ...


class MHPort(SocketReader):
    """Receives and sends Mobility Headers over a raw IPv6 socket (protocol 135)."""

    batch = READ_BATCH

    def __init__(self, reactor: IReactorFDSet, deliver: Callable[[Event], None], sock: socket.socket | None = None) -> None:
        super().__init__(reactor, sock if sock is not None else self.open_socket(), 'MHPort')
        self.deliver = deliver
        # Offered each datagram before it is decoded; True: handled (the LMA's CommonPbuOffer).
        self.first: Callable[[bytes, IPv6Address, IPv6Address], bool] | None = None
        self.bursts: Bursts | None = None
        self.received = 0
        self.malformed = 0
        self.drops = KernelDrops('MH socket')  # the kernel's count of datagrams it could not queue
        # Parsing an address costs more than the rest of the header: the few MAGs we talk to
        # (and our own addresses) are parsed once. Bounded, so a spray of sources cannot grow it.
        self._sources = Bounded[str, IPv6Address](strip_scope, ADDRESS_CACHE)
        self._sources_packed = Bounded[bytes, IPv6Address](IPv6Address, ADDRESS_CACHE)  # by sockaddr_in6 address (recvmmsg)
        self._locals = Bounded[bytes, IPv6Address](IPv6Address, ADDRESS_CACHE)
        # Formatting an IPv6 address costs more than the send: each peer's text, PKTINFO and C
        # socket address are made once per address object (the ports reuse one per peer).
        self._text = ByIdentity[IPv6Address, str](str, ADDRESS_CACHE)
        self._pktinfo = ByIdentity[IPv6Address | None, list[tuple[int, int, bytes]]](_pktinfo, ADDRESS_CACHE)
        self._name = ByIdentity[IPv6Address, CBuffer](_sockaddr, ADDRESS_CACHE)
        self._control = ByIdentity[IPv6Address | None, CBuffer](self._control_message, ADDRESS_CACHE)
        # Only a real socket has a descriptor recvmmsg and sendmmsg can use; a test's stand-in
        # gets recvmsg and sendmsg.
        real = isinstance(self.sock, socket.socket)
        self._batch = SendBatch(Slots(READ_BATCH, MAX_MH, 0)) if real else None
        self._recv = (RecvBatch(Slots(READ_BATCH, READ_SIZE, 0), _SOCKADDR_IN6.size, _CONTROL_SPACE)
                      if real else None)
        self._outbox: list[tuple[IPv6Address, IPv6Address | None, bytes]] | None = None  # replies while reading

    def _control_message(self, src: IPv6Address | None) -> CBuffer:
        return CBuffer(b''.join(control_message(level, kind, value) for level, kind, value in self._pktinfo(src)))

    @staticmethod
    def open_socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
        prepare(sock, 'MH socket', count_drops=True)
        return sock

    def receive(self) -> tuple[bytes, list[tuple[int, int, bytes]], str]:
        data, ancillary, _flags, address = self.sock.recvmsg(READ_SIZE, _CONTROL_SPACE)
        return data, ancillary, address[0]

    def handle(self, packet: tuple[bytes, list[tuple[int, int, bytes]], str]) -> None:
        data, ancillary, src_text = packet
        drops = drop_count(ancillary)  # present only once the kernel has dropped some
        if drops is not None:
            self.drops.count = drops
        self.handle_datagram(data, self._peer(src_text), self._local(ancillary))

    def handle_datagram(self, data: bytes, src: IPv6Address, dst: IPv6Address) -> None:
        """One received Mobility Header from `src` (no scope) to `dst` (IPV6_PKTINFO; :: without it)."""
        self.received += 1
        first = self.first
        if first is not None and first(data, src, dst):
            return
        self.deliver(self._event(data, src, dst))

    def doRead(self) -> None:
        bursts = self.bursts
        if bursts is not None:
            bursts.begin_burst()
        if self._recv is None:
            try:
                super().doRead()
            finally:
                if bursts is not None:
                    bursts.end_burst()
            self.drops.check()
            return
        self._outbox = []
        try:
            self._read_burst(self._recv)
        finally:
            if bursts is not None:
                bursts.end_burst()  # the burst's PBAs join the outbox
            outbox, self._outbox = self._outbox, None
            if outbox:
                self._flush(outbox)
            self.drops.check()

    def _read_burst(self, batch: RecvBatch) -> None:
        """Read what is queued (up to READ_BATCH) with one recvmmsg and handle each datagram in order.

        Like SocketReader.doRead, nothing escapes: a failed read or a failing handler is counted
        and logged, and the other datagrams of the burst are still handled.
        """
        try:
            count = batch.recv(self.sock.fileno())
        except OSError as exc:
            self.errors += 1
            self.log.warn('{name}: read failed: {error}', name=self.name, error=exc)
            return
        view, stride = batch.slots.view, batch.slots.stride
        names, name_size = batch.names, batch.name_size
        controls, control_size = batch.controls, batch.control_size
        u32, u64 = batch.u32, batch.u64
        source_of, local_of = self._sources_packed.get, self._locals.get
        unpack_source, unpack_control = _SOURCE.unpack_from, _PKTINFO_CMSG.unpack_from
        unpack_drops = DROP_COUNTER.unpack_from
        handle = self.handle_datagram
        drops = -1  # the latest drop counter seen in this burst
        for i in range(count):
            try:
                start = i * stride
                data = bytes(view[start:start + u32[i * U32_STRIDE + U32_LEN]])
                packed = unpack_source(names, i * name_size)[0]
                src = source_of(packed)
                if src is None:
                    src = self._new_source(packed)
                dst = UNSPECIFIED
                # IPV6_PKTINFO (none: :: as with recvmsg), after the drop counter once there is one.
                controllen = u64[i * U64_STRIDE + U64_CONTROLLEN]
                if controllen:  # the buffer holds both messages: the first one is whole
                    at = i * control_size
                    _length, level, kind, packed = unpack_control(controls, at)
                    if kind == SO_RXQ_OVFL and level == _SOL_SOCKET:
                        drops = unpack_drops(controls, at + _DROPS_AT)[0]
                        if controllen >= DROP_CMSG_SPACE + _PKTINFO_CMSG_LEN:
                            _length, level, kind, packed = unpack_control(controls, at + DROP_CMSG_SPACE)
                    if level == _IPPROTO_IPV6 and kind == _IPV6_PKTINFO:
                        dst = local_of(packed) or self._local_packed(packed)
                handle(data, src, dst)
            except Exception:  # the boundary (design.md principle 4): count, log, keep reading
                self.errors += 1
                self.log.failure('{name}: packet not handled', name=self.name)
        if drops >= 0:
            self.drops.count = drops

    def _new_source(self, packed: bytes) -> IPv6Address:
        """A sender's address seen for the first time (by its 16 bytes: no scope, as strip_scope)."""
        return self._sources_packed.remember(packed)

    def _peer(self, src_text: str) -> IPv6Address:
        """The sender's address, parsed once per peer."""
        return self._sources.get(src_text) or self._sources.remember(src_text)

    def _local(self, ancillary: list[tuple[int, int, bytes]]) -> IPv6Address:
        """The address the packet was sent to (IPV6_PKTINFO), parsed once per address."""
        dst = UNSPECIFIED
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(value) >= _PKTINFO.size:
                dst = self._local_packed(value[:16])
        return dst

    def _local_packed(self, packed: bytes) -> IPv6Address:
        return self._locals.get(packed) or self._locals.remember(packed)

    def event_for(self, data: bytes, ancillary: list[tuple[int, int, bytes]], src_text: str) -> Event:
        return self._event(data, self._peer(src_text), self._local(ancillary))

    def _event(self, data: bytes, src: IPv6Address, dst: IPv6Address) -> Event:
        try:
            return MessageReceived(src, dst, decode(data), Transport.IPV6)
        except DecodeError as error:
            self.malformed += 1
            return MalformedReceived(src, dst, error, Transport.IPV6)

    def send(self, dst: IPv6Address, src: IPv6Address | None, wire: bytes) -> None:
        """Send one Mobility Header (at the end of the burst when reading one); the kernel fills in the checksum."""
        outbox = self._outbox
        if outbox is not None and len(wire) <= MAX_MH:
            outbox.append((dst, src, wire))
            if len(outbox) == READ_BATCH:  # one PBU may cause several replies: never more than the slots
                self._outbox = []
                self._flush(outbox)
            return
        try:
            self.sock.sendmsg([wire], self._pktinfo(src), 0, (self._text(dst), 0))
        except OSError as exc:
            self.errors += 1
            self.log.warn('sending a Mobility Header to {dst} failed: {error}', dst=dst, error=exc)

    def _flush(self, outbox: list[tuple[IPv6Address, IPv6Address | None, bytes]]) -> None:
        """Send the replies of a burst with one sendmmsg; a failed one is counted and logged, the rest go."""
        batch = self._batch
        assert batch is not None
        data, stride = batch.slots.data, batch.slots.stride
        for i, (dst, src, wire) in enumerate(outbox):
            start = i * stride
            data[start:start + len(wire)] = wire
            batch.set(i, start, len(wire), self._name(dst), self._control(src))
        sent, error = batch.send(self.sock.fileno(), 0, len(outbox))
        if sent < len(outbox):
            self.errors += len(outbox) - sent
            self.log.warn('sending {failed} of {count} Mobility Headers failed: {error}',
                          failed=len(outbox) - sent, count=len(outbox), error=OSError(error, os.strerror(error)))


def _pktinfo(src: IPv6Address | None) -> list[tuple[int, int, bytes]]:
    """IPV6_PKTINFO pinning a reply's source address (none for no or the unspecified address)."""
    if src is None or not int(src):
        return []
    return [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _PKTINFO.pack(src.packed, 0))]


def _sockaddr(dst: IPv6Address) -> CBuffer:
    """struct sockaddr_in6 of a peer, in C memory for sendmmsg."""
    return CBuffer(_SOCKADDR_IN6.pack(socket.AF_INET6, 0, 0, dst.packed, 0))
