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

YOUNG_THRESHOLD = 10_000  # allocations between two young collections (CPython's default: 700)


def settle_heap() -> None:
    """Call once start-up is done (configuration loaded, bindings restored): what exists now
    lives as long as the daemon, so it leaves every later collection (gc.freeze), and the
    young generation is collected less often."""
    gc.collect()  # start-up's own garbage cycles go first: frozen objects are never collected
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
