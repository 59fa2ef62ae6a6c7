"""LmaService.save: each tick journals the bindings changed since the last one, their rows as
entry_to_text writes them, and a binding that is gone as null."""

from __future__ import annotations

import json
from pathlib import Path

from twisted.internet.task import Clock

from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.fast.rows import entry_to_text
from pmiprouter.dataplane.factory import make_dataplane
from pmiprouter.runtime.dataplane_worker import Inline
from pmiprouter.runtime.driver import EngineDriver
from pmiprouter.runtime.service import LmaService
from tests.core.harness import T0, pbu
from tests.mgmt.fakes import config
from tests.addresses import LMAA, MAG1 as MAG

MACS = ('00:11:22:33:44:55', '00:11:22:33:44:66')


def journal_lines(service: LmaService) -> list[object]:
    return [json.loads(line) for line in service.journal.file.journal_path(0).read_text().splitlines()[1:]]


def test_a_tick_journals_new_changed_and_gone_bindings(tmp_path: Path) -> None:
    clock = Clock()
    clock.advance(T0)
    cfg = config()
    service = LmaService(clock, cfg, cfg.lmas[0], 'memory', tmp_path)
    service.driver = EngineDriver(service.engine, clock, Inline(make_dataplane('memory')))
    service.journal.start(service.engine.restart_counter, {}, 0)
    for mac in MACS:  # one MN on two interfaces: two bindings
        service.driver.feed(MessageReceived(MAG, LMAA, pbu(mac=mac), Transport.IPV6, None))
    service.save()
    entries = {entry.binding_id: entry for entry in service.engine.bindings()}
    assert len(entries) == 2 and not service.engine.dirty
    assert journal_lines(service) == [[key, json.loads(entry_to_text(entry))] for key, entry in entries.items()]
    assert service.journal.records == {key: entry_to_text(entry) for key, entry in entries.items()}

    service.save()  # nothing moved: nothing written
    assert len(journal_lines(service)) == 2

    clock.advance(10)
    renewal = pbu(mac=MACS[0], seq=2, hi=5, lifetime=3600, ts=T0 + 10)
    service.driver.feed(MessageReceived(MAG, LMAA, renewal, Transport.IPV6, None))
    clock.advance(700)  # the other binding's lifetime (600 s) runs out: it is gone
    service.save()
    (kept,) = service.engine.bindings()
    (gone,) = set(entries) - {kept.binding_id}
    assert sorted(journal_lines(service)[2:], key=str) == sorted(
        [[kept.binding_id, json.loads(entry_to_text(kept))], [gone, None]], key=str)
    assert service.journal.records == {kept.binding_id: entry_to_text(kept)}
    service.journal.close()
    assert service.state.load()[1] == [json.loads(entry_to_text(kept))]
