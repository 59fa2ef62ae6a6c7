"""slot_builder: a frozen slotted dataclass filled through a writable twin equals the one the
dataclass machinery builds (equality, hash, pickle, immutability); and MnRouteSpec so built
equals a plainly built reference spec."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.fast.slotted import slot_builder


class _Base:
    __slots__ = ('derived',)


@dataclass(frozen=True, slots=True)
class Point(_Base):
    x: int
    y: str = ''

    def __reduce__(self) -> tuple[object, ...]:
        return (_point, (self.x, self.y))


def _point(x: int, y: str) -> Point:
    return build(Point, x, y, x * 2)


build = slot_builder(Point)


@dataclass(frozen=True)
class Sub(Point):
    pass


@settings(deadline=None)  # timings vary on a shared machine
@given(st.integers(), st.text(max_size=8))
def test_built_equals_the_dataclass_constructor(x: int, y: str) -> None:
    made, plain = build(Point, x, y, x * 2), Point(x, y)
    assert type(made) is Point and made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert made.derived == x * 2
    assert pickle.loads(pickle.dumps(made)) == plain and copy.copy(made) == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 1  # type: ignore[misc]


def test_a_subclass_is_filled_slot_by_slot() -> None:
    made = build(Sub, 1, 'a', 2)
    assert type(made) is Sub and made.x == 1 and made.derived == 2
    assert build.slots == ('x', 'y', 'derived')


def test_a_class_without_slots_is_refused() -> None:
    with pytest.raises(TypeError, match='no slots'):
        slot_builder(Sub)


# The reference: MnRouteSpec as the dataclass machinery would build it (its __init__ and
# __post_init__, every slot through object.__setattr__).
@dataclass(frozen=True, slots=True)
class PlainSpec:
    role: Role
    tunnel: TunnelSpec
    hnps: tuple[IPv6Network, ...] = ()
    ipv4_hoa: IPv4Address | None = None
    access_ifname: str | None = None
    realm_ifname: str | None = None
    label: str = dataclasses.field(default='', compare=False)


TUNNELS = (TunnelSpec(IPv6Address('2001:db8::1'), IPv6Address('2001:db8::2'), TunnelMode.IP6_ANY),
           TunnelSpec(IPv6Address('2001:db8::1'), IPv6Address('2001:db8::3'), TunnelMode.IP6_ANY))
hnps = st.lists(st.integers(0, 3).map(lambda i: IPv6Network((0x20010DB8 << 96 | i << 64, 64))), max_size=3).map(tuple)
hoas = st.none() | st.integers(1, 3).map(lambda i: IPv4Address(0x0A000000 + i))


@settings(deadline=None)  # timings vary on a shared machine
@given(st.sampled_from(TUNNELS), hnps, hoas, st.text(max_size=4), st.sampled_from(TUNNELS), hnps, hoas)
def test_route_specs_compare_as_their_fields(tunnel: TunnelSpec, prefixes: tuple[IPv6Network, ...],
                                             hoa: IPv4Address | None, label: str, tunnel2: TunnelSpec,
                                             prefixes2: tuple[IPv6Network, ...], hoa2: IPv4Address | None) -> None:
    if not prefixes and hoa is None or not prefixes2 and hoa2 is None:
        return
    one, two = MnRouteSpec.lma(tunnel, prefixes, hoa, label), MnRouteSpec(Role.LMA, tunnel2, prefixes2, hoa2)
    ref_one, ref_two = PlainSpec(Role.LMA, tunnel, prefixes, hoa, None, None, label), PlainSpec(Role.LMA, tunnel2, prefixes2, hoa2)
    assert (one == two) == (ref_one == ref_two)
    if one == two:
        assert hash(one) == hash(two)
    assert dataclasses.astuple(one) == dataclasses.astuple(ref_one) and one.label == label
    assert one.prefixes == (*dict.fromkeys(prefixes), *((IPv4Network((int(hoa), 32)),) if hoa is not None else ()))
    back = pickle.loads(pickle.dumps(one))
    assert back == one and hash(back) == hash(one) and back.prefixes == one.prefixes and back.label == label
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.hnps = ()  # type: ignore[misc]
