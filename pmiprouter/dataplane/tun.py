"""Open a TUN device (IFF_TUN | IFF_NO_PI) without any helper: ioctl TUNSETIFF on /dev/net/tun."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import struct

log = logging.getLogger(__name__)

TUNSETIFF = 0x400454CA
SIOCSIFTXQLEN = 0x8943
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
#: Packets the kernel may queue towards the forwarder. The default (500) overflows whenever the
#: pump thread waits a few tens of milliseconds for a CPU at 20k packets/s (measured on the
#: shared development host: a third of the packets lost); 4096 rides out ~200 ms at that rate.
TX_QUEUE_LEN = 4096


def open_tun(name: str, tx_queue_len: int = TX_QUEUE_LEN) -> tuple[int, str]:
    """Create (or attach to) a TUN device; return (non-blocking fd, kernel-given name).

    The device lives as long as the fd (it is not persistent), so a crashed daemon leaves no
    TUN behind; the routes through it vanish with it.
    """
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        ifr = struct.pack('16sH22x', name.encode(), IFF_TUN | IFF_NO_PI)
        res = fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError:
        os.close(fd)
        raise
    ifname = res[:16].rstrip(b'\0').decode()
    set_tx_queue_len(ifname, tx_queue_len)
    return fd, ifname


def set_tx_queue_len(ifname: str, qlen: int) -> None:
    """Set a device's transmit queue length (SIOCSIFTXQLEN); a failure is logged, not fatal."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock, SIOCSIFTXQLEN, struct.pack('16si20x', ifname.encode(), qlen))
    except OSError as exc:
        log.warning('txqueuelen %d on %s failed: %s', qlen, ifname, exc)
