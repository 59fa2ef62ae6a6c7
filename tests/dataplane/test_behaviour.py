"""The behavioural suite: the same tests against the memory, userspace and kernel backends.

The userspace and kernel backends run in a scratch network namespace (root); the kernel one
also needs tunnel modules, so on this project's CI host it skips and runs in the VM.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

import pytest

from pmiprouter.dataplane.interface import (
    DataplaneError,
    DataplaneState,
    MnRouteSpec,
    Role,
    TunnelMode,
    TunnelSpec,
    UnsupportedMode,
)
from pmiprouter.dataplane.naming import is_our_ifname, tunnel_ifname
from pmiprouter.dataplane.plan import mn_objects
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.harness import MemoryHarness, NetnsHarness
from tests.dataplane.probing import kernel_tunnels_ok, tun_ok

MAG = IPv6Address('2001:db8:1::1')
LMA = IPv6Address('2001:db8:1::2')
LMA2 = IPv6Address('2001:db8:1::3')
HNP1 = IPv6Network('2001:db8:a1::/64')
HNP2 = IPv6Network('2001:db8:a2::/64')

T_A = TunnelSpec(MAG, LMA, TunnelMode.IP6_ANY)
T_B = TunnelSpec(MAG, LMA2, TunnelMode.IP6_ANY)

BACKENDS = [
    pytest.param('memory', id='memory'),
    pytest.param('userspace', id='userspace', marks=[
        pytest.mark.needs_root,
        pytest.mark.skipif(not IS_ROOT or not tun_ok(), reason='needs root and TUN')]),
    pytest.param('kernel', id='kernel', marks=[
        pytest.mark.needs_root, pytest.mark.needs_kernel_tunnels,
        pytest.mark.skipif(not IS_ROOT or not kernel_tunnels_ok(),
                           reason='kernel lacks tunnel modules (run in the VM)')]),
]


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh backend of each kind, with access interfaces acc0 and acc1."""
    h = MemoryHarness() if request.param == 'memory' else NetnsHarness(request.param)
    try:
        h.add_iface('acc0')
        h.add_iface('acc1')
        yield h
    finally:
        h.close()


def mag_mn(tunnel: TunnelSpec = T_A, hnp: IPv6Network = HNP1, acc: str = 'acc0', **kw: Any) -> MnRouteSpec:
    """A MAG-side MN spec."""
    return MnRouteSpec(Role.MAG, tunnel, hnps=(hnp,), access_ifname=acc, **kw)


def lma_mn(tunnel: TunnelSpec = T_A, hnp: IPv6Network = HNP1, **kw: Any) -> MnRouteSpec:
    """An LMA-side MN spec."""
    return MnRouteSpec(Role.LMA, tunnel, hnps=(hnp,), **kw)


def expected(h: Any, spec: MnRouteSpec) -> tuple[frozenset[Any], frozenset[Any]]:
    """The routes and rules the plan gives for ``spec`` on this backend."""
    routes, rules = mn_objects(spec, tunnel_ifname(spec.tunnel), h.dp.mn_device(spec))
    return frozenset(routes), frozenset(rules)


def test_ensure_tunnel_names_device(harness: Any) -> None:
    """ensure_tunnel returns a deterministic pmip* device that the snapshot lists."""
    dev = harness.dp.ensure_tunnel(T_A)
    assert is_our_ifname(dev) and len(dev) <= 15
    assert dev in {link.ifname for link in harness.dp.snapshot().links}
    assert T_A in harness.dp.snapshot().tunnels


def test_ensure_tunnel_is_idempotent(harness: Any) -> None:
    """A second ensure_tunnel changes nothing and keeps the same device (same ifindex)."""
    harness.dp.ensure_tunnel(T_A)
    first = harness.dp.snapshot()
    harness.dp.ensure_tunnel(T_A)
    second = harness.dp.snapshot()
    assert first == second
    assert {(l.ifname, l.ifindex) for l in first.links} == {(l.ifname, l.ifindex) for l in second.links}


def test_mag_routes_installed_and_removed(harness: Any) -> None:
    """MAG: uplink and downlink rules and routes appear, and all go on removal (twice is fine)."""
    harness.dp.ensure_tunnel(T_A)
    spec = mag_mn()
    harness.dp.ensure_mn_routes(spec)
    routes, rules = expected(harness, spec)
    snap = harness.dp.snapshot()
    assert routes <= snap.routes and rules <= snap.rules
    harness.dp.ensure_mn_routes(spec)
    assert harness.dp.snapshot() == snap
    harness.dp.remove_mn_routes(spec)
    harness.dp.remove_mn_routes(spec)
    snap = harness.dp.snapshot()
    assert not snap.routes and not snap.rules and T_A in snap.tunnels


def test_lma_routes_installed(harness: Any) -> None:
    """LMA: the HNP and the IPv4 HoA are routed into the tunnel through our table."""
    harness.dp.ensure_tunnel(T_A)
    spec = lma_mn(ipv4_hoa=IPv4Address('10.9.0.2'))
    harness.dp.ensure_mn_routes(spec)
    routes, rules = expected(harness, spec)
    snap = harness.dp.snapshot()
    assert routes == snap.routes and rules == snap.rules
    assert {str(r.dst) for r in snap.routes} == {str(HNP1), '10.9.0.2/32'}


