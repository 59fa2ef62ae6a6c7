"""Packet capture and injection inside a namespace, on an :class:`NsThread` (no tcpdump)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable

ETH_P_ALL = 0x0003


def capture(
    ifname: str, match: Callable[[bytes], bool], ready: threading.Event, timeout: float = 5
) -> bytes | None:
    """Return the first IP packet seen on ``ifname`` for which ``match`` is true, or None.

    Runs on a thread inside the namespace; sets ``ready`` once the socket is bound.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((ifname, 0))
        sock.settimeout(0.2)
        ready.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = sock.recv(65535)
            except socket.timeout:
                continue
            if len(frame) > 14 and match(frame[14:]):
                return frame[14:]
        return None
    finally:
        ready.set()
        sock.close()


def send_raw6(local: str, remote: str, proto: int, tclass: int, payload: bytes) -> None:
    """Send ``payload`` with a kernel-built IPv6 header (Next Header ``proto``, given traffic class)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    try:
        sock.bind((local, 0))
        sock.setsockopt(socket.IPPROTO_IPV6, 67, tclass)  # IPV6_TCLASS
        sock.sendto(payload, (remote, 0))
    finally:
        sock.close()
