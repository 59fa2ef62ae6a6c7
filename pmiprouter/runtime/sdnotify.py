"""systemd's readiness protocol (sd_notify) in pure stdlib, without python3-systemd.

`notify('READY=1')` sends one datagram to the AF_UNIX socket named by ``$NOTIFY_SOCKET``
(a path, or ``@name`` for the abstract namespace). Outside systemd (no ``$NOTIFY_SOCKET``)
it does nothing, so the daemon calls it unconditionally. Errors never escape: readiness is
best effort and must not stop a router that is otherwise running.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ['notify', 'socket_address']


def socket_address(value: str) -> str | bytes | None:
    """Return the address to send to for a ``$NOTIFY_SOCKET`` value, or None if unusable."""
    if value.startswith('@') and len(value) > 1:
        return b'\0' + value[1:].encode()  # abstract namespace: leading NUL, no terminator
    if value.startswith('/'):
        return value
    return None  # empty, relative or vsock ('vsock:...', systemd 253+) addresses are not ours


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. 'READY=1', 'RELOADING=1', 'STOPPING=1', 'STATUS=...') to systemd.

    Returns True if the datagram was sent, False when not under systemd or on any error.
    """
    env = os.environ if environ is None else environ
    address = socket_address(env.get('NOTIFY_SOCKET', ''))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
