"""A datagram socket's receive buffer: asked for large, and the datagrams the kernel dropped when it was full.

Routing daemons ask for far more than the default (net.core.rmem_default, 208 KiB): a peer that
restarts sends its whole state at once. The kernel charges each queued datagram's truesize (its
buffer plus the sk_buff), not its length: about 800 bytes for a PBU on veth or loopback, up to
about 2.3 KiB from a NIC that receives into 2 KiB page fragments. A MAG restarting with 4,096
MNs sends 4,096 PBUs at once: 3.2 MB of buffer on veth, 9.5 MB from such a NIC. We ask for
MH_RCVBUF (8 MiB); Linux doubles the figure for its bookkeeping, so the limit is 16 MiB, room for
about 7,000 PBUs at the worst truesize and 20,000 at the usual one (several MAGs restarting
together). It is a limit, not a reservation: only datagrams waiting to be read use memory.

Root (CAP_NET_ADMIN) gets the size with SO_RCVBUFFORCE; anyone else gets SO_RCVBUF, which the
kernel caps at net.core.rmem_max (and says nothing), so the size obtained is read back and logged.

With SO_RXQ_OVFL the kernel attaches to each datagram it queues the socket's cumulative drop
counter (u32), once it is not zero: a drop is seen with the next datagram that gets through.
The counter is the socket's sk_drops, which also counts the rare datagram refused for a bad
checksum; in practice it is the receive buffer overflowing.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from collections.abc import Callable

from twisted.logger import Logger

SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)  # Linux; not in Python's socket module
SO_RXQ_OVFL = getattr(socket, 'SO_RXQ_OVFL', 40)
MH_RCVBUF = 8 << 20  # bytes asked for (the kernel doubles it): see the module's docstring
#: Test-only: the receive buffer asked for instead of MH_RCVBUF, in bytes (tests that make the
#: kernel drop). Not a configuration command: an operator has no reason to shrink it.
RCVBUF_ENV = 'PMIPROUTER_TEST_MH_RCVBUF'
WARN_INTERVAL_S = 10.0  # at most one drop warning per socket this often
DROP_COUNTER = struct.Struct('=I')  # SO_RXQ_OVFL's payload
DROP_CMSG_SPACE = socket.CMSG_SPACE(DROP_COUNTER.size)

log = Logger()


def asked_size() -> int:
    """The receive buffer to ask for: MH_RCVBUF, or the test knob's value."""
    return int(os.environ.get(RCVBUF_ENV, MH_RCVBUF))


def enlarge(sock: socket.socket, size: int) -> tuple[int, str]:
    """Ask for a `size`-byte receive buffer; return the size obtained (as getsockopt reports it) and how."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        how = 'SO_RCVBUFFORCE'
    except PermissionError:  # no CAP_NET_ADMIN: the kernel caps it at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        how = 'SO_RCVBUF, capped by net.core.rmem_max'
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), how


def prepare(sock: socket.socket, what: str, count_drops: bool) -> int:
    """Enlarge `sock`'s receive buffer (and ask for the drop counter); log the size obtained; return it."""
    size = asked_size()
    obtained, how = enlarge(sock, size)
    if count_drops:
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    # The kernel reports twice what it was asked for: less than that is a cap.
    if obtained < 2 * size:
        log.warn('{what} receive buffer: {size} bytes ({how}); asked for {asked}: raise net.core.rmem_max '
                 'or run with CAP_NET_ADMIN, or bursts of signalling will be dropped',
                 what=what, size=obtained, how=how, asked=2 * size)
    else:
        log.info('{what} receive buffer: {size} bytes ({how})', what=what, size=obtained, how=how)
    return obtained


def drop_count(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The SO_RXQ_OVFL counter among a recvmsg's control messages; None when absent (no drop yet)."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= DROP_COUNTER.size:
            return int(DROP_COUNTER.unpack_from(value)[0])
    return None


class KernelDrops:
    """The latest drop counter of one socket, and a warning (at most one per interval) when it grows.

    The reader sets `count` (cheap: per datagram that carries it) and calls `check()` once per read.
    """

    log = log

    def __init__(
        self, what: str, interval_s: float = WARN_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what = what
        self.count = 0
        self.interval_s = interval_s
        self.clock = clock
        self._warned = 0  # count at the last warning
        self._warned_at = -math.inf

    def check(self) -> None:
        """Warn when the counter grew since the last warning, unless one was given less than an interval ago."""
        if self.count == self._warned:
            return
        now = self.clock()
        if now - self._warned_at < self.interval_s:
            return  # the next read after the interval reports what grew meanwhile
        self.log.warn('{what}: the kernel dropped {new} datagrams (receive buffer full), {total} since start',
                 what=self.what, new=(self.count - self._warned) % (1 << 32), total=self.count)
        self._warned, self._warned_at = self.count, now
