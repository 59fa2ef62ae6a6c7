"""TimerQueue: every engine timer on one reactor call, with the semantics of one callLater per key."""

from __future__ import annotations

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
