"""Every timer of one engine on a single reactor DelayedCall (a heap with lazy cancellation).

An LMA holds a lifetime timer per binding: one `callLater` each would cost a DelayedCall
object (~400 bytes) and a reactor heap operation per registration, renewal and deletion.
Here starting a timer is a dict store and a heap push, cancelling is a dict pop (the heap
entry is skipped when it comes due), and the reactor sees one call at the earliest deadline.
Moving a live timer later (a renewal) is only the dict store: when its old heap entry comes
due, it is pushed again at the new deadline, so renewals neither grow the heap nor make it
rebuilt.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

COMPACT_SLACK = 1024  # stale heap entries tolerated beyond one per live timer before a rebuild


class TimerQueue:
    """Keyed one-shot timers: starting a key again replaces its deadline; `fire(key)` when due."""

    def __init__(self, clock: IReactorTime, fire: Callable[[Any], None]) -> None:
        self.clock = clock
        self.fire = fire
        self.deadlines: dict[Hashable, float] = {}  # live timers
        self._heap: list[tuple[float, Any]] = []  # (deadline, key); may hold stale entries
        self._call: IDelayedCall | None = None
        self._call_at = math.inf
        self._running = False

    def __len__(self) -> int:
        return len(self.deadlines)

    def __bool__(self) -> bool:
        return bool(self.deadlines)

    def __contains__(self, key: object) -> bool:
        return key in self.deadlines

    def start(self, key: Hashable, at: float) -> None:
        deadlines = self.deadlines
        before = deadlines.get(key)
        deadlines[key] = at
        if before is not None and before <= at:
            return  # later than its heap entry: moved on when that entry comes due
        heapq.heappush(self._heap, (at, key))
        if len(self._heap) > 2 * len(self.deadlines) + COMPACT_SLACK:
            self._compact()
        if at < self._call_at and not self._running:
            self._schedule(at)

    def cancel(self, key: Hashable) -> None:
        self.deadlines.pop(key, None)

    def stop(self) -> None:
        self.deadlines.clear()
        self._heap.clear()
        self._unschedule()

    def _compact(self) -> None:
        """Drop stale entries (renewed or cancelled timers) so the heap stays proportional to live ones."""
        self._heap = [(at, key) for key, at in self.deadlines.items()]
        heapq.heapify(self._heap)

    def _unschedule(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call, self._call_at = None, math.inf

    def _schedule(self, at: float) -> None:
        self._unschedule()
        self._call_at = at
        self._call = self.clock.callLater(max(0.0, at - self.clock.seconds()), self._run)

    def _run(self) -> None:
        self._call, self._call_at = None, math.inf
        now = self.clock.seconds()
        due: list[tuple[float, Any]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            live = self.deadlines.get(key)
            if live is not None and live > at:  # moved later since this entry was pushed
                heapq.heappush(heap, (live, key))
            else:
                due.append((at, key))
        self._running = True
        try:
            for at, key in due:
                # Still live with this deadline? (An earlier timer of this batch may have cancelled or moved it.)
                if self.deadlines.get(key) == at:
                    del self.deadlines[key]
                    self.fire(key)
        finally:
            self._running = False
            self._reschedule()

    def _reschedule(self) -> None:
        """Schedule the reactor call for the first entry that is live with its own deadline."""
        heap, deadlines = self._heap, self.deadlines
        while heap:
            at, key = heap[0]
            live = deadlines.get(key)
            if live == at:
                self._schedule(at)
                return
            heapq.heappop(heap)
            if live is not None and live > at:  # moved later: its entry goes where it now belongs
                heapq.heappush(heap, (live, key))
