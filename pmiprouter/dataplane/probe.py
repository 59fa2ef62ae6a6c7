"""Capability probe: which backend can run on this kernel? (for ``dataplane auto``)

Preferably runs in a scratch network namespace so nothing on the host changes: a worker thread
enters it (setns affects only the calling thread), tries to create each tunnel kind the kernel
backend uses -- with endpoints, because a bare ``ip6tnl`` collides with the fallback device
``ip6tnl0`` (EEXIST) -- and opens a TUN device. The namespace is always deleted.

Creating a namespace needs CAP_SYS_ADMIN, which the systemd unit withholds (and the unit's
ProtectKernelModules hides the module lists). Then the probe says so loudly and runs in the
daemon's own namespace instead, with CAP_NET_ADMIN only: each throwaway device gets a unique
name and is deleted at once. Its one lasting effect is the kernel loading the tunnel modules
(and their fallback devices ip6tnl0, sit0, gre0 ...), which the kernel backend does anyway.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

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


def try_kinds(out: dict[str, object], cleanup: bool) -> None:
    """Create one device of each kind (and a TUN) in the current namespace; record what worked.

    Names are unique per run so a probe never meets a device of ours or of a concurrent probe;
    with ``cleanup`` each device is deleted right after (a scratch namespace needs no cleanup).
    """
    from pyroute2 import IPRoute

    from pmiprouter.dataplane.tun import open_tun

    tag = uuid.uuid4().hex[:5]
    tunnels: dict[str, bool] = {}
    with IPRoute() as ipr:
        for n, (kind, attrs) in enumerate(_KINDS.items()):
            name = f'pmipprb{tag}{n}'
            try:
                ipr.link('add', ifname=name, kind=kind, **attrs)
            except Exception as exc:  # noqa: BLE001 - any failure means "not available"
                tunnels[kind] = False
                out[f'error_{kind}'] = str(exc)
                continue
            tunnels[kind] = True
            if cleanup:
                ipr.link('del', index=ipr.link_lookup(ifname=name)[0])
    out['tunnels'] = tunnels
    try:
        fd, _name = open_tun(f'pmipprb{tag}t')  # not persistent: gone when the fd closes
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
    how = ''
    try:
        netns.create(name)
    except Exception as exc:  # noqa: BLE001 - no scratch netns: probe here, and say why
        log.warning('dataplane probe: cannot create a scratch network namespace (%s; no CAP_SYS_ADMIN?):'
                    ' probing with throwaway devices in the daemon\'s own namespace', exc)
        how = f'probed in place, no scratch netns ({exc}): '
        _guard(None, out)
    else:
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
        return ProbeResult(tunnels, tun, 'kernel', how + 'kernel has ' + ', '.join(sorted(tunnels)))
    missing = ', '.join(sorted(k for k, ok in tunnels.items() if not ok))
    missing = missing or f'all (probe failed: {out.get("error")})'
    if tun:
        return ProbeResult(tunnels, tun, 'userspace', f'{how}kernel lacks {missing}; TUN works')
    reason = f'{how}kernel lacks {missing} and TUN ({out.get("error_tun")}): no forwarding'
    return ProbeResult(tunnels, tun, 'memory', reason)


def _guard(ns: str | None, out: dict[str, object]) -> None:
    try:
        if ns is not None:
            enter_netns(ns)
        try_kinds(out, cleanup=ns is None)
    except Exception as exc:  # noqa: BLE001 - reported in the result
        out['error'] = repr(exc)
