#!/usr/bin/env python3
"""What saving bindings costs the reactor: a full rewrite per tick against the journal (runtime/state.py).

For N bindings, one tick's changes (--changes, ~a second of registrations) are saved both ways:
- rewrite: the whole snapshot written again (what the daemon did before the journal);
- journal: the changed rows appended and fsynced; the snapshot is rewritten in a worker thread
  only when the journal has outgrown it, so that rewrite is reported apart, with how often it
  comes (every snapshot-size / tick-size ticks).

Rows are real binding rows of a dual-stack binding, written as the daemon writes them (fast/rows.py).

With --rows N, N real bindings (the engine's, as bench_lma.py registers them, times with a
fraction as the daemon's clock gives) are turned into journal text, per binding: the row as
values then json (`entry_to_record` + `row_json`), the row's text written directly
(`entry_to_text`, what the daemon's save does), and the journal append of those texts (the lines,
the write and the fsync), best of several rounds.

With --save N, what the daemon's once-a-second save costs for a tick of N new bindings: the real
`LmaService.save` (each dirty binding's row, then `StateJournal.commit`: the lines, the write,
the fsync) onto a fresh journal in a temporary directory, best of --rounds; then the snapshot
rewrite of those N rows (`StateJournal.compact`, run inline), which a growing cache pays about
twice per binding over its life (the journal is compacted each time it outgrows the snapshot).
--stop-after ends the run after the engine's setup or after the save, so that the instructions of
one phase can be counted apart: --callgrind N1 N2 runs this script under callgrind at both sizes
and each stop, and prints the instructions per binding of the save and of the snapshot rewrite
(the difference of the totals divided by the difference of N: exact, whatever the machine's load).

Run: `.venv/bin/python bench/bench_state.py [--bindings 100000 1000000] [--changes 5000] [--rows N] [--dir DIR]`,
`... bench/bench_state.py --save 20000`, `... bench/bench_state.py --callgrind 2000 6000`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from twisted.internet.defer import succeed

from pmiprouter.core.persistence import entry_from_record, entry_to_record
from pmiprouter.fast.rows import entry_to_text, row_json
from pmiprouter.runtime.state import StateFile, StateJournal

ROW = [123456, 16, '6d6e30303030303030304062656e63682e6578616d706c65', 3, '000000000001', 1, '2001:db8:12::1',
       '2001:db8:12::2', 'ipv6', None, [[42540766411282592856903984951653826560, 64]], [167772162, 8], 167772161, None,
       3600, 1790003600.125, None, 5, None, False, False, False, 'active', 1790000000.125]


_ENTRY = entry_from_record(ROW)


def row(i: int) -> str:
    """Binding `i`'s row text, as the daemon writes it (one writer of the format: fast/rows.py)."""
    return entry_to_text(replace(_ENTRY, binding_id=i))


def measure(bindings: int, changes: int, directory: Path) -> None:
    records = {i: row(i) for i in range(bindings)}
    file = StateFile(directory / f'lma-{bindings}.json')
    start = time.perf_counter()
    file.save_encoded(1, records.values(), records.keys(), 0)
    rewrite = time.perf_counter() - start
    size = file.path.stat().st_size
    journal = StateJournal(file, lambda job: succeed(job()))
    journal.start(1, records, 1)
    tick = {i: row(i) for i in range(changes)}
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        journal.commit(tick, 1)
        journal.compacting = True  # the rewrite is timed above; here only the appends are
    append = (time.perf_counter() - start) / rounds
    per_tick = journal.journal_bytes / rounds
    journal.close()
    print(f'{bindings:>9,} bindings ({size / 1e6:.0f} MB snapshot), {changes:,} changed per tick:')
    print(f'    rewrite every tick: {rewrite * 1e3:8.1f} ms of reactor time per tick')
    print(f'    journal:            {append * 1e3:8.1f} ms per tick ({append / changes * 1e6:.1f} us per changed binding);'
          f' the snapshot rewrite ({rewrite * 1e3:.0f} ms) moves to a worker thread, every ~{size / per_tick:.0f} ticks')


def best_per_item(job: Callable[[], object], items: int, rounds: int = 7) -> float:
    """The fastest of `rounds` runs of `job`, in microseconds per item (the machine is shared: the
    fastest run is the one least disturbed)."""
    best = float('inf')
    for _ in range(rounds):
        start = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - start)
    return best / items * 1e6


def measure_rows(count: int, directory: Path) -> None:
    from bench_lma import make_lma, pbu, register  # the engine's bindings, as its own benchmark makes them

    lma = make_lma(count)
    register(lma, (pbu(i) for i in range(count)), 1_790_000_000.0, step=0.000_137)  # a fraction, as the clock's
    entries = lma.bindings()
    texts = {entry.binding_id: entry_to_text(entry) for entry in entries}
    assert all(json.loads(text) == entry_to_record(entry) for entry, text in zip(entries, texts.values()))
    as_values = best_per_item(lambda: [row_json(entry_to_record(entry)) for entry in entries], count)
    direct = best_per_item(lambda: [entry_to_text(entry) for entry in entries], count)
    journal = StateJournal(StateFile(directory / 'lma-rows.json'), lambda job: succeed(job()))
    journal.start(1, {}, 1)
    journal.compacting = True  # only the appends are timed
    append = best_per_item(lambda: journal.commit(texts, 1), count)
    journal.close()
    print(f'{count:,} bindings, {sum(map(len, texts.values())) / count:.0f} bytes of row each; per binding:')
    print(f'    row as values + json (entry_to_record, row_json): {as_values:5.2f} us')
    print(f'    row text written directly (entry_to_text):      {direct:5.2f} us')
    print(f'    journal append (lines, write, fsync):           {append:5.2f} us')
    print(f'    save tick per new binding (text + append):      {direct + append:5.2f} us')