def test_shared_tunnel_keeps_other_mn(harness: Any) -> None:
    """Two MNs share a tunnel; removing one leaves the other's routes and the shared default."""
    harness.dp.ensure_tunnel(T_A)
    one, two = mag_mn(), mag_mn(hnp=HNP2, acc='acc1')
    harness.dp.ensure_mn_routes(one)
    harness.dp.ensure_mn_routes(two)
    harness.dp.remove_mn_routes(one)
    routes, rules = expected(harness, two)
    snap = harness.dp.snapshot()
    assert snap.routes == routes and snap.rules == rules


def test_handover_switches_tunnel_without_rebuild(harness: Any) -> None:
    """LMA handover: the MN's routes move to the new tunnel; the old tunnel stays untouched."""
    harness.dp.ensure_tunnel(T_A)
    harness.dp.ensure_tunnel(T_B)
    before = {l.ifname: l.ifindex for l in harness.dp.snapshot().links}
    harness.dp.ensure_mn_routes(lma_mn(T_A))
    harness.dp.ensure_mn_routes(lma_mn(T_B))
    snap = harness.dp.snapshot()
    assert snap.mn_routes == {lma_mn(T_B)}
    routes, rules = expected(harness, lma_mn(T_B))
    assert snap.routes == routes and snap.rules == rules
    assert {l.ifname: l.ifindex for l in snap.links} == before


def test_invariants_refused(harness: Any) -> None:
    """Routes need their tunnel first, and a tunnel in use cannot be removed."""
    with pytest.raises(DataplaneError):
        harness.dp.ensure_mn_routes(mag_mn())
    harness.dp.ensure_tunnel(T_A)
    harness.dp.ensure_mn_routes(mag_mn())
    with pytest.raises(DataplaneError):
        harness.dp.remove_tunnel(T_A)
    harness.dp.remove_mn_routes(mag_mn())
    harness.dp.remove_tunnel(T_A)
    harness.dp.remove_tunnel(T_A)
    assert not harness.dp.snapshot().tunnels


def test_gre_keys_separate_same_ipv4_hoa(harness: Any) -> None:
    """Per-MN GRE keys give two MNs with the same private IPv4 HoA two tunnels and two rule sets:
    the kernel through a device per tunnel, the user-space backend through a TUN device per
    access link (no tunnel of its has a device: a handover creates none)."""
    hoa = IPv4Address('10.0.0.2')
    k1 = TunnelSpec(MAG, LMA, TunnelMode.GRE6, gre_key_in=101, gre_key_out=201)
    k2 = TunnelSpec(MAG, LMA, TunnelMode.GRE6, gre_key_in=102, gre_key_out=202)
    d1, d2 = harness.dp.ensure_tunnel(k1), harness.dp.ensure_tunnel(k2)
    one = MnRouteSpec(Role.MAG, k1, ipv4_hoa=hoa, access_ifname='acc0')
    two = MnRouteSpec(Role.MAG, k2, ipv4_hoa=hoa, access_ifname='acc1')
    harness.dp.ensure_mn_routes(one)
    harness.dp.ensure_mn_routes(two)
    if harness.name == 'userspace':
        assert d1 == d2 == 'pmiptun0'
    else:
        assert d1 != d2
    assert harness.dp.mn_device(one) != harness.dp.mn_device(two)
    snap = harness.dp.snapshot()
    assert snap.mn_routes == {one, two}
    assert expected(harness, one)[1] | expected(harness, two)[1] == snap.rules


def test_reconcile_removes_orphans_only(harness: Any) -> None:
    """After a restart, reconcile keeps what is wanted, deletes our orphans, spares the rest."""
    harness.add_foreign()
    harness.dp.ensure_tunnel(T_A)
    harness.dp.ensure_tunnel(T_B)
    keep, drop = mag_mn(), mag_mn(T_B, HNP2, 'acc1')
    harness.dp.ensure_mn_routes(keep)
    harness.dp.ensure_mn_routes(drop)
    dp = harness.restart()
    dp.reconcile(DataplaneState(tunnels=frozenset({T_A}), mn_routes=frozenset({keep})))
    snap = dp.snapshot()
    routes, rules = expected(harness, keep)
    assert snap.tunnels == {T_A} and snap.mn_routes == {keep}
    assert snap.routes == routes and snap.rules == rules
    assert {l.ifname for l in snap.links} == {dp.tunnel_device(T_A)}
    assert harness.foreign_present()


def test_spec_validation() -> None:
    """Specs refuse mismatched families, keys on non-GRE modes and MAG specs without access link."""
    with pytest.raises(DataplaneError):
        TunnelSpec(IPv4Address('192.0.2.1'), LMA, TunnelMode.IP6IP6)
    with pytest.raises(DataplaneError):
        TunnelSpec(MAG, LMA, TunnelMode.IP6IP6, gre_key_out=5)
    with pytest.raises(DataplaneError):
        MnRouteSpec(Role.MAG, T_A, hnps=(HNP1,))
    with pytest.raises(DataplaneError):
        MnRouteSpec(Role.LMA, TunnelSpec(MAG, LMA, TunnelMode.IP6IP6), ipv4_hoa=IPv4Address('10.0.0.1'))
    assert hash(T_A) == hash(TunnelSpec(MAG, LMA, TunnelMode.IP6_ANY))


