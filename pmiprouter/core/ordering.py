"""Per-binding order of PBUs: Timestamp option or sequence numbers (pure; RFC 5213 §5.5, RFC 6275 §9.5.1)."""

from __future__ import annotations

from typing import Protocol

from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.errors import Rejection
from pmiprouter.core.policy import LmaPolicy
from pmiprouter.core.seqno import seq_newer
from pmiprouter.mh.iana import BAStatus


class Ordered(Protocol):
    """What the order check reads of a PBU (a ProxyRegistration, or a common PBU read from bytes)."""

    @property
    def timestamp(self) -> int | None: ...

    @property
    def sequence(self) -> int: ...


def check_order(request: Ordered, entry: BindingCacheEntry, policy: LmaPolicy) -> None:
    """A PBU for an existing binding must be newer than the last one accepted for it.

    With timestamps in use and a Timestamp option present, it must exceed the stored
    timestamp (157); otherwise the LMA falls back to sequence numbers (135, with the last
    accepted number in the PBA).
    """
    if policy.use_timestamps and request.timestamp is not None:
        if entry.timestamp is not None and request.timestamp <= entry.timestamp:
            raise Rejection(BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, 'timestamp not newer than the last accepted')
        return
    if not seq_newer(request.sequence, entry.sequence):
        raise Rejection(
            BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW,
            f'sequence {request.sequence} not newer than {entry.sequence}',
            sequence=entry.sequence,
        )
