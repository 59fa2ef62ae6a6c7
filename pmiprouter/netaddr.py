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


class HomePrefix6(IPv6Network):
    """An IPv6 prefix with its hash computed once."""

    def __init__(self, address: Any, strict: bool = True) -> None:
        super().__init__(address, strict)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f'IPv6Network({str(self)!r})'  # what it stands for, in logs and test output


class HomePrefix4(IPv4Network):
    """An IPv4 prefix (a home address as a /32) with its hash computed once."""

    def __init__(self, address: Any, strict: bool = True) -> None:
        super().__init__(address, strict)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f'IPv4Network({str(self)!r})'
