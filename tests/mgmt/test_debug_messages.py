"""`debug ipv6 mobile pmipv6 messages` over SSH sees every PBU and PBA of the running daemon,
those handled from their bytes (the common PBU) included: one RX line per PBU, one TX per PBA."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ADMIN_PW, ROOT, Daemon, config_text, daemon_in_netns, free_port

pytest.importorskip('paramiko')
NETNS = f'pmtdebug{os.getpid()}'
COUNT = 100


@pytest.fixture()
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """The daemon with 100 MN profiles in a namespace of its own; MAG and LMA addresses on its loopback."""
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespace, raw sockets)')
    port = free_port()
    profiles = ''.join(f' nai mn{i:03d}@example.com\n  service ipv6\n' for i in range(COUNT))
    (tmp_path / 'startup-config').write_text(config_text(port).replace(' nai mn1@example.com\n  service ipv6\n', profiles))
    addresses = [('addr', 'add', address, 'dev', 'lo') for address in ('2001:db8:1::1/128', '2001:db8:2::1/128')]
    with daemon_in_netns(tmp_path, port, NETNS, *addresses) as running:
        yield running


def test_every_pbu_and_pba_has_its_debug_line(daemon: Daemon) -> None:
    result = subprocess.run(
        ['ip', 'netns', 'exec', NETNS, sys.executable, '-m', 'tests.mgmt.debug_client', str(daemon.port), ADMIN_PW, str(COUNT)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen['statuses'] == [0] * COUNT
    received = [line for line in seen['lines'] if re.search(r'\bRX PBU\b', line)]
    sent = [line for line in seen['lines'] if re.search(r'\bTX PBA\b', line)]
    assert len(received) == COUNT and len(sent) == COUNT, '\n'.join(seen['lines'][:10])
    assert {re.search(r'mn=(mn\d+@example.com)', line).group(1) for line in received} == {  # type: ignore[union-attr]
        f'mn{i:03d}@example.com' for i in range(COUNT)}
    assert all('status=ACCEPTED' in line and 'from 2001:db8:1::1' not in line for line in sent)
    assert not any('TX PBU' in line for line in seen['lines'])  # a PBA is labelled as one
