"""Choose and build a dataplane backend from the configuration keyword.

``dataplane auto|kernel|userspace|memory``: ``auto`` runs the capability probe
(:mod:`pmiprouter.dataplane.probe`) and records what it picked and why in :data:`LAST_CHOICE`,
which the runtime logs and `show ipv6 mobile pmipv6 globals` displays.
"""

from __future__ import annotations

import logging
from typing import Any

from pmiprouter.dataplane.interface import Dataplane, DataplaneError

log = logging.getLogger(__name__)

KINDS = ('auto', 'kernel', 'userspace', 'memory')

#: (backend, reason) of the last make_dataplane() call, for `show ... globals`.
LAST_CHOICE: tuple[str, str] = ('', '')


def make_dataplane(kind: str = 'auto', **options: Any) -> Dataplane:
    """Return a dataplane of the given kind.

    Args:
        kind: one of :data:`KINDS`.
        **options: passed to the backend (the userspace backend takes ``reactor``).

    Raises:
        DataplaneError: unknown kind, or the backend cannot start here.
    """
    global LAST_CHOICE
    reason = 'configured'
    if kind == 'auto':
        from pmiprouter.dataplane.probe import probe

        result = probe()
        kind, reason = result.choice, result.reason
        log.info('dataplane auto: picked %s (%s)', kind, reason)
    LAST_CHOICE = (kind, reason)
    if kind == 'memory':
        from pmiprouter.dataplane.memory import MemoryDataplane

        return MemoryDataplane()
    if kind == 'kernel':
        from pmiprouter.dataplane.kernel import KernelDataplane

        return KernelDataplane()
    if kind == 'userspace':
        from pmiprouter.dataplane.userspace import UserspaceDataplane

        return UserspaceDataplane(**options)
    raise DataplaneError(f'unknown dataplane kind {kind!r} (expected one of {", ".join(KINDS)})')
