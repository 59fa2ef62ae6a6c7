"""The MAG's state file in the daemon: saved on the tick when the BUL moved, restored at start."""

from __future__ import annotations

import json
from pathlib import Path

from twisted.internet.task import Clock

from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.runtime.mag_state import MagState
from pmiprouter.runtime.state import StateFile
from tests.core.harness import T0
from tests.core.mag_harness import HNP1, MAC1, MagHarness, mag_policy


def registered_harness() -> MagHarness:
    h = MagHarness()
    h.registered(MAC1)
    return h


def test_save_on_tick_then_restore_in_a_new_daemon(tmp_path: Path) -> None:
    path = tmp_path / 'mag-MAG1.json'
    clock = Clock()
    clock.advance(T0)
    state = MagState(path)
    assert state.start_counter() == 1  # nothing to restore: a state-losing start
    h = registered_harness()
    state.start(h.mag, clock, clock.seconds())
    clock.advance(1.0)
    data = json.loads(path.read_text())
    entries = [r for r in data['bindings'] if r.get('kind') == 'entry']
    assert [e['hnps'] for e in entries] == [[str(HNP1)]]

    again = MagState(path)
    assert again.saved and again.start_counter() == again.restart_counter
    fresh = MobileAccessGateway(mag_policy(), again.start_counter())
    actions = again.start(fresh, clock, T0 + 30)
    (entry,) = fresh.entries()
    assert entry.state is BulState.REGISTERED and entry.hnps == (HNP1,)
    assert any(isinstance(a, ApplyDataplane) and a.ensure_routes for a in actions)  # forwarding back at once
    again.stop()
    state.stop()


def test_unchanged_engine_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / 'mag.json'
    clock = Clock()
    state = MagState(path)
    h = registered_harness()
    state.start(h.mag, clock, T0)
    clock.advance(1.0)
    (journal,) = StateFile(path).journals().values()
    size = journal.stat().st_size
    clock.advance(1.0)  # the engine did not move: nothing appended
    assert journal.stat().st_size == size
    h.mag.clear(None, T0 + 5)  # moved: the entry now de-registering is appended
    clock.advance(1.0)
    assert journal.stat().st_size > size
    _counter, records = StateFile(path).load()
    assert [r['state'] for r in records if r.get('kind') == 'entry'] == ['deregistering']
    state.stop()


def test_stop_saves_and_damaged_file_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / 'mag.json'
    clock = Clock()
    state = MagState(path)
    h = registered_harness()
    state.start(h.mag, clock, T0)
    state.stop()  # saved at once, without waiting for a tick
    assert MagState(path).saved
    path.write_text('{broken')
    broken = MagState(path)
    assert broken.saved == [] and broken.start_counter() == 1
