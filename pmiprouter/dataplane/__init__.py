"""PMIPv6 data plane: one interface, three backends (kernel, userspace, memory)."""

from __future__ import annotations

from pmiprouter.dataplane.factory import make_dataplane
from pmiprouter.dataplane.interface import (
    PMIP6_DATA_PORT,
    Dataplane,
    DataplaneError,
    DataplaneState,
    LinkEntry,
    MnRouteSpec,
    Role,
    RouteEntry,
    RuleEntry,
    TunnelMode,
    TunnelSpec,
    UnsupportedMode,
)

__all__ = [
    'PMIP6_DATA_PORT',
    'Dataplane',
    'DataplaneError',
    'DataplaneState',
    'LinkEntry',
    'MnRouteSpec',
    'Role',
    'RouteEntry',
    'RuleEntry',
    'TunnelMode',
    'TunnelSpec',
    'UnsupportedMode',
    'make_dataplane',
]
