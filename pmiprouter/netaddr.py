"""Prefixes that hash once (pure, standard library only).

`ipaddress` networks compute their hash in Python on every call (two `int()` conversions and
an xor). A mobile node's home prefixes are keys of half a dozen dictionaries (the binding
cache's indexes, the data plane's route and rule tables), hashed a dozen times per
registration: these subclasses compute it once. They are equal to, and hash like, the plain
`IPv6Network` / `IPv4Network` of the same value, so either can look the other up.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Any


class _HashedOnce:
    """Mixed in before an `ipaddress` network class: hash computed at construction."""

    _hash: int
    plain: type  # the stdlib class it stands for (shown by repr)

    def __init__(self, address: Any, strict: bool = True) -> None:
        super().__init__(address, strict)  # type: ignore[call-arg]
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f'{self.plain.__name__}({str(self)!r})'  # what it stands for, in logs and test output


class HomePrefix6(_HashedOnce, IPv6Network):
    """An IPv6 home network prefix with its hash computed once."""

    plain = IPv6Network


class HomePrefix4(_HashedOnce, IPv4Network):
    """An IPv4 prefix (a home address as a /32) with its hash computed once."""

    plain = IPv4Network
