"""MHPort on a real raw socket: replies made while reading a burst leave together at its end."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv6Address
from typing import TypeVar

import pytest

from pmiprouter.core.events import Event, MessageReceived
from pmiprouter.dataplane.probe import enter_netns
from pmiprouter.mh import Heartbeat, decode, encode
from pmiprouter.runtime.mhport import IPPROTO_MH, MHPort

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespace, raw sockets)')
T = TypeVar('T')
LOOPBACK = IPv6Address('::1')


def in_namespace(name: str, job: Callable[[], T]) -> T:
    with ThreadPoolExecutor(1, initializer=enter_netns, initargs=(name,)) as pool:
        return pool.submit(job).result(timeout=30)


def peer_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
    sock.setblocking(False)
    return sock


def pending(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(2048))
        except BlockingIOError:
            return got


def test_replies_to_a_burst_wait_for_its_end_then_leave_in_order(netns: str) -> None:
    subprocess.run(['ip', '-n', netns, 'link', 'set', 'lo', 'up'], check=True)

    def scenario() -> tuple[list[int], list[int], list[int]]:
        peer = peer_socket()
        seen_while_reading: list[int] = []

        def deliver(event: Event) -> None:
            assert isinstance(event, MessageReceived) and isinstance(event.message, Heartbeat)
            for n in range(3):  # three replies per message: they wait in the outbox
                port.send(event.src, event.dst, encode(Heartbeat(event.message.sequence * 10 + n, response=True)))
            seen_while_reading.extend(decode(w).sequence for w in pending(peer))  # type: ignore[attr-defined]

        port = MHPort(None, deliver)  # type: ignore[arg-type]
        for sequence in (1, 2):
            peer.sendto(encode(Heartbeat(sequence)), (str(LOOPBACK), 0))
        port.doRead()
        # The port's own socket also hears the replies (every raw MH socket does); the peer reads them.
        after = [m.sequence for m in map(decode, pending(peer)) if m.response]  # type: ignore[attr-defined]
        port.send(LOOPBACK, LOOPBACK, encode(Heartbeat(99, response=True)))  # not reading: at once
        alone = [m.sequence for m in map(decode, pending(peer)) if m.response]  # type: ignore[attr-defined]
        port.sock.close()
        peer.close()
        return seen_while_reading, after, alone

    seen_while_reading, after, alone = in_namespace(netns, scenario)
    replies_seen_early = [s for s in seen_while_reading if s >= 10]
    assert replies_seen_early == []
    assert after == [10, 11, 12, 20, 21, 22]  # checksummed by the kernel (the peer verifies it), in order
    assert alone == [99]


def test_a_failed_reply_is_counted_and_the_others_still_leave(netns: str) -> None:
    subprocess.run(['ip', '-n', netns, 'link', 'set', 'lo', 'up'], check=True)

    def scenario() -> tuple[list[int], int]:
        peer = peer_socket()
        nowhere = IPv6Address('2001:db8::1')  # no route in an empty namespace: ENETUNREACH

        def deliver(event: Event) -> None:
            port.send(nowhere, None, encode(Heartbeat(7, response=True)))
            port.send(event.src, event.dst, encode(Heartbeat(8, response=True)))

        port = MHPort(None, deliver)  # type: ignore[arg-type]
        peer.sendto(encode(Heartbeat(1)), (str(LOOPBACK), 0))
        port.doRead()
        got = [m.sequence for m in map(decode, pending(peer)) if m.response]  # type: ignore[attr-defined]
        port.sock.close()
        peer.close()
        return got, port.errors

    got, errors = in_namespace(netns, scenario)
    assert got == [8] and errors == 1
