"""Capability probe: which backend can run on this kernel? (for ``dataplane auto``)

Runs in a scratch network namespace so nothing on the host changes: a worker thread enters it
(setns affects only the calling thread), tries to create each tunnel kind the kernel backend
uses -- with endpoints, because a bare ``ip6tnl`` collides with the fallback device ``ip6tnl0``
(EEXIST) -- and opens a TUN device. The namespace is always deleted.
"""

from __future__ import annotations

import ctypes
import os
import threading
import uuid
from dataclasses import dataclass, field

CLONE_NEWNET = 0x40000000

#: kind -> link('add') attributes of a throwaway device.
_KINDS: dict[str, dict[str, object]] = {
    'ip6tnl': {'ip6tnl_local': '2001:db8::1', 'ip6tnl_remote': '2001:db8::2'},
    'sit': {'sit_local': '192.0.2.1', 'sit_remote': '192.0.2.2'},
    'ip6gre': {'ip6gre_local': '2001:db8::1', 'ip6gre_remote': '2001:db8::2'},
    'gre': {'gre_local': '192.0.2.1', 'gre_remote': '192.0.2.2'},
}


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found, the backend ``auto`` picks and why (human-readable)."""

    tunnels: dict[str, bool] = field(default_factory=dict)
    tun: bool = False
    choice: str = 'memory'
    reason: str = ''

    @property
    def kernel_ok(self) -> bool:
        """True if every tunnel kind the kernel backend needs can be created."""
        return bool(self.tunnels) and all(self.tunnels.values())


def enter_netns(name: str) -> None:
    """Move the calling thread into the named namespace (/run/netns/NAME)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f'/run/netns/{name}', os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f'setns {name}: {os.strerror(err)}')
    finally:
        os.close(fd)


def _probe_inside(ns: str, out: dict[str, object]) -> None:
    from pyroute2 import IPRoute

    enter_netns(ns)
    tunnels: dict[str, bool] = {}
    with IPRoute() as ipr:
        for n, (kind, attrs) in enumerate(_KINDS.items()):
            try:
                ipr.link('add', ifname=f'pmipprobe{n}', kind=kind, **attrs)
                tunnels[kind] = True
            except Exception as exc:  # noqa: BLE001 - any failure means "not available"
                tunnels[kind] = False
                out[f'error_{kind}'] = str(exc)
    out['tunnels'] = tunnels
    from pmiprouter.dataplane.tun import open_tun

    try:
        fd, _name = open_tun('pmipprobetun')
        os.close(fd)
        out['tun'] = True
    except OSError as exc:
        out['tun'] = False
        out['error_tun'] = str(exc)


def probe() -> ProbeResult:
    """Probe the running kernel; never raises (a failed probe picks ``memory`` and says why)."""
    from pyroute2 import netns

    name = 'pmipprobe' + uuid.uuid4().hex[:6]
    out: dict[str, object] = {}
    try:
        netns.create(name)
    except Exception as exc:  # noqa: BLE001 - no netns: no probe, report why
        return ProbeResult(reason=f'cannot create a scratch netns ({exc}); no forwarding backend')
    try:
        worker = threading.Thread(target=_guard, args=(name, out), name='dataplane-probe', daemon=True)
        worker.start()
        worker.join(30)
    finally:
        netns.remove(name)
    tunnels = out.get('tunnels', {})
    assert isinstance(tunnels, dict)
    tun = bool(out.get('tun'))
    if tunnels and all(tunnels.values()):
        return ProbeResult(tunnels, tun, 'kernel', 'kernel has ' + ', '.join(sorted(tunnels)))
    missing = ', '.join(sorted(k for k, ok in tunnels.items() if not ok))
    missing = missing or f'all (probe failed: {out.get("error")})'
    if tun:
        return ProbeResult(tunnels, tun, 'userspace', f'kernel lacks {missing}; TUN works')
    reason = f'kernel lacks {missing} and TUN ({out.get("error_tun")}): no forwarding'
    return ProbeResult(tunnels, tun, 'memory', reason)


def _guard(ns: str, out: dict[str, object]) -> None:
    try:
        _probe_inside(ns, out)
    except Exception as exc:  # noqa: BLE001 - reported in the result
        out['error'] = repr(exc)
