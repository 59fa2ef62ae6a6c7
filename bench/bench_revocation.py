#!/usr/bin/env python3
"""Binding revocation and MAG state-file figures (pure engines; the state file on a temp dir).

- LMA: `clear ... lma binding all` on N bindings (BRIs built per second), then N BRAs
  handled (bindings deleted and freed per second).
- MAG: exporting and writing the Binding Update List of M registered entries (one save
  of the state file, the cost a changed tick pays).
Run: `.venv/bin/python bench/bench_revocation.py [--bindings N] [--entries M]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_lma import MAG, LMAA, make_lma, pbu, register  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402

from pmiprouter.core.actions import ApplyDataplane, SendMessage  # noqa: E402
from pmiprouter.core.events import DataplaneApplied, MessageReceived  # noqa: E402
from pmiprouter.core.mag import MobileAccessGateway  # noqa: E402
from pmiprouter.core.mag_events import MobileNodeAttached  # noqa: E402
from pmiprouter.core.mag_policy import MagProfile  # noqa: E402
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingUpdate  # noqa: E402
from pmiprouter.runtime.mag_state import MagState  # noqa: E402
from tests.core.mag_harness import MagHarness, mag_policy  # noqa: E402


def bench_lma(count: int) -> None:
    lma = make_lma(count)
    register(lma, [pbu(i) for i in range(count)], 1000.0)
    start = time.perf_counter()
    revoked, actions = lma.revoke(None, 1001.0)
    elapsed = time.perf_counter() - start
    bris = [a.message for a in actions if isinstance(a, SendMessage)]
    assert revoked == count == len(bris)
    print(f'LMA revoke all: {count / elapsed:,.0f} BRIs/s ({count:,} bindings, {elapsed * 1000:.0f} ms)')
    start = time.perf_counter()
    for bri in bris:
        lma.handle(MessageReceived(MAG, LMAA, BindingRevocationAcknowledgement(0, bri.sequence)), 1001.5)
    elapsed = time.perf_counter() - start
    assert len(lma.cache) == 0
    print(f'LMA BRA handled: {count / elapsed:,.0f}/s (binding deleted, addresses and tunnel freed)')


def bench_mag_save(entries: int) -> None:
    macs = [(0x020000000000 + i).to_bytes(6, 'big') for i in range(entries)]
    policy = mag_policy(profiles={mac: MagProfile(mac, nai=f'mn{i}@example.com') for i, mac in enumerate(macs)})
    h = MagHarness(policy=policy)
    mag: MobileAccessGateway = h.mag
    for mac in macs:
        for action in mag.handle(MobileNodeAttached('eth1', mac), 1000.0):
            if isinstance(action, SendMessage) and isinstance(action.message, BindingUpdate):
                h.sent.append((1000.0, action.message))
        for action in h.reply(now=1000.0):
            if isinstance(action, ApplyDataplane):
                mag.handle(DataplaneApplied(action.ticket), 1000.0)
    with tempfile.TemporaryDirectory() as directory:
        state = MagState(Path(directory) / 'mag.json')
        start = time.perf_counter()
        state.start(mag, Clock(), 1000.0)  # restores nothing, writes the first snapshot
        first = time.perf_counter() - start
        mag.revision += 1
        start = time.perf_counter()
        state.save()  # the engine moved but no entry changed: fingerprints compared, nothing appended
        idle = time.perf_counter() - start
        entry = mag.entries()[0]
        entry.expires_at += 600  # one renewal
        mag.revision += 1
        start = time.perf_counter()
        state.save()  # one entry re-encoded and appended to the journal
        one = time.perf_counter() - start
        state.stop()
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
    print(f'MAG state: {entries:,} entries, {size / 1024:,.0f} KiB; first snapshot {first * 1000:.1f} ms, '
          f'tick with nothing changed {idle * 1000:.1f} ms, one entry changed (a journal line) {one * 1000:.1f} ms')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--bindings', type=int, default=20_000)
    parser.add_argument('--entries', type=int, default=2_000)
    args = parser.parse_args()
    bench_lma(args.bindings)
    bench_mag_save(args.entries)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
