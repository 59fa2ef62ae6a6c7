"""The LMA service: one per `ipv6 mobile pmipv6-lma` block, with its bindings kept across restarts."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall

from pmiprouter.config.model import LmaConfig, RouterConfig, find
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.fast.rows import entry_to_text
from pmiprouter.mh.messages import BindingAcknowledgement, BindingRevocationIndication
from pmiprouter.runtime.common_path import CommonPbuOffer
from pmiprouter.runtime.gc_tuning import HeapSettler
from pmiprouter.runtime.policies import lma_policy
from pmiprouter.runtime.role import RoleService
from pmiprouter.runtime.state import SavedState, StateFile, StateJournal, worker_thread

SAVE_INTERVAL_S = 1.0  # bindings changed in the last second are journaled by the next tick
RESTORE_CHUNK = 10_000  # records parsed and restored at a time


class LmaService(RoleService):
    """One local mobility anchor."""

    def __init__(self, reactor: Any, config: RouterConfig, lma: LmaConfig, dataplane_kind: str, state_dir: Path) -> None:
        self.lma_config = lma
        self.state = StateFile(state_dir / f'lma-{lma.name}.json')
        self.saved = self.state.load_streaming()
        self.generation = self.saved.generation
        restart_counter = self.saved.restart_counter
        # A restart that restores its bindings loses no state; one that cannot, does (RFC 5847 §3.4).
        self.engine: LocalMobilityAnchor = LocalMobilityAnchor(
            lma_policy(config, lma), restart_counter if self.saved else restart_counter + 1
        )
        super().__init__(reactor, set(self.engine.policy.lma_addresses), dataplane_kind)
        self.saved_revision = -1
        self.saver: LoopingCall | None = None
        self.journal = StateJournal(self.state, worker_thread(reactor))
        self.heap = HeapSettler(lambda: len(self.engine.cache))

    def accepts(self, event: Any) -> bool:
        # A box that is LMA and MAG at once: PBAs and BRIs are the MAG's (the LMA only sends BRIs).
        mags = (BindingAcknowledgement, BindingRevocationIndication)
        return super().accepts(event) and not isinstance(getattr(event, 'message', None), mags)

    def startService(self) -> None:
        dataplane = self.make_dataplane()
        dataplane.anchor_pools(self._pools())
        driver = self.start_driver(dataplane)
        if self.mhport is not None:
            self.mhport.first = CommonPbuOffer(driver, frozenset(self.addresses))
        self.restore(driver)
        bindings = {binding_id: entry_to_text(entry) for binding_id, entry in self.engine.cache.entries.items()}
        try:
            self.journal.start(self.engine.restart_counter, bindings, self.generation)
        except OSError as exc:  # the daemon runs on; each save tick tries the journal again
            self.log.error('cannot open state journal of {path}: {error}', path=self.state.path, error=exc)
        self.engine.dirty.clear()  # the snapshot just written holds them
        self.saver = LoopingCall(self.save)
        self.saver.clock = self.reactor
        self.saver.start(SAVE_INTERVAL_S, now=True)
        super().startService()
        self.log.info(
            'LMA {name} ready: {addresses}, data plane {kind}',
            name=self.lma_config.name,
            addresses=' '.join(str(a) for a in sorted(self.addresses, key=lambda a: (a.version, a))),
            kind=type(dataplane).__name__,
        )

    def restore(self, driver: Any) -> None:
        """The saved bindings into the engine, RESTORE_CHUNK records at a time: each chunk's
        records are parsed as it goes (a million parsed at once would stay in the heap as free
        space), and its routes go to the data plane as one batch (one netlink transaction of
        MAX_BATCH-message datagrams), not one change each."""
        now = self.reactor.seconds()
        records = self.saved.records()
        while chunk := list(islice(records, RESTORE_CHUNK)):
            driver.begin_burst()
            try:
                driver.run(self.engine.restore(chunk, now, report=False))
            finally:
                driver.end_burst()
        driver.run(self.engine.restore([], now))  # the count, logged once
        self.saved = SavedState(0, self.generation, {})  # (the records are the engine's bindings now)

    def reload(self, config: RouterConfig) -> None:
        """Apply a re-read configuration to this LMA (SIGHUP, or a live change)."""
        lma = find(config.lmas, self.lma_config.name)
        if lma is None:
            self.log.warn('LMA {name} left the configuration; it keeps running until restart', name=self.lma_config.name)
            return
        self.lma_config = lma
        if self.executor is not None:  # (the pools of the registrations to come; held MNs keep theirs)
            self.executor.dataplane.anchor_pools(self._pools())
        actions = self.engine.reconfigure(lma_policy(config, lma))
        if self.driver is not None:
            self.driver.run(actions)

    def _pools(self) -> tuple[Any, ...]:
        return (*(pool.prefix for pool in self.lma_config.ipv6_pools), *(pool.prefix for pool in self.lma_config.ipv4_pools))

    def save(self) -> None:
        """Append the bindings changed since the last tick to the state journal (a line each)."""
        self.heap.check()  # once a second, with the save: a growing cache leaves the collector's walks
        if self.engine.revision == self.saved_revision:
            return
        entry_of = self.engine.cache.entries.get
        changes: dict[Any, str | None] = {  # None: the binding is gone
            binding_id: None if (entry := entry_of(binding_id)) is None else entry_to_text(entry)
            for binding_id in self.engine.dirty
        }
        self.engine.dirty.clear()
        try:
            self.journal.commit(changes, self.engine.restart_counter)
            self.saved_revision = self.engine.revision
        except OSError as exc:
            self.log.error('cannot write state journal of {path}: {error}', path=self.state.path, error=exc)

    def stopService(self) -> Any:
        if self.saver is not None and self.saver.running:
            self.saver.stop()
        self.save()
        self.journal.close()
        return super().stopService()
