"""MnRouteSpec's constructor (built per registration) and the object plan it feeds.

The constructor fills a writable twin of the spec and turns it into the frozen spec; these
tests pin down that the result is an ordinary frozen dataclass value: equal and hashed alike
whatever objects the fields were given as, checked like before, immutable, copyable. The LMA's
shortcut `MnRouteSpec.lma` must give what the constructor gives.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pmiprouter.dataplane.interface import DataplaneError, MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.naming import TUN_IFNAME, tunnel_ifname
from pmiprouter.dataplane.plan import lma_plan, mn_objects, mn_plan
from pmiprouter.fast.netaddr import HomePrefix4, HomePrefix6
from tests.addresses import LMAA

T_ANY = TunnelSpec(LMAA, IPv6Address('2001:db8:1::1'), TunnelMode.IP6_ANY)
T_V6ONLY = TunnelSpec(LMAA, IPv6Address('2001:db8:1::2'), TunnelMode.IP6IP6)
T_GRE = TunnelSpec(LMAA, IPv6Address('2001:db8:1::3'), TunnelMode.GRE6, gre_key_in=7, gre_key_out=9)


def hnp(index: int, length: int = 64) -> IPv6Network:
    return IPv6Network(((0x20010DB8 << 96) | (index << 64), length))


hnp_indexes = st.lists(st.integers(0, 3), max_size=3)
ipv4s = st.one_of(st.none(), st.integers(1, 3).map(lambda i: IPv4Address(0x0A000000 + i)))
tunnels = st.sampled_from([T_ANY, T_GRE])
labels = st.sampled_from(['', 'mn1@example.com'])


def fresh_copy(value: Any) -> Any:
    """An equal object that is not the same one (HNPs as HomePrefix6, the rest re-parsed)."""
    if isinstance(value, IPv6Network):
        return HomePrefix6.of(int(value.network_address), value.prefixlen)
    if isinstance(value, IPv4Address):
        return IPv4Address(str(value))
    if isinstance(value, TunnelSpec):
        return TunnelSpec(IPv6Address(str(value.local)), IPv6Address(str(value.remote)), value.mode,
                          value.gre_key_in, value.gre_key_out, value.mtu)
    return value


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from([Role.LMA, Role.MAG]), tunnel=tunnels, indexes=hnp_indexes, ipv4=ipv4s,
       realm=st.sampled_from([None, 'realm0']), label=labels, other_label=labels)
def test_equal_arguments_make_equal_specs_that_hash_alike(
    role: Role, tunnel: TunnelSpec, indexes: list[int], ipv4: IPv4Address | None, realm: str | None,
    label: str, other_label: str,
) -> None:
    if not indexes and ipv4 is None:
        return
    hnps = tuple(hnp(i) for i in indexes)
    extra: dict[str, Any] = {'access_ifname': 'acc0'} if role is Role.MAG else {'realm_ifname': realm}
    one = MnRouteSpec(role, tunnel, hnps, ipv4, label=label, **extra)
    two = MnRouteSpec(role, fresh_copy(tunnel), tuple(fresh_copy(h) for h in hnps), fresh_copy(ipv4),
                      label=other_label, **extra)
    assert type(one) is MnRouteSpec and one == two and hash(one) == hash(two)  # the label is not compared
    assert {one: 'x'}[two] == 'x'
    # The derived prefixes: each HNP once, in order, then the HoA as a /32 hashed like any /32.
    unique = tuple(dict.fromkeys(hnps))
    assert one.prefixes == unique + ((IPv4Network((int(ipv4), 32)),) if ipv4 is not None else ())
    if ipv4 is not None:
        assert hash(one.prefixes[-1]) == hash(IPv4Network((int(ipv4), 32)))
    assert (one.role, one.tunnel, one.hnps, one.ipv4_hoa, one.label) == (role, tunnel, hnps, ipv4, label)


@settings(deadline=None)
@given(indexes=hnp_indexes.filter(bool), ipv4=ipv4s, changed=st.sampled_from(['hnp', 'ipv4', 'tunnel', 'role']))
def test_specs_differing_in_a_compared_field_are_not_equal(indexes: list[int], ipv4: IPv4Address | None, changed: str) -> None:
    hnps = tuple(hnp(i) for i in indexes)
    one = MnRouteSpec(Role.LMA, T_ANY, hnps, ipv4)
    if changed == 'hnp':
        other = MnRouteSpec(Role.LMA, T_ANY, (*hnps[:-1], hnp(9)), ipv4)
    elif changed == 'ipv4':
        other = MnRouteSpec(Role.LMA, T_ANY, hnps, IPv4Address('10.9.9.9') if ipv4 is None else None)
    elif changed == 'tunnel':
        other = MnRouteSpec(Role.LMA, T_GRE, hnps, ipv4)
    else:
        other = MnRouteSpec(Role.MAG, T_ANY, hnps, ipv4, access_ifname='acc0')
    assert one != other


@pytest.mark.parametrize(('args', 'message'), [
    (dict(role=Role.LMA, tunnel=T_ANY), 'at least one HNP or an IPv4 HoA'),
    (dict(role=Role.MAG, tunnel=T_ANY, hnps=(hnp(1),)), 'needs the access interface'),
    (dict(role=Role.LMA, tunnel=T_ANY, hnps=(hnp(1),), access_ifname='acc0'), 'has no access interface'),
    (dict(role=Role.MAG, tunnel=T_ANY, hnps=(hnp(1),), access_ifname='acc0', realm_ifname='r0'), 'for the LMA only'),
    (dict(role=Role.LMA, tunnel=T_V6ONLY, ipv4_hoa=IPv4Address('10.0.0.1')), 'cannot carry the IPv4 HoA'),
    (dict(role='lma', tunnel=T_ANY, hnps=(hnp(1),)), 'not a role'),
])
def test_bad_specs_are_refused_with_the_reason(args: dict[str, Any], message: str) -> None:
    with pytest.raises(DataplaneError, match=message):
        MnRouteSpec(**args)


def test_a_spec_is_frozen_and_copies_like_a_dataclass_value() -> None:
    spec = MnRouteSpec(Role.LMA, T_ANY, (hnp(1),), IPv4Address('10.0.0.1'), label='mn1')
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.hnps = ()  # type: ignore[misc]
    # A derived slot is refused too; CPython's slots=True frozen __setattr__ says so with a
    # TypeError for names that are not fields (it calls super() on the class it replaced).
    with pytest.raises((dataclasses.FrozenInstanceError, TypeError)):
        spec.prefixes = ()  # type: ignore[misc]
    for twin in (copy.copy(spec), copy.deepcopy(spec), pickle.loads(pickle.dumps(spec))):
        assert twin == spec and hash(twin) == hash(spec) and twin.label == 'mn1' and twin.prefixes == spec.prefixes
    moved = dataclasses.replace(spec, tunnel=T_GRE)
    assert moved.tunnel is T_GRE and moved.prefixes == spec.prefixes and moved != spec
    assert [f.name for f in dataclasses.fields(spec)] == [
        'role', 'tunnel', 'hnps', 'ipv4_hoa', 'access_ifname', 'realm_ifname', 'label']
    assert repr(spec).startswith("MnRouteSpec(role=<Role.LMA: 'lma'>, tunnel=TunnelSpec(")
    assert 'prefixes' not in repr(spec) and "label='mn1'" in repr(spec)
    assert MnRouteSpec(Role.LMA, T_ANY, hnps=(hnp(1),)) == MnRouteSpec(Role.LMA, T_ANY, (hnp(1),), None, None, None, '')


def test_a_subclass_gets_its_own_instances() -> None:
    class Labelled(MnRouteSpec):
        pass  # a __dict__: another layout than the spec's

    spec = Labelled(Role.LMA, T_ANY, (hnp(1),), label='x')
    assert type(spec) is Labelled and spec.prefixes == (hnp(1),) and spec.label == 'x'
    assert hash(spec) == hash(MnRouteSpec(Role.LMA, T_ANY, (hnp(1),)))


def test_the_hoa_prefix_is_a_plain_slash_32() -> None:
    address = IPv4Address('192.0.2.9')
    prefix = HomePrefix4(address)
    assert prefix == IPv4Network('192.0.2.9/32') and hash(prefix) == hash(IPv4Network('192.0.2.9/32'))
    assert prefix.network_address is address and list(prefix.hosts()) == [address] and prefix.prefixlen == 32
    assert HomePrefix4('192.0.2.0/24') == IPv4Network('192.0.2.0/24')  # anything else is parsed
    assert HomePrefix4(0xC0000209) == IPv4Network('192.0.2.9/32')


@settings(max_examples=200, deadline=None)
@given(tunnel=st.sampled_from([T_ANY, T_GRE, T_V6ONLY]), indexes=hnp_indexes, ipv4=ipv4s, label=labels)
def test_the_lma_shortcut_builds_what_the_constructor_builds(
    tunnel: TunnelSpec, indexes: list[int], ipv4: IPv4Address | None, label: str,
) -> None:
    hnps = tuple(hnp(i) for i in indexes)
    try:
        expected = MnRouteSpec(Role.LMA, tunnel, hnps, ipv4, label=label)
    except DataplaneError as error:  # the same refusal, with the same reason
        with pytest.raises(DataplaneError, match=re.escape(str(error))):
            MnRouteSpec.lma(tunnel, hnps, ipv4, label)
        return
    spec = MnRouteSpec.lma(tunnel, hnps, ipv4, label)
    assert type(spec) is MnRouteSpec and spec == expected and hash(spec) == hash(expected)
    assert spec.prefixes == expected.prefixes and spec.label == label and repr(spec) == repr(expected)
    assert [getattr(spec, f.name) for f in dataclasses.fields(spec)] == [getattr(expected, f.name) for f in dataclasses.fields(expected)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.label = 'changed'  # type: ignore[misc]
    assert MnRouteSpec.lma(tunnel, hnps, ipv4) == expected  # the label is optional (and not compared)


def test_the_lma_shortcut_of_a_subclass_makes_the_subclass() -> None:
    class Labelled(MnRouteSpec):
        pass

    spec = Labelled.lma(T_ANY, (hnp(1),), IPv4Address('10.0.0.1'), 'x')
    assert type(spec) is Labelled and spec == Labelled(Role.LMA, T_ANY, (hnp(1),), IPv4Address('10.0.0.1'))
    assert spec.label == 'x' and spec.prefixes[-1] == IPv4Network('10.0.0.1/32')


# -- the plan: objects naming a prefix first, prefix by prefix ---------------------------------------


def names(entry: Any) -> set[Any]:
    """The home prefix a route or rule names: a source-specific route its source (its destination
    is a default route's), a rule its selector."""
    if getattr(entry, 'dev', None) is not None and entry.src is not None:  # a route from a source
        return {entry.src}
    return {net for net in (getattr(entry, 'dst', None), getattr(entry, 'src', None)) if net is not None}


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from([Role.LMA, Role.MAG]), tunnel=tunnels, indexes=hnp_indexes, ipv4=ipv4s,
       realm=st.sampled_from([None, 'realm0']), shared_tun=st.booleans())
