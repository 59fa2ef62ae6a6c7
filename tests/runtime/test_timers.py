"""TimerQueue: every engine timer on one reactor call, with the semantics of one callLater per key."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.internet.task import Clock

from pmiprouter.runtime.timers import COMPACT_SLACK, TimerQueue


def make() -> tuple[TimerQueue, Clock, list[object]]:
    clock = Clock()
    fired: list[object] = []
    return TimerQueue(clock, fired.append), clock, fired


def test_timers_fire_in_deadline_order_on_one_reactor_call() -> None:
    """Three timers, one DelayedCall on the reactor; each fires at its deadline, earliest first."""
    timers, clock, fired = make()
    timers.start('b', 20)
    timers.start('a', 10)
    timers.start('c', 30)
    assert len(clock.getDelayedCalls()) == 1 and len(timers) == 3
    clock.advance(9.9)
    assert fired == []
    clock.advance(0.1)
    assert fired == ['a']
    clock.advance(20)
    assert fired == ['a', 'b', 'c'] and not timers and not clock.getDelayedCalls()


def test_restart_moves_the_deadline_and_cancel_stops_it() -> None:
    """Starting a key again replaces its deadline (earlier or later); a cancelled key never fires."""
    timers, clock, fired = make()
    timers.start('renewed', 10)
    timers.start('cancelled', 5)
    timers.start('renewed', 50)
    timers.cancel('cancelled')
    clock.advance(49)
    assert fired == [] and 'renewed' in timers and 'cancelled' not in timers
    timers.start('renewed', 60)
    timers.start('sooner', 55)
    clock.advance(6)
    assert fired == ['sooner']
    clock.advance(5)
    assert fired == ['sooner', 'renewed']


def test_a_timer_started_while_firing_waits_for_the_next_call() -> None:
    """A callback that starts a due timer does not run it re-entrantly (as callLater(0) would not)."""
    clock = Clock()
    fired: list[tuple[str, int]] = []
    depth = [0]
    timers: TimerQueue

    def fire(key: object) -> None:
        depth[0] += 1
        fired.append((str(key), depth[0]))
        if key == 'first':
            timers.start('again', clock.seconds())
            timers.cancel('second')  # due in the same batch: must not fire
        depth[0] -= 1

    timers = TimerQueue(clock, fire)
    timers.start('first', 1)
    timers.start('second', 1)
    clock.advance(1)  # task.Clock runs the follow-up reactor call within the same advance
    assert fired == [('first', 1), ('again', 1)] and not timers


def test_heap_is_compacted_when_renewals_leave_stale_entries() -> None:
    """Renewing one timer many times keeps the heap bounded by live timers, not by renewals."""
    timers, clock, fired = make()
    for at in range(1, 10 * COMPACT_SLACK):
        timers.start('binding', 1000 + at)
    assert len(timers._heap) <= 2 * len(timers) + COMPACT_SLACK + 1
    clock.advance(1000 + 10 * COMPACT_SLACK)
    assert fired == ['binding']


def test_stop_drops_every_timer_and_the_reactor_call() -> None:
    timers, clock, fired = make()
    timers.start('a', 10)
    timers.stop()
    clock.advance(20)
    assert fired == [] and not clock.getDelayedCalls()


def test_renewals_move_timers_later_without_growing_the_heap() -> None:
    """A lifetime extension is a dict store: the heap keeps one entry per timer, and each fires at its new deadline."""
    timers, clock, fired = make()
    for key in range(1000):
        timers.start(key, 100)
    for renewal in range(1, 11):
        for key in range(1000):
            timers.start(key, 100 + renewal * 10)
    assert len(timers._heap) == 1000
    clock.advance(150)
    assert fired == [] and len(timers._heap) == 1000  # the old entries came due and moved to 200
    clock.advance(50)
    assert sorted(fired) == list(range(1000)) and not timers


@settings(deadline=None)  # a loaded CI machine, not the code, decides how long an example takes
@given(st.lists(st.tuples(st.sampled_from(['start', 'cancel', 'advance']), st.integers(0, 4), st.integers(0, 30)),
                max_size=60))
def test_the_queue_fires_what_one_call_later_per_key_would(ops: list[tuple[str, int, int]]) -> None:
    """Against a reference: every key its own reactor call, replaced on start, cancelled on cancel."""
    queue_clock, reference_clock = Clock(), Clock()
    ours: list[tuple[float, int]] = []
    theirs: list[tuple[float, int]] = []
    timers = TimerQueue(queue_clock, lambda key: ours.append((queue_clock.seconds(), key)))
    calls: dict[int, Any] = {}

    def reference_fire(key: int) -> None:
        del calls[key]
        theirs.append((reference_clock.seconds(), key))

    for op, key, amount in ops:
        if op == 'start':
            timers.start(key, queue_clock.seconds() + amount)
            if key in calls:
                calls.pop(key).cancel()
            calls[key] = reference_clock.callLater(amount, reference_fire, key)
        elif op == 'cancel':
            timers.cancel(key)
            if key in calls:
                calls.pop(key).cancel()
        else:
            queue_clock.advance(amount)
            reference_clock.advance(amount)
            assert sorted(ours) == sorted(theirs)
    queue_clock.advance(100)
    reference_clock.advance(100)
    assert sorted(ours) == sorted(theirs) and not timers
