"""Batched route/rule changes: the hand-made rtnetlink messages, the ACK matching, one round
trip per binding change, and the undo of a move whose additions fail."""

from __future__ import annotations

import errno
import socket
import subprocess
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import DataplaneError, MnRouteSpec, Role, RouteEntry, RuleEntry, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.dataplane.rtnl_batch import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    RTM_DELROUTE,
    RTM_NEWROUTE,
    RTM_NEWRULE,
    parse_acks,
    route_message,
    rule_message,
)
from tests.dataplane.conftest import IS_ROOT

TABLE = 0x504D0042
NET6 = IPv6Network('2001:db8:a1::/64')


def decode(message: bytes, kind: type) -> Any:
    msg = kind(message)
    msg.decode()
    return msg


def test_route_add_message_decodes_as_pyroute2_reads_it() -> None:
    """A route add carries family, prefix, table (header: 0, RTA_TABLE: ours), oif; create+replace+ack."""
    msg = decode(route_message(Op(True, RouteEntry(TABLE, NET6, 'acc0')), oif=7, seq=42), rtmsg)
    assert msg['header']['type'] == RTM_NEWROUTE and msg['header']['sequence_number'] == 42
    assert msg['header']['flags'] & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK) == NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK
    assert msg['family'] == socket.AF_INET6 and msg['dst_len'] == 64 and msg['table'] == 0
    assert msg.get_attr('RTA_TABLE') == TABLE and msg.get_attr('RTA_OIF') == 7 and msg.get_attr('RTA_DST') == '2001:db8:a1::'


def test_default_route_delete_has_no_destination_and_matches_any_protocol() -> None:
    msg = decode(route_message(Op(False, RouteEntry(TABLE, IPv4Network('0.0.0.0/0'), 'pmiptun0')), oif=3, seq=1), rtmsg)
    assert msg['header']['type'] == RTM_DELROUTE and msg['family'] == socket.AF_INET
    assert msg['dst_len'] == 0 and msg.get_attr('RTA_DST') is None and msg['proto'] == 0 and msg['scope'] == 255


def test_rule_add_message_carries_selectors_and_is_exclusive() -> None:
    rule = RuleEntry(31001, TABLE, socket.AF_INET6, src=NET6, iif='acc0')
    msg = decode(rule_message(Op(True, rule), seq=5), fibmsg)
    assert msg['header']['type'] == RTM_NEWRULE and msg['header']['flags'] & NLM_F_EXCL
    assert msg['src_len'] == 64 and msg['dst_len'] == 0 and msg['action'] == 1
    assert msg.get_attr('FRA_PRIORITY') == 31001 and msg.get_attr('FRA_TABLE') == TABLE
    assert msg.get_attr('FRA_SRC') == '2001:db8:a1::' and msg.get_attr('FRA_IIFNAME') == 'acc0'


def test_acks_are_matched_by_sequence_and_truncated_input_ignored() -> None:
    def ack(seq: int, code: int) -> bytes:
        import struct
        return struct.pack('=IHHII', 36, 2, 0, seq, 0) + struct.pack('=i', code) + struct.pack('=IHHII', 0, 0, 0, 0, 0)

    data = ack(7, 0) + ack(8, -errno.ENETDOWN)
    assert parse_acks(data) == [(7, 0), (8, errno.ENETDOWN)]
    assert parse_acks(data[:-5]) == [(7, 0)]


# -- the base class: one list of operations per change, and the undo ---------------------------

MAG = IPv6Address('2001:db8:1::1')
T_A = TunnelSpec(MAG, IPv6Address('2001:db8:1::2'), TunnelMode.IP6_ANY)
T_B = TunnelSpec(MAG, IPv6Address('2001:db8:1::3'), TunnelMode.IP6_ANY)


