"""Binding revocation and MAG restarts between real daemons in network namespaces.

The topology of test_mag_netns (MN -- MAG -- LMA, memory data plane): the MN's own kernel
gets its home prefix by SLAAC; then
- `clear ipv6 mobile pmipv6 lma binding all` on the LMA's shell sends a BRI (RFC 5846), the
  MAG answers, drops the binding and withdraws the prefix and default route from the MN;
- the MAG daemon restarts, restores its Binding Update List from its state file, probes
  the MN (NUD) and renews the binding.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pmiprouter.runtime.state import StateFile
from tests.integration.test_lma_netns import ROOT, ip, wait_for
from tests.integration.test_mag_netns import mn_addresses, start, topology  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]


def shell(socket: Path, commands: str) -> str:
    """Run commands on a daemon's shell over its control socket."""
    out = subprocess.run(
        [sys.executable, '-m', 'pmiprouter', 'cli', '--socket', str(socket)],
        input=commands.encode(), capture_output=True, cwd=ROOT, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.decode(errors='replace')


def mn_routes(ns: str) -> str:
    return subprocess.run(['ip', '-n', ns, '-6', 'route'], capture_output=True, text=True, check=True).stdout


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f'timed out waiting for {what}')


def attached(topology: dict[str, Any]) -> None:  # noqa: F811 - the fixture's value
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'up')
    wait_until(lambda: 'inet6 2001:db8:aaaa:' in mn_addresses(topology['mn']), 20, 'the HNP on the MN')
    wait_until(lambda: 'default via fe80::200:5eff:fe00:5213' in mn_routes(topology['mn']), 10, 'the default route')


def test_clearing_on_the_lma_revokes_the_binding_at_the_mag(topology: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    attached(topology)
    lma, mag = topology['processes']
    out = shell(tmp_path / 'lma-state.sock', 'clear ipv6 mobile pmipv6 lma binding all\n')
    assert 'Cleared 1 binding' in out, out
    wait_for(mag, 'binding-revoked', 15)  # the MAG got the BRI and dropped the entry
    wait_for(lma, 'revocation-acknowledged', 15)  # and its BRA reached the LMA
    # The RA with router lifetime 0 took the MN's default route away; the prefix is deprecated.
    wait_until(lambda: 'default via fe80::200:5eff:fe00:5213' not in mn_routes(topology['mn']), 10, 'the route withdrawn')
    assert 'deprecated' in mn_addresses(topology['mn'])
    assert 'Total number of bindings: 0' in shell(tmp_path / 'mag-state.sock', 'show ipv6 mobile pmipv6 mag binding\n')
    assert 'Total number of bindings: 0' in shell(tmp_path / 'lma-state.sock', 'show ipv6 mobile pmipv6 lma binding\n')
    stats = shell(tmp_path / 'lma-state.sock', 'show ipv6 mobile pmipv6 lma stats\n')
    assert 'BRI' in stats and 'BRA' in stats, stats


def test_clearing_on_the_mag_deregisters(topology: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    attached(topology)
    lma, _ = topology['processes']
    out = shell(tmp_path / 'mag-state.sock', 'clear ipv6 mobile pmipv6 mag binding all\n')
    assert 'Cleared 1 binding' in out, out
    wait_for(lma, 'session-deregistered', 15)


def test_mag_restart_restores_and_renews_the_binding(topology: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    attached(topology)
    mag = topology['processes'][1]
    mag.terminate()  # SIGTERM: the state file is written on the way out
    mag.wait(10)
    _counter, records = StateFile(tmp_path / 'mag-state' / 'mag-MAG1.json').load()  # snapshot and journal
    assert [r['kind'] for r in records if r.get('kind') == 'entry'] == ['entry']
    again = start(topology['mag'], tmp_path / 'mag.conf', tmp_path / 'mag-state')
    topology['processes'][1] = again  # the fixture stops it

    def renewed() -> bool:
        text = shell(tmp_path / 'mag-state.sock', 'show ipv6 mobile pmipv6 mag stats\n')
        return 'renewed' in text and 'entry-restored' in text

    wait_until(renewed, 20, 'the NUD probe and the renewal after the restart')
    binding = shell(tmp_path / 'mag-state.sock', 'show ipv6 mobile pmipv6 mag binding\n')
    assert 'registered' in binding and 'Total number of bindings: 1' in binding, binding
