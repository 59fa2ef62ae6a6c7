"""Home prefixes that hash cheaply and are built without parsing (pure, standard library only).

`ipaddress` networks compute their hash in Python on every call (two `int()` conversions and
an xor), and building one from an integer goes through the generic argument parser. The LMA
and the data plane key their indexes (binding cache, route and rule tables, per-prefix index)
by a mobile node's prefixes, hashing each several times per registration.

- `HomePrefix4`: an IPv4 prefix (a home address as a /32) with its hash stored at
  construction (the route spec builds one per registration, `HomePrefix4(address)`, without
  parsing; it is not kept per binding by the engine).
- `HomePrefix6`: an IPv6 prefix (an allocated HNP) whose hash reads the two integers directly
  instead of calling `int()` twice: half the cost, and no stored hash, so not one byte more per
  binding (a stored hash, an int object, would add ~36 bytes to every binding).

Both are equal to, and hash like, the plain network of the same value, so either finds the
other in a dict; comparing one with a network reads the integers too (the data plane compares a
new route spec's prefixes with the held ones' when bindings overlap or go).

The fast constructors and comparisons rely on the attributes `ipaddress` sets in its own
constructors; `_layout_ok` checks them once at import and falls back to the parser if a
Python version ever lays networks out differently.

The reads other modules need of those internals are here too, as functions (the public
properties run Python code; measured on 3.11, per call: ``prefix.prefixlen`` 70 ns,
``prefix_length(prefix)`` 40 ns, ``prefix._prefixlen`` 20 ns; ``int(address)`` 76 ns,
``address_int(address)`` about 40 ns):

- `prefix_length(network)`: ``network.prefixlen``;
- `address_int(address)`: ``int(address)``;
- `network_int(network)`: ``int(network.network_address)``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from collections.abc import Callable
from operator import attrgetter
from typing import Any


class HomePrefix4(IPv4Network):
    """An IPv4 prefix (a home address as a /32) with its hash computed at construction."""

    __slots__ = ('hash_value',)  # its hash, stored: read directly by the route spec

    def __init__(self, address: Any, strict: bool = True) -> None:
        if type(address) is IPv4Address and _FAST4:
            # An address alone is its /32 (as for IPv4Network): sharing the address object, no
            # text or tuple parsing. (Set here, not by a classmethod around object.__new__:
            # the class call allocates for less; the route spec builds one per registration.)
            self.network_address = address
            self.netmask = _HOST_MASK4
            self._prefixlen = 32
            self.hash_value = hash(address._ip ^ 0xFFFFFFFF)  # IPv4Network.__hash__: address xor netmask
            return
        super().__init__(address, strict)
        self.hash_value = super().__hash__()

    def __hash__(self) -> int:
        return self.hash_value

    def __eq__(self, other: object) -> bool:
        # IPv4Network.__eq__'s answer (version, address, netmask) without its calls: the data
        # plane's indexes compare a new route spec's /32 with the held one's on every change.
        if isinstance(other, IPv4Network):
            return (self.network_address._ip == other.network_address._ip
                    and self._prefixlen == other._prefixlen)
        return super().__eq__(other)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f'IPv4Network({str(self)!r})'  # what it stands for, in logs and test output

    def hosts(self) -> Any:
        # The parser stores a per-instance `hosts` for a /32 (the address itself); `host()` does not.
        return [self.network_address] if self._prefixlen == 32 else super().hosts()

    @classmethod
    def host(cls, address: IPv4Address) -> HomePrefix4:
        """`address` as a /32, sharing the address object (no text or tuple parsing)."""
        return cls(address if type(address) is IPv4Address else (int(address), 32))


class HomePrefix6(IPv6Network):
    """An IPv6 prefix whose hash skips the two `int()` calls of `IPv6Network.__hash__` (same value)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self.network_address._ip ^ self.netmask._ip)

    def __eq__(self, other: object) -> bool:
        # IPv6Network.__eq__'s answer without its calls (as HomePrefix4's).
        if isinstance(other, IPv6Network):
            return (self.network_address._ip == other.network_address._ip
                    and self._prefixlen == other._prefixlen)
        return super().__eq__(other)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f'IPv6Network({str(self)!r})'

    @classmethod
    def of(cls, value: int, prefixlen: int) -> HomePrefix6:
        """The prefix `value`/`prefixlen` (host bits must be zero), without parsing."""
        # /127 and /128 get a per-instance `hosts` from the parser: leave those to it.
        mask = _MASKS6.get(prefixlen)
        if mask is None or not _FAST6 or value & ~mask._ip or not 0 <= value < 1 << 128:
            return cls((value, prefixlen))  # the checking constructor (and its errors)
        return _unchecked6(cls, value, prefixlen, mask)

    @classmethod
    def carver(cls, prefixlen: int) -> Callable[[int], HomePrefix6]:
        """`of(value, prefixlen)` for values the caller keeps aligned and in range (a pool's
        carving): the checks are left out, once per allocated prefix."""
        mask = _MASKS6.get(prefixlen)
        if mask is None or not _FAST6:
            return lambda value: cls.of(value, prefixlen)
        return lambda value: _unchecked6(cls, value, prefixlen, mask)


