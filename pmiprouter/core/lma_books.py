"""What the LMA's collaborators share: ids, data-plane tickets and the PBAs owed on them (pure).

RFC 5213 §5.3: a PBA that accepts a registration is sent only once forwarding for it exists, so
the PBA is owed from the moment the data-plane change is asked for until its ticket comes back
(DataplaneApplied or DataplaneFailed). `Books` keeps those debts, the bindings changed since the
daemon last saved them, and one object per peer address (bindings of one MAG share it).
"""

from __future__ import annotations

import itertools
from typing import Union

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.core.events import CommonPbuReceived, IPAddress
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh.iana import BAStatus

# What a PBA is owed to: the parsed PBU, or a common PBU as it was read (core/events.py).
Owed = Union[ProxyRegistration, CommonPbuReceived]


class Books:
    """Binding and ticket numbers, PBAs owed on tickets, bindings to save, interned addresses."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)  # binding ids (and parked PBUs' ids)
        self.tickets = itertools.count(1)  # data-plane change tickets
        self.replies: dict[int, tuple[Owed, BAStatus]] = {}  # binding id -> the PBA owed once programmed
        self.pending: dict[int, int] = {}  # data-plane ticket -> binding id
        self.ticket_of: dict[int, int] = {}  # binding id -> its outstanding ticket (only while programming)
        self.dirty: set[int] = set()  # bindings changed (or removed) since the daemon last saved them
        self._addresses: dict[IPAddress, IPAddress] = {}
        # One object per peer address, found by identity first: the ports hand on one object per
        # peer, and bindings that share it compare by identity (ipaddress's == is Python code).
        interned = self._addresses
        self.intern = ByIdentity[IPAddress, IPAddress](lambda address: interned.setdefault(address, address), 1024)

    def owe(self, binding_id: int, reply: Owed, status: BAStatus) -> int:
        """A data-plane change for `binding_id` is asked for: its ticket, with `reply`'s PBA owed on it.
        A change still outstanding for the binding is superseded (its completion will find nothing)."""
        ticket = next(self.tickets)
        stale = self.ticket_of.get(binding_id)
        if stale is not None:
            self.pending.pop(stale, None)
        self.ticket_of[binding_id] = ticket
        self.pending[ticket] = binding_id
        self.replies[binding_id] = (reply, status)
        return ticket

    def settle(self, ticket: int) -> int | None:
        """The binding whose change `ticket` was (None: superseded or deleted meanwhile)."""
        binding_id = self.pending.pop(ticket, None)
        if binding_id is not None:
            self.ticket_of.pop(binding_id, None)
        return binding_id

    def forget(self, binding_id: int) -> None:
        """The binding is gone: nothing is owed on it any more."""
        stale = self.ticket_of.pop(binding_id, None)
        if stale is not None:
            self.pending.pop(stale, None)
        self.replies.pop(binding_id, None)

    def skip_ids(self, used: int) -> None:
        """Bindings restored from the state file hold ids up to `used`: new ones come after them."""
        if used:
            self.ids = itertools.count(max(next(self.ids), used + 1))
