"""settle_heap(): start-up objects leave the collector's passes, young collections are rarer,
and garbage cycles made afterwards are still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pmiprouter.runtime.gc_tuning import YOUNG_THRESHOLD, settle_heap


@pytest.fixture()
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_heap_freezes_start_up_and_still_collects_new_cycles(restore_gc: None) -> None:
    long_lived = [object() for _ in range(100)]
    settle_heap()
    assert gc.get_freeze_count() >= len(long_lived) and gc.get_threshold()[0] == YOUNG_THRESHOLD

    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the collector frees it

    Node()
    assert gc.collect() >= 1
