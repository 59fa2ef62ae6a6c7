"""Cached capability checks for skip conditions (they run the real probe once per session)."""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=None)
def _result() -> object | None:
    if os.geteuid() != 0:
        return None
    from pmiprouter.dataplane.probe import probe

    return probe()


def kernel_tunnels_ok() -> bool:
    """True if the kernel can create every tunnel kind the kernel backend uses."""
    result = _result()
    return bool(result and result.kernel_ok)  # type: ignore[attr-defined]


def tun_ok() -> bool:
    """True if TUN devices can be created."""
    result = _result()
    return bool(result and result.tun)  # type: ignore[attr-defined]
