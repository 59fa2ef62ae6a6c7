"""The probe behind ``dataplane auto`` without a scratch namespace (the systemd unit's case)."""

from __future__ import annotations

import logging
import os

import pytest

from pmiprouter.dataplane import probe as probe_module
from tests.dataplane.probing import kernel_tunnels_ok

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def no_scratch_netns(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the unit sees: creating a namespace fails with EPERM (no CAP_SYS_ADMIN)."""
    from pyroute2 import netns

    def refuse(name: str) -> None:
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(netns, 'create', refuse)


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs CAP_NET_ADMIN (throwaway devices)')
def test_in_place_probe_says_why_and_leaves_no_device(no_scratch_netns: None, caplog: pytest.LogCaptureFixture) -> None:
    """EPERM on the scratch netns is logged loudly; the in-place probe decides like the real one
    and deletes every device it made."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        before = {link.get_attr('IFLA_IFNAME') for link in ipr.get_links()}
    with caplog.at_level(logging.WARNING, logger=probe_module.__name__):
        result = probe_module.probe()
    assert 'CAP_SYS_ADMIN' in caplog.text
    assert 'no scratch netns' in result.reason and 'Operation not permitted' in result.reason
    assert result.choice == ('kernel' if kernel_tunnels_ok() else 'userspace')
    with IPRoute() as ipr:
        after = {link.get_attr('IFLA_IFNAME') for link in ipr.get_links()}
    assert not {name for name in after - before if name.startswith('pmipprb')}


def test_the_choice_follows_what_was_created(no_scratch_netns: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tunnel kind: kernel; one missing with TUN: userspace naming it; no TUN either: memory."""
    found: dict[str, object] = {}
    monkeypatch.setattr(probe_module, 'try_kinds', lambda out, cleanup: out.update(found))
    found.update(tunnels=dict.fromkeys(probe_module._KINDS, True), tun=True)
    assert probe_module.probe().choice == 'kernel'
    found.update(tunnels={**dict.fromkeys(probe_module._KINDS, True), 'sit': False})
    result = probe_module.probe()
    assert result.choice == 'userspace' and 'lacks sit' in result.reason
    found.update(tun=False, error_tun='No such device')
    result = probe_module.probe()
    assert result.choice == 'memory' and 'No such device' in result.reason