def test_the_plan_lists_each_prefix_objects_in_order_then_the_shared_ones(
    role: Role, tunnel: TunnelSpec, indexes: list[int], ipv4: IPv4Address | None, realm: str | None, shared_tun: bool,
) -> None:
    if not indexes and ipv4 is None:
        return
    extra: dict[str, Any] = {'access_ifname': 'acc0'} if role is Role.MAG else {'realm_ifname': realm}
    spec = MnRouteSpec(role, tunnel, tuple(hnp(i) for i in indexes), ipv4, **extra)
    name = tunnel_ifname(tunnel)
    dev = TUN_IFNAME if shared_tun else name
    routes, rules, shared_routes, shared_rules = mn_plan(spec, name, dev)
    assert mn_objects(spec, name, dev) == (routes + shared_routes, rules + shared_rules)
    # Each prefix's objects name it alone, prefix after prefix; every prefix has a route.
    for objects in (routes, rules):
        assert all(len(names(entry)) == 1 for entry in objects)
        grouped = tuple(entry for prefix in spec.prefixes for entry in objects if names(entry) == {prefix})
        assert grouped == objects
    assert {prefix for route in routes for prefix in names(route)} == set(spec.prefixes)
    home = set(spec.prefixes)
    assert not any(names(entry) & home for entry in shared_routes + shared_rules)
    everything = routes + shared_routes + rules + shared_rules
    assert len(set(everything)) == len(everything)  # each once


