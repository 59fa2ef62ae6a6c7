"""Run under the unit's sandbox (systemd-run -p ...): what the daemon needs must work, the rest not.

Prints one line per probe and exits 1 if any expectation fails. Used by guest_checks.sh.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys

failures = 0


def expect(what: str, ok: bool, detail: str = '') -> None:
    """Record one probe's result."""
    global failures
    print(f'{"ok  " if ok else "FAIL"} {what}{": " + detail if detail else ""}', flush=True)
    failures += 0 if ok else 1


def tunnels() -> None:
    """Create and delete each tunnel kind the kernel backend uses (rtnetlink, module autoload)."""
    from pyroute2 import IPRoute

    kinds = {
        'ip6tnl': {'ip6tnl_local': '2001:db8:77::1', 'ip6tnl_remote': '2001:db8:77::2'},
        'sit': {'sit_local': '198.51.100.1', 'sit_remote': '198.51.100.2'},
        'ip6gre': {'ip6gre_local': '2001:db8:77::1', 'ip6gre_remote': '2001:db8:77::2'},
        'gre': {'gre_local': '198.51.100.1', 'gre_remote': '198.51.100.2'},
    }
    with IPRoute() as ipr:
        for n, (kind, attrs) in enumerate(kinds.items()):
            name = f'pmipsbx{n}'
            try:
                ipr.link('add', ifname=name, kind=kind, **attrs)
                ipr.link('del', index=ipr.link_lookup(ifname=name)[0])
                expect(f'netlink: create and delete a {kind} device', True)
            except Exception as exc:  # noqa: BLE001 - reported
                expect(f'netlink: create and delete a {kind} device', False, repr(exc))


def sysctl() -> None:
    """Write a /proc/sys/net value (rewrite its current value)."""
    path = '/proc/sys/net/ipv4/conf/lo/accept_local'
    try:
        value = open(path).read()
        with open(path, 'w') as handle:
            handle.write(value)
        expect('write /proc/sys/net/ipv4/conf/lo/accept_local', True)
    except OSError as exc:
        expect('write /proc/sys/net/ipv4/conf/lo/accept_local', False, str(exc))


def sockets() -> None:
    """Raw MH socket, privileged UDP port, netlink, TUN."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135).close()
        expect('raw IPv6 socket, protocol 135 (CAP_NET_RAW)', True)
    except OSError as exc:
        expect('raw IPv6 socket, protocol 135 (CAP_NET_RAW)', False, str(exc))
    import errno

    try:  # a privileged port; EADDRINUSE (the daemon's own SSH server, say) also proves the permission
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(('::1', 1022))
        expect('bind TCP port 1022 (CAP_NET_BIND_SERVICE)', True)
    except OSError as exc:
        expect('bind TCP port 1022 (CAP_NET_BIND_SERVICE)', exc.errno == errno.EADDRINUSE, str(exc))
    try:
        fd = os.open('/dev/net/tun', os.O_RDWR)
        try:
            fcntl.ioctl(fd, 0x400454CA, struct.pack('16sH', b'pmipsbxtun', 0x0001 | 0x1000))
        finally:
            os.close(fd)
        expect('open /dev/net/tun and TUNSETIFF', True)
    except OSError as exc:
        expect('open /dev/net/tun and TUNSETIFF', False, str(exc))


def state_dir() -> None:
    """The StateDirectory is writable; /usr and /etc (outside /etc/pmiprouter) are not."""
    try:
        with open('/var/lib/pmiprouter/.sandbox-probe', 'w') as handle:
            handle.write('x')
        os.unlink('/var/lib/pmiprouter/.sandbox-probe')
        expect('write /var/lib/pmiprouter (StateDirectory)', True)
    except OSError as exc:
        expect('write /var/lib/pmiprouter (StateDirectory)', False, str(exc))
    for path in ('/usr/lib/pmiprouter-probe', '/etc/pmiprouter-probe'):
        try:
            open(path, 'w').close()
            os.unlink(path)
            expect(f'{path} is read-only (ProtectSystem=strict)', False, 'write succeeded')
        except OSError:
            expect(f'{path} is read-only (ProtectSystem=strict)', True)


def denied() -> None:
    """What the unit withholds: CAP_SYS_ADMIN (new namespaces), CAP_SYS_MODULE."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) == 0:  # CLONE_NEWNET (os.unshare arrives with Python 3.12)
        expect('unshare(CLONE_NEWNET) denied (no CAP_SYS_ADMIN)', False, 'succeeded')
    else:
        expect('unshare(CLONE_NEWNET) denied (no CAP_SYS_ADMIN)', True, os.strerror(ctypes.get_errno()))
    status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
    expect('CapBnd is NET_ADMIN|NET_RAW|NET_BIND_SERVICE only', status['CapBnd'].strip() == '0000000000003400',
           status['CapBnd'].strip())


if __name__ == '__main__':
    tunnels()
    sysctl()
    sockets()
    state_dir()
    denied()
    sys.exit(1 if failures else 0)
