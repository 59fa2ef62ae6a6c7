"""The garbage collector, tuned for a daemon that holds a large, acyclic, long-lived heap.

CPython's cyclic collector walks the young generation every 700 net allocations and, now
and then, every tracked object. A registration allocates a few hundred objects, and an LMA
keeps its bindings (slotted entries, tuples, addresses: no reference cycles) for hours; with
the defaults the collector takes about a quarter of a registration's CPU time
(bench/bench_lma.py --daemon-path), and its full passes grow with the binding cache.
Reference counting frees nearly everything here; the collector only has Twisted's occasional
cycles (failures, Deferred chains) to find, which a less frequent young pass still finds.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

YOUNG_THRESHOLD = 10_000  # allocations between two young collections (CPython's default: 700)


def settle_heap() -> None:
    """Call once start-up is done (configuration loaded, bindings restored): what exists now
    lives as long as the daemon, so it leaves every later collection (gc.freeze), and the
    young generation is collected less often."""
    gc.collect()  # start-up's own garbage cycles go first: frozen objects are never collected
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


FREEZE_STEP = 10_000  # bindings added since the last freeze that make the next one worth it


class HeapSettler:
    """Freezes what a growing binding cache added, so full collections stop walking it.

    A full collection walks every tracked object the start-up freeze did not cover: with
    100,000 bindings registered after the start it takes ~0.26 s, with a million ~2.6 s, a
    stall long enough for every MAG's PBU timer (1 s) to fire. Bindings hold no reference
    cycles and are freed by reference counting even when frozen, so once the cache has grown
    by FREEZE_STEP bindings, what survived the young collections joins the permanent
    generation. The cost: a cycle among objects frozen while alive (a long SSH session) is
    never collected once it dies; freezes happen only while the cache grows, a few dozen
    times on the way to a million bindings.
    """

    def __init__(self, size: Callable[[], int], step: int = FREEZE_STEP) -> None:
        self.size = size
        self.step = step
        self.frozen_at = 0  # the cache's size at the last freeze (or its lowest since)
        self.freezes = 0

    def check(self) -> bool:
        """Freeze if the cache grew by `step` since the last freeze; True when it did."""
        size = self.size()
        if size - self.frozen_at < self.step:
            self.frozen_at = min(self.frozen_at, size)  # shrinking: growth counts from the low point
            return False
        gc.collect(1)  # the young garbage first (Twisted's short-lived cycles): frozen, it would stay
        gc.freeze()
        self.frozen_at = size
        self.freezes += 1
        return True
