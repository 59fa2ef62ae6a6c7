"""Address pools: lowest-first allocation, reservations anywhere, release and reuse-last, exhaustion."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.core.pools import IndexPool, IPv4Pool, PoolExhausted, PrefixPool


@given(st.lists(st.tuples(st.sampled_from(['allocate', 'reserve', 'release']), st.integers(0, 40)), max_size=80))
def test_index_pool_agrees_with_a_set(operations: list[tuple[str, int]]) -> None:
    """Whatever the sequence, the pool never hands out a used index and counts what is in use."""
    pool, used = IndexPool(41), set()
    for operation, index in operations:
        if operation == 'allocate':
            try:
                got = pool.allocate()
            except PoolExhausted:
                assert len(used) == 41
                continue
            assert got not in used
            used.add(got)
        elif operation == 'reserve':
            assert pool.reserve(index) == (index not in used)
            used.add(index)
        else:
            pool.release(index)
            used.discard(index)
        assert pool.in_use == len(used)


def test_prefix_pool_carves_in_order_and_reuses_released_last() -> None:
    """/64s of a /62 come out in order; a released one is handed out after the fresh ones."""
    pool = PrefixPool(IPv6Network('2001:db8::/62'), 64)
    first, second = pool.allocate(), pool.allocate()
    assert (str(first), str(second)) == ('2001:db8::/64', '2001:db8:0:1::/64')
    pool.release(first)
    assert str(pool.allocate()) == '2001:db8:0:2::/64'
    assert pool.reserve(IPv6Network('2001:db8:0:3::/64')) and not pool.reserve(IPv6Network('2001:db8:0:3::/64'))
    assert pool.allocate() == first
    with pytest.raises(PoolExhausted):
        pool.allocate()


def test_ipv4_pool_skips_network_router_and_broadcast() -> None:
    """A /29 gives five addresses: .2 to .6; .1 is the default router."""
    pool = IPv4Pool(IPv4Network('10.0.0.0/29'))
    assert pool.default_router == IPv4Address('10.0.0.1')
    assert [str(pool.allocate().ip) for _ in range(5)] == [f'10.0.0.{i}' for i in range(2, 7)]
    with pytest.raises(PoolExhausted):
        pool.allocate()


def test_index_pool_fresh_path_and_reservations_ahead_of_the_cursor() -> None:
    """Sequential allocation (the inlined path), a reservation ahead of the cursor skipped when
    the cursor reaches it, and released values handed out only after every fresh one."""
    pool = IndexPool(12)
    assert [pool.allocate() for _ in range(3)] == [0, 1, 2]
    assert pool.reserve(5) and not pool.reserve(5) and pool.in_use == 4
    assert [pool.allocate() for _ in range(3)] == [3, 4, 6]  # 5 was reserved
    pool.release(1)
    pool.release(5)
    assert [pool.allocate() for _ in range(5)] == [7, 8, 9, 10, 11]
    assert [pool.allocate(), pool.allocate()] == [1, 5]  # released ones, oldest release first
    with pytest.raises(PoolExhausted):
        pool.allocate()
    assert pool.in_use == 12


def test_prefix_pool_hands_out_home_prefixes_equal_to_plain_networks() -> None:
    pool = PrefixPool(IPv6Network('2001:db8:5::/48'), 64)
    prefixes = [pool.allocate() for _ in range(3)]
    assert prefixes == [IPv6Network(f'2001:db8:5:{i}::/64') for i in range(3)]
    assert {IPv6Network('2001:db8:5:1::/64'): 'x'}[prefixes[1]] == 'x'
    pool.release(IPv6Network('2001:db8:5:1::/64'))  # a plain network releases a home prefix
    assert pool.in_use == 2


def test_ipv4_pool_addresses_are_plain_addresses() -> None:
    pool = IPv4Pool(IPv4Network('10.9.0.0/24'))
    home = pool.allocate()
    assert home.ip == IPv4Address('10.9.0.2') and hash(home.ip) == hash(IPv4Address('10.9.0.2'))
    assert home.prefix_length == 24 and home.ip in pool and str(home) == '10.9.0.2/24'


@settings(deadline=None, max_examples=300)
@given(st.integers(-1, 2), st.integers(0, 2**16 - 1), st.one_of(st.none(), st.integers(0, 128)),
       st.sampled_from([(32, 64), (48, 64), (56, 60), (64, 64), (120, 128)]))
def test_membership_is_subnet_of_at_the_carved_length(
    block: int, place: int, length: int | None, shape: tuple[int, int]
) -> None:
    """A prefix is in the pool when it has the carved length and lies in the pool, as ipaddress
    says: prefixes in the pool, in the pool-sized blocks on either side of it, and further away."""
    pool_length, carved = shape
    length = carved if length is None else length  # (often the carved length)
    size = 1 << (128 - pool_length)
    pool = IPv6Network((0x20010DB8 << 96 >> (128 - pool_length) << (128 - pool_length), pool_length))
    value = int(pool.network_address) + block * size + (place * size >> 16)
    prefix = IPv6Network((value >> (128 - length) << (128 - length), length))
    expected = length == carved and prefix.subnet_of(pool)
    assert (prefix in PrefixPool(pool, carved)) is expected
