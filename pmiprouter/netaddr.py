"""An IPv4 prefix that hashes once (pure, standard library only).

`ipaddress` networks compute their hash in Python on every call (two `int()` conversions and
an xor). The data plane keys its route and rule tables and its per-prefix index by a mobile
node's prefixes, hashing each several times per registration; the IPv4 home address becomes
such a /32 once per route spec. It is equal to, and hashes like, the plain `IPv4Network` of
the same value. (The binding cache's IPv6 prefixes stay plain: the stored hash, an int
object, would add ~36 bytes to every binding.)
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any


class HomePrefix4(IPv4Network):
    """An IPv4 prefix (a home address as a /32) with its hash computed at construction."""

    __slots__ = ('_hash',)

    def __init__(self, address: Any, strict: bool = True) -> None:
        super().__init__(address, strict)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f'IPv4Network({str(self)!r})'  # what it stands for, in logs and test output
