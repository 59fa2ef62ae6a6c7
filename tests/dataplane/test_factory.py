"""Backend choice: the factory, the probe behind ``dataplane auto`` and the naming rules."""

from __future__ import annotations

import functools

from ipaddress import IPv6Address

import pytest

from pmiprouter.dataplane import factory
from pmiprouter.dataplane.interface import DataplaneError, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.dataplane.naming import NameRegistry, is_our_table, tunnel_ifname, tunnel_table
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.probing import kernel_tunnels_ok

A, B = IPv6Address('2001:db8::1'), IPv6Address('2001:db8::2')


def test_memory_and_unknown_kinds() -> None:
    """'memory' builds the model; an unknown keyword is a DataplaneError naming the choices."""
    assert isinstance(factory.make_dataplane('memory'), MemoryDataplane)
    with pytest.raises(DataplaneError, match='auto, kernel, userspace, memory'):
        factory.make_dataplane('fast')


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs root (probe uses a scratch netns)')
def test_auto_picks_and_explains() -> None:
    """'auto' picks kernel where tunnels exist, else userspace, and records a readable reason."""
    from pmiprouter.dataplane.probe import probe

    result = probe()
    assert result.choice == ('kernel' if kernel_tunnels_ok() else 'userspace')
    assert result.reason and (result.choice == 'kernel' or 'lacks' in result.reason)


def test_names_are_deterministic_short_and_distinct() -> None:
    """Names depend on identity (not MTU), fit IFNAMSIZ, and tables fall in our range."""
    one = TunnelSpec(A, B, TunnelMode.IP6IP6)
    assert tunnel_ifname(one) == tunnel_ifname(TunnelSpec(A, B, TunnelMode.IP6IP6, mtu=1400))
    assert len(tunnel_ifname(one)) <= 15 and tunnel_ifname(one).startswith('pmip')
    assert tunnel_ifname(one) != tunnel_ifname(TunnelSpec(B, A, TunnelMode.IP6IP6))
    assert tunnel_ifname(one) != tunnel_ifname(TunnelSpec(A, B, TunnelMode.GRE6, 1, 2))
    assert is_our_table(tunnel_table(tunnel_ifname(one))) and not is_our_table(254)


def test_name_registry_detects_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two different specs hashing to one name are refused rather than sharing a device."""
    from pmiprouter.dataplane import naming

    monkeypatch.setattr(naming, '_digest', lambda text: '0' * 64)
    for cached in (naming.tunnel_ifname, naming.tunnel_table):  # names computed by earlier tests
        cached.cache_clear()
        monkeypatch.setattr(naming, cached.__name__, functools.lru_cache(maxsize=None)(cached.__wrapped__))
    registry = NameRegistry()
    registry.claim(TunnelSpec(A, B, TunnelMode.IP6IP6))
    registry.claim(TunnelSpec(A, B, TunnelMode.IP6IP6, mtu=1400))
    with pytest.raises(DataplaneError, match='collision'):
        registry.claim(TunnelSpec(A, B, TunnelMode.IP6_ANY))