v6_networks = st.tuples(st.integers(0, 3), st.sampled_from([0, 48, 64, 126, 128])).map(
    lambda pair: IPv6Network(((0x20010DB8 << 96 | pair[0] << 64) >> (128 - pair[1]) << (128 - pair[1]) if pair[1] else 0,
                              pair[1])))
v4_networks = st.tuples(st.integers(0, 3), st.sampled_from([0, 8, 31, 32])).map(
    lambda pair: IPv4Network(((0x0A000000 + pair[0]) >> (32 - pair[1]) << (32 - pair[1]) if pair[1] else 0, pair[1])))


@settings(deadline=None)
@given(a=st.one_of(v6_networks, v4_networks), b=st.one_of(v6_networks, v4_networks))
def test_home_prefixes_compare_as_the_plain_networks_do(a: Any, b: Any) -> None:
    """The data plane compares them in its indexes: the short comparison gives the plain answer."""
    def home(net: Any) -> Any:
        if net.version == 6:
            return HomePrefix6.of(int(net.network_address), net.prefixlen)
        return HomePrefix4(net.network_address) if net.prefixlen == 32 else HomePrefix4(net)

    expected = a == b
    for x, y in ((home(a), b), (a, home(b)), (home(a), home(b))):
        assert (x == y) is expected and (y == x) is expected and (x != y) is not expected
    assert home(a) != str(a) and (home(a) == object()) is False


@settings(deadline=None)
@given(indexes=hnp_indexes, ipv4=ipv4s, shared_tun=st.booleans())
def test_the_lma_plan_is_the_plan_of_an_lma_spec_without_realm(indexes: list[int], ipv4: IPv4Address | None, shared_tun: bool) -> None:
    """base.py plans the LMA's usual spec with lma_plan and the table it remembers."""
    if not indexes and ipv4 is None:
        return
    spec = MnRouteSpec(Role.LMA, T_ANY, tuple(hnp(i) for i in indexes), ipv4)
    name = tunnel_ifname(T_ANY)
    dev = TUN_IFNAME if shared_tun else name
    assert lma_plan(spec.prefixes, dev) == mn_plan(spec, name, dev)
    # an empty realm is no realm for the objects (no shared ones) but keeps its own table and iif
    routes, rules, shared_routes, shared_rules = mn_plan(MnRouteSpec(Role.LMA, T_ANY, spec.hnps, ipv4, realm_ifname=''), name, dev)
    assert [r.dst for r in routes] == list(spec.prefixes) and all(r.iif == '' for r in rules)
    assert not shared_routes and not shared_rules
