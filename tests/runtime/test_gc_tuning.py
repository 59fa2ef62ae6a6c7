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


def test_heap_settler_freezes_once_per_step_of_growth(restore_gc: None) -> None:
    from pmiprouter.runtime.gc_tuning import HeapSettler

    size = [0]
    settler = HeapSettler(lambda: size[0], step=100)
    kept: list[object] = []

    def grow(by: int) -> None:
        size[0] += by
        kept.extend(object() for _ in range(by))  # what bindings would hold

    before = gc.get_freeze_count()
    grow(99)
    assert not settler.check() and gc.get_freeze_count() == before
    grow(1)
    assert settler.check() and gc.get_freeze_count() >= before + len(kept)
    grow(50)
    assert not settler.check()
    size[0] = 20  # most bindings went: growth now counts from 20
    assert not settler.check()
    size[0] = 119
    assert not settler.check()
    size[0] = 120
    assert settler.check() and settler.freezes == 2


def test_frozen_bindings_are_still_freed_and_new_cycles_collected(restore_gc: None) -> None:
    import weakref

    from pmiprouter.runtime.gc_tuning import HeapSettler

    class Binding:
        pass

    bindings = [Binding() for _ in range(10)]
    first = weakref.ref(bindings[0])
    HeapSettler(lambda: len(bindings), step=10).check()
    del bindings[0]
    assert first() is None  # reference counting frees a frozen, acyclic object

    class Node:
        def __init__(self) -> None:
            self.me = self

    Node()
    assert gc.collect() >= 1