STOPS = ('setup', 'save', 'compact')


def measure_save(count: int, directory: Path, rounds: int, stop_after: str) -> None:
    """The daemon's save of a tick of `count` new bindings, then their snapshot rewrite (see the module's text)."""
    from bench_lma import make_lma, pbu, register

    from pmiprouter.runtime.gc_tuning import HeapSettler
    from pmiprouter.runtime.lma_service import LmaService

    lma = make_lma(count)
    register(lma, (pbu(i) for i in range(count)), 1_790_000_000.0, step=0.000_137)
    ids = [entry.binding_id for entry in lma.bindings()]
    service = LmaService.__new__(LmaService)  # only what save touches: no reactor, sockets or data plane
    service.engine = lma
    service.heap = HeapSettler(lambda: 0)  # the collector's freezes are not the journal's cost
    service.state = StateFile(directory / 'lma-save.json')
    if stop_after == 'setup':
        return
    best = float('inf')
    for generation in range(rounds):
        for path in directory.iterdir():  # each round journals N bindings new to it
            path.unlink()
        service.journal = StateJournal(service.state, lambda job: succeed(job()))
        service.journal.start(1, {}, generation)
        service.journal.compacting = True  # the save alone; the snapshot rewrite is timed below
        lma.dirty.update(ids)
        service.saved_revision = -1
        start = time.perf_counter()
        service.save()
        best = min(best, time.perf_counter() - start)
        assert len(service.journal.records) == count and not lma.dirty
    print(f'save of a tick of {count:,} new bindings (rows + journal append, fsync): '
          f'{best / count * 1e6:5.2f} us per binding (best of {rounds})')
    if stop_after == 'save':
        return
    start = time.perf_counter()
    service.journal.compact(1)
    rewrite = time.perf_counter() - start
    service.journal.close()
    assert service.journal.compactions == 1 and service.state.path.stat().st_size > count * 200
    print(f'snapshot rewrite of those {count:,} rows (in a worker thread):               '
          f'{rewrite / count * 1e6:5.2f} us per row')


def collected(count: int, stop_after: str) -> int:
    """The instructions callgrind counts in a run of --save `count` that stops after `stop_after`."""
    command = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', sys.executable, __file__,
               '--save', str(count), '--rounds', '1', '--stop-after', stop_after]
    environment = dict(os.environ, PYTHONHASHSEED='0')  # str hashes (dict and set orders) as in every run
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode:
        raise RuntimeError(f'{" ".join(command)} failed: {result.stderr[-2000:]}')
    match = re.search(r'Collected : (\d+)', result.stderr)
    if match is None:
        raise RuntimeError(f'no callgrind total in: {result.stderr[-500:]}')
    return int(match.group(1))


def measure_instructions(small: int, large: int) -> None:
    totals = {(count, stop): collected(count, stop) for count in (small, large) for stop in STOPS}
    for stop in STOPS:
        print(f'{stop:>8}: {totals[(small, stop)]:,} / {totals[(large, stop)]:,} instructions at {small:,} / {large:,}')
    span = large - small
    for phase, before in (('save', 'setup'), ('compact', 'save')):
        extra = (totals[(large, phase)] - totals[(large, before)]) - (totals[(small, phase)] - totals[(small, before)])
        name = 'save (rows + journal append)' if phase == 'save' else 'snapshot rewrite'
        print(f'{name}: {extra / span:,.0f} instructions per binding')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--bindings', type=int, nargs='+', default=[100_000, 1_000_000])
    parser.add_argument('--changes', type=int, default=5_000)
    parser.add_argument('--rows', type=int, metavar='N', help='only the per-binding cost of N real bindings\' rows')
    parser.add_argument('--save', type=int, metavar='N', help="only the daemon's save of a tick of N new bindings")
    parser.add_argument('--rounds', type=int, default=5, help='--save: rounds, the fastest is reported')
    parser.add_argument('--stop-after', choices=STOPS, default='compact', help='--save: end the run after this phase')
    parser.add_argument('--callgrind', type=int, nargs=2, metavar=('N1', 'N2'),
                        help='instructions per binding of the save and the snapshot rewrite (runs --save under callgrind)')
    parser.add_argument('--dir', type=Path, help='where to write (default: a temporary directory)')
    args = parser.parse_args()
    if args.callgrind:
        measure_instructions(*args.callgrind)
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        if args.rows:
            measure_rows(args.rows, Path(work))
            return 0
        if args.save:
            measure_save(args.save, Path(work), args.rounds, args.stop_after)
            return 0
        for bindings in args.bindings:
            measure(bindings, args.changes, Path(work))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