class CountingDataplane(MemoryDataplane):
    """The memory backend, counting batches and failing additions into a chosen table."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[Op]] = []
        self.fail_dev: str | None = None

    def _apply_ops(self, ops: list[Op]) -> list[tuple[Op, DataplaneError]]:
        self.batches.append(list(ops))
        return super()._apply_ops(ops)

    def _add_route(self, route: RouteEntry) -> None:
        if route.dev == self.fail_dev:
            raise DataplaneError(f'injected failure for {route}')
        super()._add_route(route)


def lma_spec(tunnel: TunnelSpec) -> MnRouteSpec:
    return MnRouteSpec(Role.LMA, tunnel, hnps=(NET6,), label='mn1')


def test_a_move_is_one_batch_adds_before_deletes() -> None:
    dp = CountingDataplane()
    dp.ensure_tunnel(T_A)
    dp.ensure_tunnel(T_B)
    dp.ensure_mn_routes(lma_spec(T_A))
    dp.batches.clear()
    dp.ensure_mn_routes(lma_spec(T_B))
    assert len(dp.batches) == 1
    kinds = [op.add for op in dp.batches[0]]
    assert kinds == sorted(kinds, reverse=True) and True in kinds and False in kinds  # make before break
    assert dp.snapshot().mn_routes == {lma_spec(T_B)}


def test_a_failed_addition_puts_the_displaced_binding_back() -> None:
    from pmiprouter.dataplane.naming import tunnel_ifname

    dp = CountingDataplane()
    dp.ensure_tunnel(T_A)
    dp.ensure_tunnel(T_B)
    dp.ensure_mn_routes(lma_spec(T_A))
    before = dp.snapshot()
    dp.fail_dev = tunnel_ifname(T_B)
    with pytest.raises(DataplaneError, match='injected'):
        dp.ensure_mn_routes(lma_spec(T_B))
    after = dp.snapshot()
    assert after.mn_routes == {lma_spec(T_A)}
    assert after.routes == before.routes and after.rules == before.rules


def test_ensuring_a_held_tunnel_again_does_nothing() -> None:
    dp = CountingDataplane()
    dp.ensure_tunnel(T_A)
    assert dp.holds_tunnel(T_A) and not dp.holds_tunnel(T_B)
    dp.world.links.clear()  # were it created again, the model would make a new device
    dp.ensure_tunnel(T_A)
    assert dp.world.links == {}


# -- on a real kernel ---------------------------------------------------------------------------

def run_in(ns: str, code: str) -> str:
    import sys
    out = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs root (network namespaces)')
def test_one_round_trip_applies_everything_and_reports_only_the_failure(netns: str) -> None:
    """Five operations, one datagram: the IPv4 route through a down device fails (ENETDOWN),
    the others are applied; deleting what is not there is no failure."""
    for args in (['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1'], ['link', 'set', 'up0', 'up'],
                 ['link', 'set', 'up1', 'up'], ['link', 'add', 'dn0', 'type', 'veth', 'peer', 'name', 'dn1']):
        subprocess.run(['ip', '-n', netns, *args], check=True)
    code = f'''
import socket, errno
from ipaddress import ip_network
from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import RouteEntry, RuleEntry
from pmiprouter.dataplane.rtnl_batch import RtnlBatch
T = {TABLE}
b = RtnlBatch()
ops = [Op(True, RouteEntry(T, ip_network('2001:db8:a1::/64'), 'up0')),
       Op(True, RouteEntry(T, ip_network('10.9.0.0/24'), 'dn0')),
       Op(True, RuleEntry(31001, T, socket.AF_INET6, dst=ip_network('2001:db8:a1::/64'), iif='up0')),
       Op(True, RuleEntry(31001, T, socket.AF_INET6, dst=ip_network('2001:db8:a1::/64'), iif='up0')),
       Op(False, RouteEntry(T, ip_network('2001:db8:ff::/64'), 'up0'))]
class Counting:
    """The socket, counting what we read: the two errors (ENETDOWN, the duplicate rule's EEXIST)
    and the last message's answer, not one ACK per message."""
    def __init__(self, sock):
        self.sock, self.reads = sock, 0
    def send(self, data):
        return self.sock.send(data)
    def recv(self, size):
        self.reads += 1
        return self.sock.recv(size)
b.sock = Counting(b.sock)
failed = b.execute(ops)
print(b.round_trips, b.sock.reads, [(ops.index(op), code == errno.ENETDOWN) for op, code in failed])
'''
    assert run_in(netns, code).split() == ['1', '3', '[(1,', 'True)]']
    routes = subprocess.run(['ip', '-n', netns, '-6', 'route', 'show', 'table', str(TABLE)], capture_output=True, text=True).stdout
    rules = subprocess.run(['ip', '-n', netns, '-6', 'rule'], capture_output=True, text=True).stdout
    assert '2001:db8:a1::/64 dev up0' in routes
    assert rules.count('to 2001:db8:a1::/64 iif up0') == 1


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs root (network namespaces)')
def test_address_added_once_then_reported_there(netns: str) -> None:
    """An IPv4 router /32 and a NODAD link-local: added (0), then EEXIST; a missing device: ENODEV."""
    subprocess.run(['ip', '-n', netns, 'link', 'add', 'acc0', 'type', 'veth', 'peer', 'name', 'acc1'], check=True)
    code = '''
import errno, socket
from ipaddress import ip_address
from pmiprouter.dataplane.rtnl_batch import IFA_F_NODAD, RtnlBatch
b = RtnlBatch()
i = socket.if_nametoindex('acc0')
codes = [b.add_address(i, ip_address('10.1.0.1'), 32), b.add_address(i, ip_address('10.1.0.1'), 32),
         b.add_address(i, ip_address('fe80::200:5eff:fe00:5213'), 64, IFA_F_NODAD),
         b.add_address(i, ip_address('fe80::200:5eff:fe00:5213'), 64, IFA_F_NODAD),
         b.add_address(9999, ip_address('10.1.0.2'), 32)]
print([{0: 'added', errno.EEXIST: 'there', errno.ENODEV: 'nodev'}.get(c, c) for c in codes])
'''
    assert run_in(netns, code).split() == ["['added',", "'there',", "'added',", "'there',", "'nodev']"]
    shown = subprocess.run(['ip', '-n', netns, 'addr', 'show', 'acc0'], capture_output=True, text=True).stdout
    assert 'inet 10.1.0.1/32 scope global acc0' in shown
    assert 'inet6 fe80::200:5eff:fe00:5213/64 scope link nodad' in shown


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs root (network namespaces)')
def test_link_brought_up_and_down_by_name(netns: str) -> None:
    """`ip link set up/down` in one round trip (the lab's radio); a missing device: ENODEV."""
    subprocess.run(['ip', '-n', netns, 'link', 'add', 'rad0', 'type', 'veth', 'peer', 'name', 'rad1'], check=True)
    code = '''
import errno, subprocess
from pmiprouter.dataplane.rtnl_batch import RtnlBatch
b = RtnlBatch()
def flags():
    return 'UP' in subprocess.run(['ip', 'link', 'show', 'rad0'], capture_output=True, text=True).stdout.split('>')[0]
up = b.set_link_up('rad0', True), flags()
down = b.set_link_up('rad0', False), flags()
print(up, down, b.set_link_up('nosuch0', True) == errno.ENODEV)
'''
    assert run_in(netns, code).split() == ['(0,', 'True)', '(0,', 'False)', 'True']


@settings(max_examples=200, deadline=None)
@given(st.booleans(), st.sampled_from([TABLE, 254, 0x504D0001]), st.integers(1, 4000), st.integers(0, 2**32 - 1),
       st.sampled_from([(6, 64), (6, 0), (6, 128), (4, 32), (4, 0), (4, 24)]))
def test_routes_of_one_shape_reuse_their_head_and_keep_their_own_destination(
        add: bool, table: int, oif: int, value: int, shape: tuple[int, int]) -> None:
    """Every part of a route message but the destination is made once per table, device, family and
    prefix length; the messages still decode to each route's own values (pyroute2 reads them)."""
    version, length = shape
    bits = 128 if version == 6 else 32
    for step in range(3):  # the first made, then two from the remembered head
        address = ((value + step) << (bits - length)) & (2**bits - 1) if length else 0
        net = IPv6Network((address, length)) if version == 6 else IPv4Network((address, length))
        msg = decode(route_message(Op(add, RouteEntry(table, net, 'acc0')), oif=oif, seq=step + 1), rtmsg)
        assert msg['header']['type'] == (RTM_NEWROUTE if add else RTM_DELROUTE) and msg['header']['sequence_number'] == step + 1
        assert msg['family'] == (socket.AF_INET6 if version == 6 else socket.AF_INET) and msg['dst_len'] == length
        assert msg.get_attr('RTA_TABLE') == table and msg.get_attr('RTA_OIF') == oif
        dst = msg.get_attr('RTA_DST')
        assert (ip_address(dst) if dst is not None else None) == (net.network_address if length else None)
        assert msg['header']['length'] == len(route_message(Op(add, RouteEntry(table, net, 'acc0')), oif=oif, seq=1))


def test_source_route_message_carries_the_source_prefix() -> None:
    """An IPv6 source-specific route (a MAG's uplink): its source prefix length in the header and
    the source in RTA_SRC, next to the destination's."""
    route = RouteEntry(TABLE, IPv6Network('::/0'), 'pmip1', src=NET6)
    msg = decode(route_message(Op(True, route), oif=9, seq=3), rtmsg)
    assert (msg['dst_len'], msg['src_len']) == (0, 64) and msg.get_attr('RTA_DST') is None
    assert msg.get_attr('RTA_SRC') == '2001:db8:a1::' and msg.get_attr('RTA_OIF') == 9
    narrow = decode(route_message(Op(False, route._replace(dst=IPv6Network('2001:db8:5::/48'))), oif=9, seq=4), rtmsg)
    assert narrow['header']['type'] == RTM_DELROUTE and (narrow['dst_len'], narrow['src_len']) == (48, 64)
    assert narrow.get_attr('RTA_DST') == '2001:db8:5::' and narrow.get_attr('RTA_SRC') == '2001:db8:a1::'


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason='needs root (network namespaces)')
def test_source_routes_are_installed_observed_and_removed(netns: str) -> None:
    """The kernel takes the source-specific route, the dump gives it back as the same entry, and
    its deletion removes it and not the plain route to the same destination beside it."""
    for args in (['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1'], ['link', 'set', 'up0', 'up'],
                 ['link', 'set', 'up1', 'up']):
        subprocess.run(['ip', '-n', netns, *args], check=True)
    code = f'''
from ipaddress import ip_network
from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import RouteEntry
from pmiprouter.dataplane.netlink import Netlink
from pmiprouter.dataplane.rtnl_batch import RtnlBatch
T = {TABLE}
sourced = RouteEntry(T, ip_network('::/0'), 'up0', ip_network('2001:db8:a1::/64'))
plain = RouteEntry(T, ip_network('::/0'), 'up0')
b = RtnlBatch()
print(b.execute([Op(True, sourced), Op(True, plain)]) == [], sorted(Netlink().our_routes(), key=str) == sorted([sourced, plain], key=str))
print(b.execute([Op(False, sourced)]) == [], Netlink().our_routes() == {{plain}})
'''
    assert run_in(netns, code).split() == ['True', 'True', 'True', 'True']
    routes = subprocess.run(['ip', '-n', netns, '-6', 'route', 'show', 'table', str(TABLE)], capture_output=True, text=True).stdout
    assert 'from 2001:db8:a1::/64' not in routes and 'default dev up0' in routes
