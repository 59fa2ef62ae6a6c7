"""Open a TUN device (IFF_TUN | IFF_NO_PI) without any helper: ioctl TUNSETIFF on /dev/net/tun."""

from __future__ import annotations

import fcntl
import os
import struct

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> tuple[int, str]:
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
    return fd, res[:16].rstrip(b'\0').decode()
