"""The MH port's receive buffer and the kernel's drop counter (SO_RXQ_OVFL), in both read paths.

A real raw socket in a network namespace (the fixtures of test_mhport_recvmmsg) with the smallest
receive buffer the kernel allows: a burst the port does not read meanwhile overflows it, and the
counter the next datagram brings must equal what was sent minus what was read.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest
from twisted.logger import Logger

from pmiprouter.core.events import Event
from pmiprouter.mh import Heartbeat, encode
from pmiprouter.runtime import receive_buffer
from pmiprouter.runtime.mhport import MHPort
from pmiprouter.runtime.receive_buffer import MH_RCVBUF, KernelDrops, drop_count
from tests.runtime.test_mhport_recvmmsg import Link, Peer, in_namespace, link, wait_readable  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespaces, raw sockets)')
BURST = 40


def overflowed(link: Link, read: Callable[[MHPort], None]) -> tuple[MHPort, int, list[Event]]:  # noqa: F811 - the fixture's value
    """A port with the smallest buffer, sent a burst it does not read, then a last datagram once drained.

    Returns the port, how many datagrams were sent and the events delivered.
    """
    got: list[Event] = []
    port = MHPort(None, got.append, in_namespace(link.lma_ns, MHPort.open_socket))  # type: ignore[arg-type]
    port.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # the kernel's minimum: a few datagrams
    peer = Peer(link)
    try:
        for n in range(BURST):
            peer.send(encode(Heartbeat(n)))
        wait_readable(port)
        read(port)
        queued_before_any_drop = port.received
        assert port.drops.count == 0  # the first datagrams were queued before the kernel dropped any
        peer.send(encode(Heartbeat(BURST)))  # queued after the drops: it carries the counter
        wait_readable(port)
        read(port)
    finally:
        port.sock.close()
        peer.close()
    assert 0 < queued_before_any_drop < BURST and port.received == queued_before_any_drop + 1
    assert port.errors == 0 and len(got) == port.received
    return port, BURST + 1, got


def test_the_burst_path_counts_what_the_kernel_dropped(link: Link) -> None:  # noqa: F811
    port, sent, _ = overflowed(link, MHPort.doRead)
    assert port.drops.count == sent - port.received > 0


def test_the_recvmsg_path_counts_what_the_kernel_dropped(link: Link) -> None:  # noqa: F811
    def one_by_one(port: MHPort) -> None:
        port._recv = None  # the stand-in's path: recvmsg, one datagram at a time
        port.doRead()

    port, sent, _ = overflowed(link, one_by_one)
    assert port.drops.count == sent - port.received > 0


def test_the_pktinfo_after_the_counter_still_gives_the_destination(link: Link) -> None:  # noqa: F811
    from tests.runtime.test_mhport_recvmmsg import LMA, MAG

    _, _, got = overflowed(link, MHPort.doRead)
    assert got[-1].message == Heartbeat(BURST)  # type: ignore[attr-defined]  # the one with the counter
    assert [(e.src, e.dst) for e in got] == [(MAG, LMA)] * len(got)  # type: ignore[attr-defined]


def test_the_socket_asks_for_the_large_buffer(link: Link) -> None:  # noqa: F811
    sock = in_namespace(link.lma_ns, MHPort.open_socket)
    try:
        # Root: SO_RCVBUFFORCE, past net.core.rmem_max; the kernel reports twice the figure.
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * MH_RCVBUF
        assert sock.getsockopt(socket.SOL_SOCKET, receive_buffer.SO_RXQ_OVFL) == 1
    finally:
        sock.close()


def test_the_test_knob_sets_the_buffer(link: Link, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv(receive_buffer.RCVBUF_ENV, '100000')
    sock = in_namespace(link.lma_ns, MHPort.open_socket)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 200000
    finally:
        sock.close()


def test_drop_count_reads_the_counter_among_other_control_messages() -> None:
    pktinfo = (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, bytes(20))
    assert drop_count([pktinfo]) is None
    assert drop_count([(socket.SOL_SOCKET, receive_buffer.SO_RXQ_OVFL, (7).to_bytes(4, 'little')), pktinfo]) == 7


def test_a_growing_counter_is_warned_about_at_most_once_per_interval() -> None:
    now = [100.0]
    seen: list[dict[str, object]] = []
    drops = KernelDrops('MH socket', interval_s=10.0, clock=lambda: now[0])
    drops.log = Logger(observer=seen.append)
    drops.check()
    assert seen == []  # nothing dropped: nothing said
    drops.count = 5
    drops.check()
    drops.count = 9
    now[0] += 5
    drops.check()  # within the interval: kept for later
    assert [(e['new'], e['total']) for e in seen] == [(5, 5)]
    now[0] += 5
    drops.check()
    drops.check()  # nothing new since
    assert [(e['new'], e['total']) for e in seen] == [(5, 5), (4, 9)]
    assert 'receive buffer full' in str(seen[0]['log_format'])
