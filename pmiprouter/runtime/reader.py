"""A non-blocking socket as a Twisted read descriptor that never lets an exception escape.

Twisted drops a descriptor whose `doRead` raises (design.md), so every socket the daemon
reads goes through this loop: read a batch, hand each packet to `handle`, count and log
whatever goes wrong, keep reading.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer


@implementer(IReadDescriptor)
class SocketReader:
    """Subclasses give `receive()` (one packet, raising BlockingIOError when none) and `handle(packet)`."""

    log = Logger()
    batch = 32  # packets per doRead before the reactor gets control back

    def __init__(self, reactor: Any, sock: socket.socket, name: str) -> None:
        self.reactor = reactor
        self.sock = sock
        self.name = name
        self.errors = 0

    def receive(self) -> Any:
        raise NotImplementedError

    def handle(self, packet: Any) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self.reactor.addReader(self)

    def stop(self) -> None:
        self.reactor.removeReader(self)
        self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:
        return self.name

    def connectionLost(self, reason: Failure) -> None:
        self.log.warn('{name}: socket lost: {reason}', name=self.name, reason=reason.getErrorMessage())

    def doRead(self) -> None:
        for _ in range(self.batch):
            try:
                packet = self.receive()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. ENOBUFS on netlink: counted, the next read goes on
                self.errors += 1
                self.log.warn('{name}: read failed: {error}', name=self.name, error=exc)
                return
            try:
                self.handle(packet)
            except Exception:  # the boundary (design.md principle 4): count, log, keep reading
                self.errors += 1
                self.log.failure('{name}: packet not handled', name=self.name)
