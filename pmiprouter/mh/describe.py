"""Messages and options as plain JSON-able data (pure): for vectors, logs and `debug` output."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from enum import Enum, Flag
from ipaddress import IPv4Address, IPv6Address
from typing import Any


def as_dict(obj: object) -> dict[str, Any]:
    """`{'type': ClassName, field: value, ...}` with enums by name, addresses as text, bytes as hex."""
    if not is_dataclass(obj):
        raise TypeError(f'{type(obj).__name__} is not a message or option')
    out: dict[str, Any] = {'type': type(obj).__name__}
    for field in fields(obj):
        out[field.name] = plain(getattr(obj, field.name))
    return out


def plain(value: object) -> Any:
    """One field value as JSON-able data."""
    if isinstance(value, Flag):
        members = [member for member in type(value) if member in value]
        rest = int(value.value) & ~sum(int(member.value) for member in members)
        return [member.name for member in members] + ([rest] if rest else [])
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, IPv4Address | IPv6Address):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [as_dict(item) if is_dataclass(item) else plain(item) for item in value]
    return value
