"""MHPort reads a burst with one recvmmsg on a real raw socket, with the addresses recvmsg would give.

Two network namespaces joined by a veth pair: the port's socket in one, a peer sending Mobility
Headers in the other. Sockets are made inside the namespace (by a thread that entered it) and
then used from the test's thread.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TypeVar

import pytest

from pmiprouter.core.events import Event, MalformedReceived, MessageReceived
from pmiprouter.dataplane.mmsg import RecvBatch
from pmiprouter.dataplane.probe import enter_netns
from pmiprouter.mh import BindingUpdate, Heartbeat, MobileNodeIdentifier, decode, encode
from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.runtime.mhport import IPPROTO_MH, MAX_MH, READ_BATCH, MHPort

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespaces, raw sockets)')
T = TypeVar('T')
LMA = IPv6Address('2001:db8:12::2')
MAG = IPv6Address('2001:db8:12::1')
LMA_LL = IPv6Address('fe80::2')
MAG_LL = IPv6Address('fe80::1')
SO_RCVBUFFORCE = 33  # Linux; not in Python's socket module


def in_namespace(name: str, job: Callable[[], T]) -> T:
    with ThreadPoolExecutor(1, initializer=enter_netns, initargs=(name,)) as pool:
        return pool.submit(job).result(timeout=30)


def ip(*args: str) -> None:
    subprocess.run(['ip', *args], check=True, capture_output=True)


@dataclass
class Link:
    lma_ns: str
    mag_ns: str
    mag_dev: str


@pytest.fixture
def link() -> Iterator[Link]:
    """Two scratch namespaces joined by a veth pair with global and link-local addresses (no DAD)."""
    tag = uuid.uuid4().hex[:8]
    lma_ns, mag_ns = f'pmr-l-{tag}', f'pmr-m-{tag}'
    lma_dev, mag_dev = f'rl{tag}', f'rm{tag}'
    ip('netns', 'add', lma_ns)
    ip('netns', 'add', mag_ns)
    try:
        ip('link', 'add', lma_dev, 'netns', lma_ns, 'type', 'veth', 'peer', 'name', mag_dev, 'netns', mag_ns)
        for ns, dev, address, link_local in ((lma_ns, lma_dev, LMA, LMA_LL), (mag_ns, mag_dev, MAG, MAG_LL)):
            ip('-n', ns, 'addr', 'add', f'{address}/64', 'dev', dev, 'nodad')
            ip('-n', ns, 'addr', 'add', f'{link_local}/64', 'dev', dev, 'nodad')
            ip('-n', ns, 'link', 'set', dev, 'up')
        yield Link(lma_ns, mag_ns, mag_dev)
    finally:
        subprocess.run(['ip', 'netns', 'del', lma_ns], check=False)
        subprocess.run(['ip', 'netns', 'del', mag_ns], check=False)


def raw_mh_socket() -> socket.socket:
    return socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)


class Peer:
    """A MAG's raw MH socket in its namespace.

    A datagram is in the LMA socket's queue when sendto returns: veth hands it to the receive
    path in the sender's context, as loopback does for test_mhport_batch.
    """

    def __init__(self, link: Link) -> None:
        self.sock = in_namespace(link.mag_ns, raw_mh_socket)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
        self.scope = in_namespace(link.mag_ns, lambda: socket.if_nametoindex(link.mag_dev))

    def send(self, wire: bytes, dst: IPv6Address = LMA) -> None:
        self.sock.sendto(wire, (str(dst), 0, 0, self.scope if dst.is_link_local else 0))

    def close(self) -> None:
        self.sock.close()


def lma_port(link: Link, deliver: Callable[[Event], None]) -> MHPort:
    port = MHPort(None, deliver, in_namespace(link.lma_ns, MHPort.open_socket))  # type: ignore[arg-type]
    port.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 22)  # room for more than a burst (root)
    return port


def counting_recvmmsg(port: MHPort) -> list[int]:
    """Record what each recvmmsg of the port returns."""
    batch = port._recv
    assert isinstance(batch, RecvBatch)
    calls: list[int] = []
    recv = batch.recv

    def counted(fd: int) -> int:
        calls.append(recv(fd))
        return calls[-1]

    batch.recv = counted  # type: ignore[method-assign]
    return calls


def pbu(sequence: int, nai: str) -> bytes:
    identifier = MobileNodeIdentifier(MNIdentifierSubtype.NAI, nai.encode())
    return encode(BindingUpdate.proxy(sequence, 3600, (identifier,)))


def wait_readable(port: MHPort) -> None:
    assert select.select([port.sock], [], [], 5)[0], 'nothing arrived'


def test_one_recvmmsg_delivers_a_burst_in_order_with_addresses_and_counts_the_malformed(link: Link) -> None:
    got: list[Event] = []
    port = lma_port(link, got.append)
    peer = Peer(link)
    calls = counting_recvmmsg(port)
    try:
        for n in range(5):
            peer.send(pbu(n, f'mn{n}@example.com'))
        peer.send(b'\x3b\x00\x63\x00\x00\x00\x00\x00')  # MH type 99: unknown
        peer.send(pbu(5, 'll@example.com'), LMA_LL)  # from and to link-local addresses
        wait_readable(port)
        port.doRead()
    finally:
        port.sock.close()
        peer.close()
    assert calls == [7]  # one system call for the whole burst
    assert [type(e) for e in got] == [MessageReceived] * 5 + [MalformedReceived, MessageReceived]
    messages = [e.message for e in got if isinstance(e, MessageReceived)]
    assert [m.sequence for m in messages] == [0, 1, 2, 3, 4, 5]  # type: ignore[attr-defined]
    assert [(e.src, e.dst) for e in got[:6]] == [(MAG, LMA)] * 6  # type: ignore[union-attr]
    link_local = got[6]
    assert isinstance(link_local, MessageReceived) and (link_local.src, link_local.dst) == (MAG_LL, LMA_LL)
    assert link_local.src.scope_id is None  # the scope is the interface's business, as strip_scope does
    assert got[0].src is got[4].src and got[0].dst is got[4].dst  # type: ignore[union-attr]  # parsed once
    assert (port.received, port.malformed, port.errors) == (7, 1, 0)


def test_recvmmsg_gives_what_recvmsg_gives(link: Link) -> None:
    """The same datagrams read one by one (recvmsg, then handle) and as a burst make equal events."""
    one_by_one: list[Event] = []
    burst: list[Event] = []
    port = lma_port(link, one_by_one.append)
    peer = Peer(link)
    bad_payload_proto = b'\x01\x00\x10\x00\x00\x00\x00\x00'
    wires = [pbu(1, 'a@example.com'), encode(Heartbeat(7)), bad_payload_proto, pbu(2, 'b@example.com')]
    try:
        for destination in (LMA, LMA_LL):
            for wire in wires:
                peer.send(wire, destination)
        wait_readable(port)
        for _ in range(len(wires)):
            port.handle(port.receive())
        port.deliver = burst.append
        port.doRead()
    finally:
        port.sock.close()
        peer.close()
    assert len(one_by_one) == len(burst) == len(wires)
    assert [(e.src, e.dst) for e in one_by_one] == [(MAG, LMA)] * len(wires)  # type: ignore[union-attr]
    assert [(e.src, e.dst) for e in burst] == [(MAG_LL, LMA_LL)] * len(wires)  # type: ignore[union-attr]
    assert [type(e) for e in one_by_one] == [type(e) for e in burst]
    assert [getattr(e, 'message', None) for e in one_by_one] == [getattr(e, 'message', None) for e in burst]
    assert [str(getattr(e, 'error', '')) for e in one_by_one] == [str(getattr(e, 'error', '')) for e in burst]
    assert (port.received, port.malformed) == (2 * len(wires), 2)


def test_the_first_hook_sees_each_datagram_before_decoding(link: Link) -> None:
    got: list[Event] = []
    offered: list[tuple[bytes, IPv6Address, IPv6Address]] = []
    port = lma_port(link, got.append)
    # Takes Binding Updates (MH type 5), as CommonPbuOffer takes the PBUs it can register.
    port.first = lambda data, src, dst: offered.append((data, src, dst)) or data[2] == 5
    peer = Peer(link)
    wires = [pbu(1, 'a@example.com'), encode(Heartbeat(3))]
    try:
        for wire in wires:
            peer.send(wire)
        wait_readable(port)
        port.doRead()
    finally:
        port.sock.close()
        peer.close()
    # The kernel fills in the checksum (bytes 4-5).
    assert [(data[:4] + data[6:], src, dst) for data, src, dst in offered] == [
        (wire[:4] + wire[6:], MAG, LMA) for wire in wires]
    assert type(offered[0][0]) is bytes  # what the common PBU reader requires
    assert len(got) == 1 and isinstance(got[0], MessageReceived) and isinstance(got[0].message, Heartbeat)
    assert port.received == 2


def test_a_burst_is_bounded_by_read_batch(link: Link) -> None:
    got: list[Event] = []
    port = lma_port(link, got.append)
    peer = Peer(link)
    calls = counting_recvmmsg(port)
    try:
        for n in range(READ_BATCH + 3):
            peer.send(encode(Heartbeat(n)))
        wait_readable(port)
        port.doRead()
        first_burst = len(got)
        port.doRead()
        port.doRead()  # nothing left: recvmmsg says so without an error
    finally:
        port.sock.close()
        peer.close()
    assert calls == [READ_BATCH, 3, 0] and first_burst == READ_BATCH
    assert [e.message.sequence for e in got] == list(range(READ_BATCH + 3))  # type: ignore[union-attr]
    assert port.errors == 0


def test_an_oversized_datagram_is_malformed_not_cut_into_a_valid_message(link: Link) -> None:
    """A Heartbeat whose Header Len covers exactly MAX_MH bytes, with more bytes after it."""
    got: list[Event] = []
    port = lma_port(link, got.append)
    peer = Peer(link)
    heartbeat = bytearray(encode(Heartbeat(9)))
    heartbeat[1] = MAX_MH // 8 - 1  # Header Len: the whole MAX_MH bytes (Pad1 options after the message)
    exact = bytes(heartbeat.ljust(MAX_MH, b'\0'))
    try:
        peer.send(exact)
        peer.send(exact + bytes(100))
        wait_readable(port)
        port.doRead()
    finally:
        port.sock.close()
        peer.close()
    # MAX_MH bytes are still a message; more are malformed, not cut down to a message.
    assert isinstance(got[0], MessageReceived) and isinstance(got[0].message, Heartbeat)
    assert isinstance(got[1], MalformedReceived)
    assert (port.received, port.malformed, port.errors) == (2, 1, 0)


def test_without_pktinfo_the_destination_is_unspecified(link: Link) -> None:
    got: list[Event] = []
    port = lma_port(link, got.append)
    port.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 0)
    peer = Peer(link)
    try:
        peer.send(encode(Heartbeat(1)))
        wait_readable(port)
        port.doRead()
    finally:
        port.sock.close()
        peer.close()
    assert len(got) == 1 and got[0].dst == IPv6Address('::') and got[0].src == MAG  # type: ignore[union-attr]


def test_a_failing_consumer_and_a_failed_read_are_counted_never_raised(link: Link) -> None:
    got: list[Event] = []

    def deliver(event: Event) -> None:
        if isinstance(event, MessageReceived) and event.message == Heartbeat(2):
            raise RuntimeError('consumer bug')
        got.append(event)

    port = lma_port(link, deliver)
    peer = Peer(link)
    try:
        for n in (1, 2, 3):
            peer.send(encode(Heartbeat(n)))
        wait_readable(port)
        port.doRead()
        errors_after_burst = port.errors
    finally:
        port.sock.close()
        peer.close()
    port.doRead()  # a closed socket: recvmmsg fails with EBADF
    assert [e.message for e in got] == [Heartbeat(1), Heartbeat(3)]  # type: ignore[union-attr]
    assert errors_after_burst == 1 and port.errors == 2


def test_replies_made_during_a_burst_leave_at_its_end(link: Link) -> None:
    """The outbox still works with the batched read: the peer sees no reply until the burst is done."""
    peer = Peer(link)
    seen_while_reading: list[int] = []

    def pending() -> list[bytes]:
        got = []
        while True:
            try:
                got.append(peer.sock.recv(4096, socket.MSG_DONTWAIT))
            except BlockingIOError:
                return got

    def deliver(event: Event) -> None:
        assert isinstance(event, MessageReceived) and isinstance(event.message, Heartbeat)
        port.send(event.src, event.dst, encode(Heartbeat(event.message.sequence + 100, response=True)))
        seen_while_reading.extend(decode(w).sequence for w in pending())  # type: ignore[attr-defined]

    port = lma_port(link, deliver)
    try:
        for n in (1, 2, 3):
            peer.send(encode(Heartbeat(n)))
        wait_readable(port)
        pending()  # the peer's own datagrams (every raw MH socket hears them)
        port.doRead()
        after = [m.sequence for m in map(decode, pending()) if m.response]  # type: ignore[attr-defined]
    finally:
        port.sock.close()
        peer.close()
    assert [s for s in seen_while_reading if s > 100] == []
    assert after == [101, 102, 103]