def _unchecked6(cls: type[HomePrefix6], value: int, prefixlen: int, mask: IPv6Address) -> HomePrefix6:
    prefix = object.__new__(cls)
    address = object.__new__(IPv6Address)  # in range (the caller's word): no argument parsing
    address._ip = value
    address._scope_id = None
    prefix.network_address = address
    prefix.netmask = mask
    prefix._prefixlen = prefixlen
    return prefix


def prefix_length(network: IPv4Network | IPv6Network) -> int:
    """`network.prefixlen`, without the property's call (the data plane reads it per prefix change)."""
    return network._prefixlen  # type: ignore[no-any-return]


def address_int(address: IPv4Address | IPv6Address) -> int:
    """`int(address)`, without the ``__int__`` call."""
    return address._ip


def network_int(network: IPv4Network | IPv6Network) -> int:
    """`int(network.network_address)`, without the ``__int__`` call (a route spec's hash reads it)."""
    return network.network_address._ip


def ipv4_address(value: int) -> IPv4Address:
    """`IPv4Address(value)` for an int the caller keeps in 0..2**32-1 (an address pool's),
    without the constructor's argument checks (it runs once per allocated home address)."""
    if not _FAST4 or not 0 <= value <= 0xFFFFFFFF:
        return IPv4Address(value)
    address = object.__new__(IPv4Address)
    address._ip = value
    return address


_HOST_MASK4 = IPv4Network('0.0.0.0/32').netmask
_MASKS6: dict[int, IPv6Address] = {length: IPv6Network(f'::/{length}').netmask for length in range(127)}


def _layout_ok(fast: Any, slow: Any) -> bool:
    """True when the fast-built network is indistinguishable from the parsed one (a /32's
    `hosts`, a function the parser stores, is compared by what it returns)."""
    def fields(network: Any) -> dict[str, Any]:
        return {k: v for k, v in vars(network).items() if k not in ('hosts', 'hash_value')}

    try:
        same = fields(fast) == fields(slow) and fast == slow and hash(fast) == hash(slow) and str(fast) == str(slow)
        if slow.num_addresses == 1:  # never list the hosts of a bigger prefix
            same = same and list(fast.hosts()) == list(slow.hosts())
    except (AttributeError, TypeError):  # internals renamed: use the public constructors
        return False
    # Nothing here may set an attribute on `fast` (a cached property such as broadcast_address
    # would): a new key in one instance's dict makes every later prefix of the class bigger.
    return bool(same)


# The fast constructors are assumed to work, then checked once against the parser.
_FAST4 = _FAST6 = True
_FAST4 = _layout_ok(HomePrefix4.host(ipv4_address(0xC0000201)), IPv4Network('192.0.2.1/32'))
_FAST6 = _layout_ok(HomePrefix6.of(0x20010DB8 << 96, 64), IPv6Network('2001:db8::/64'))
if not _FAST4:  # the short comparison reads the same internals
    HomePrefix4.__eq__ = IPv4Network.__eq__  # type: ignore[method-assign]
if not _FAST6:  # the short hash and comparison read the same internals
    HomePrefix6.__hash__ = IPv6Network.__hash__  # type: ignore[method-assign]
    HomePrefix6.__eq__ = IPv6Network.__eq__  # type: ignore[method-assign]
if not (_FAST4 and _FAST6):  # the reads above assume the same internals: the public forms instead
    prefix_length = attrgetter('prefixlen')  # type: ignore[assignment]
    address_int = int  # type: ignore[assignment]
    network_int = lambda network: int(network.network_address)  # type: ignore[assignment]  # noqa: E731