def test_every_mode_gets_a_device(harness: Any) -> None:
    """Each encapsulation mode yields a device of the right kind (kernel: no IPv4-UDP device)."""
    kernel_kinds = {'ip6ip6': 'ip6tnl', 'ip6any': 'ip6tnl', 'ipv4': 'sit', 'gre6': 'ip6gre', 'gre4': 'gre'}
    specs = []
    for n, mode in enumerate(TunnelMode):
        if mode.transport_version == 6:
            local, remote = MAG, IPv6Address(f'2001:db8:2::{n + 10:x}')
        else:
            local, remote = IPv4Address('192.0.2.1'), IPv4Address(f'192.0.2.{n + 10}')
        keys = (7, 8) if mode.uses_gre else (None, None)
        specs.append(TunnelSpec(local, remote, mode, *keys))
    for spec in specs:
        if harness.name == 'kernel' and spec.mode.value not in kernel_kinds:
            with pytest.raises(UnsupportedMode):
                harness.dp.ensure_tunnel(spec)
            continue
        dev = harness.dp.ensure_tunnel(spec)
        kind = {l.ifname: l.kind for l in harness.dp.snapshot().links}[dev]
        if harness.name == 'kernel':
            assert kind == kernel_kinds[spec.mode.value], spec.mode
        elif harness.name == 'userspace':
            assert kind == 'tun'
    for spec in specs:
        harness.dp.remove_tunnel(spec)
    left = {l.ifname for l in harness.dp.snapshot().links}
    assert left <= {'pmiptun0'}


def test_memory_backend_scales_without_scanning_every_mn() -> None:
    """Ten thousand MNs on one tunnel: each ensure and remove touches only that MN's objects."""
    from ipaddress import IPv6Address, IPv6Network

    from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
    from pmiprouter.dataplane.memory import MemoryDataplane

    plane = MemoryDataplane()
    tunnel = TunnelSpec(IPv6Address('2001:db8::1'), IPv6Address('2001:db8::2'), TunnelMode.IP6_ANY)
    plane.ensure_tunnel(tunnel)
    specs = [MnRouteSpec(Role.LMA, tunnel, (IPv6Network((0x20010DB8AAAA << 80 | i << 64, 64)),)) for i in range(10_000)]
    for spec in specs:
        plane.ensure_mn_routes(spec)
    assert len(plane.snapshot().mn_routes) == 10_000
    for spec in specs[:-1]:
        plane.remove_mn_routes(spec)
    with pytest.raises(DataplaneError, match='still carries 1'):
        plane.remove_tunnel(tunnel)
    plane.remove_mn_routes(specs[-1])
    plane.remove_tunnel(tunnel)
    assert not plane.snapshot().routes


def test_a_keyed_handover_creates_no_device_behind_the_tun(harness: Any) -> None:
    """User-space backend: MNs of keyed GRE tunnels move between MAGs (the LMA: a new tunnel
    spec, with the new MAG's key) and attach (the MAG): the only devices are the shared TUN and
    one per realm or access link, made with its first keyed MN; a move makes none."""
    if harness.name != 'userspace':
        pytest.skip('the kernel and memory backends carry each keyed tunnel on a device of its own')
    hoa = IPv4Address('10.0.0.2')
    at_a = TunnelSpec(LMA, MAG, TunnelMode.GRE6, gre_key_in=101, gre_key_out=201)
    at_b = TunnelSpec(LMA, LMA2, TunnelMode.GRE6, gre_key_in=101, gre_key_out=301)
    links = lambda: {link.ifname for link in harness.dp.snapshot().links}  # noqa: E731
    for tunnel in (at_a, at_b):
        harness.dp.ensure_tunnel(tunnel)
    assert links() == {'pmiptun0'}
    harness.dp.ensure_mn_routes(MnRouteSpec(Role.LMA, at_a, ipv4_hoa=hoa, realm_ifname='acc1'))
    realm = links() - {'pmiptun0'}
    assert len(realm) == 1  # the realm's TUN, made with its first keyed MN
    harness.dp.ensure_mn_routes(MnRouteSpec(Role.LMA, at_b, ipv4_hoa=hoa, realm_ifname='acc1'))  # the move
    harness.dp.remove_mn_routes(MnRouteSpec(Role.LMA, at_a, ipv4_hoa=hoa, realm_ifname='acc1'))
    harness.dp.remove_tunnel(at_a)
    assert links() == {'pmiptun0', *realm}
    moved = MnRouteSpec(Role.LMA, at_b, ipv4_hoa=hoa, realm_ifname='acc1')
    assert harness.dp.snapshot().mn_routes == {moved}
    assert expected(harness, moved)[0] <= harness.dp.snapshot().routes
