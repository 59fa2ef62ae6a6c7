"""Typed errors of the core (pure).

`Rejection` carries the Binding Acknowledgement status a check failed with; the LMA turns
it into a PBA in one place (the ExaBGP `Notify` / h2 `error_code` idea).
"""

from __future__ import annotations

from pmiprouter.mh.iana import BAStatus


class CoreError(Exception):
    """Base of the core's errors."""


class Rejection(CoreError):
    """A PBU refused with `status` (RFC 5213 §5.3.1 and companions)."""

    def __init__(self, status: BAStatus, reason: str, sequence: int | None = None) -> None:
        super().__init__(f'{status.name} ({int(status)}): {reason}')
        self.status = status
        self.reason = reason
        self.sequence = sequence  # for 135: the last accepted sequence number goes into the PBA


class SilentDiscard(CoreError):
    """A message the RFC says to drop without an answer (e.g. an unmatched de-registration)."""


class InternalInvariantError(CoreError):
    """A state transition that is not in the table: a bug, never a peer's fault."""
