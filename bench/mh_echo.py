#!/usr/bin/env python3
"""The floor under `bench_lma_daemon.py`: the daemon's socket and reactor with no registration work.

Answers every Mobility Header with a fixed 16-byte PBA (the PBU's Sequence # copied) through the
daemon's own MH port: the same raw socket options, the same Twisted reactor and read loop, the
same batched reads and sends. What `bench_lma_daemon.py --floor` measures with it is the part of
a registration's CPU time that no change to the engine can remove.
"""

from __future__ import annotations

import os
import socket
import sys
from ipaddress import IPv6Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import epollreactor  # noqa: E402

epollreactor.install()

from twisted.internet import reactor  # noqa: E402

from pmiprouter.runtime.mhport import MHPort  # noqa: E402

REPLY = bytearray(b'\x3b\x01\x06\x00\x00\x00\x00\x00\x00\x00\x0e\x10' + bytes(4))  # PBA, status 0, lifetime 3600 s


class EchoPort(MHPort):
    """An MH port that answers before decoding: the registration work is left out on purpose."""

    def handle_datagram(self, data: bytes, src: IPv6Address, dst: IPv6Address) -> None:
        REPLY[6:8] = data[6:8]
        self.send(src, dst, bytes(REPLY))


def main() -> None:
    port = EchoPort(reactor, lambda event: None)
    port.start()
    notify = os.environ.get('NOTIFY_SOCKET')
    if notify:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b'READY=1', notify)
    reactor.run()


if __name__ == '__main__':
    main()
