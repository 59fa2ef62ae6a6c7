"""One table for every MN of the LMA whatever its tunnel, and two for every MN of the MAG (keyed
tunnels' MNs apart): a handover between two such tunnels changes no
kernel object, while the objects of each MN are still counted and removed with the last of them."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.dataplane.naming import LMA_TABLE, MAG_DOWN_TABLE, MAG_UP_TABLE, TUN_IFNAME, tunnel_ifname, tunnel_table
from pmiprouter.dataplane.plan import mn_objects
from tests.addresses import LMAA as LMA

T_A = TunnelSpec(LMA, IPv6Address('2001:db8:1::2'), TunnelMode.IP6_ANY)
T_B = TunnelSpec(LMA, IPv6Address('2001:db8:1::3'), TunnelMode.IP6_ANY)
HNP = IPv6Network('2001:db8:a1::/64')


class SharedTunDataplane(MemoryDataplane):
    """The memory model with every tunnel carried by the shared TUN, as the user-space backend does."""

    def __init__(self) -> None:
        super().__init__()
        self.world.add_link(TUN_IFNAME, 'tun')
        self.ops: list[Op] = []

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        return TUN_IFNAME

    def _apply_ops(self, ops: list[Op]) -> list[tuple[Op, object]]:  # type: ignore[override]
        self.ops += ops
        return super()._apply_ops(ops)  # type: ignore[return-value]


def test_the_lma_uses_its_role_table_and_the_mag_one_table_behind_the_shared_tun() -> None:
    for dev in (TUN_IFNAME, tunnel_ifname(T_A)):  # behind the TUN, or a device of its own
        routes, rules = mn_objects(MnRouteSpec(Role.LMA, T_A, hnps=(HNP,)), tunnel_ifname(T_A), dev)
        assert {r.table for r in routes} == {r.table for r in rules} == {LMA_TABLE}
    mag = MnRouteSpec(Role.MAG, T_A, hnps=(HNP,), access_ifname='acc0')
    routes, rules = mn_objects(mag, tunnel_ifname(T_A), TUN_IFNAME)
    assert {r.table for r in routes} == {r.table for r in rules} == {MAG_DOWN_TABLE, MAG_UP_TABLE}
    assert all(rule.src is None and rule.dst is None for rule in rules)  # no rule names the MN
    own, _ = mn_objects(mag, tunnel_ifname(T_A), tunnel_ifname(T_A))  # a device of its own: IPv6 uplink by source
    assert {r.table for r in own} == {MAG_DOWN_TABLE, MAG_UP_TABLE}
    keyed_tunnel = TunnelSpec(LMA, IPv6Address('2001:db8:1::2'), TunnelMode.GRE6, 5, 6)
    keyed, _ = mn_objects(MnRouteSpec(Role.MAG, keyed_tunnel, hnps=(HNP,), access_ifname='acc0'),
                          tunnel_ifname(keyed_tunnel), tunnel_ifname(keyed_tunnel))
    assert {r.table for r in keyed} == {tunnel_table(tunnel_ifname(keyed_tunnel))}  # a keyed tunnel: its own table


def test_a_handover_between_shared_tun_tunnels_sends_no_kernel_change() -> None:
    dp = SharedTunDataplane()
    for tunnel in (T_A, T_B):
        dp.ensure_tunnel(tunnel)
    dp.ensure_mn_routes(MnRouteSpec(Role.LMA, T_A, hnps=(HNP,)))
    installed = dp.snapshot()
    dp.ops.clear()
    dp.ensure_mn_routes(MnRouteSpec(Role.LMA, T_B, hnps=(HNP,)))  # the MN moved to the other MAG
    assert dp.ops == []
    after = dp.snapshot()
    assert after.mn_routes == {MnRouteSpec(Role.LMA, T_B, hnps=(HNP,))}
    assert after.routes == installed.routes and after.rules == installed.rules
    dp.remove_mn_routes(MnRouteSpec(Role.LMA, T_B, hnps=(HNP,)))
    assert not dp.snapshot().routes and not dp.snapshot().rules  # gone with the last MN using them
