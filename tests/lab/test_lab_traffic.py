"""On the lab: traffic both ways for every MN type, detach with full clean-up, and an LMA restart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pmiprouter.core.persistence import entry_from_record
from pmiprouter.lab import runner, topology
from pmiprouter.lab.topology import Lab
from pmiprouter.runtime.state import StateFile
from tests.lab.running import running_lab

pytestmark = [
    pytest.mark.slow,  # the full lab: run once, in the PyPI-versions run
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('busybox') is None, reason='needs root and busybox'),
]


def until(condition: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def ping(lab: Lab, node: str, version: str, address: str) -> bool:
    return runner.in_ns(lab, node, 'ping', f'-{version}', '-c', '2', '-i', '0.2', '-W', '1', address).returncode == 0


@pytest.fixture(scope='module')
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(Lab(prefix='pmx-'), tmp_path_factory.mktemp('lab') / 'run') as lab:
        yield lab


def test_ipv6_only_mn_both_ways(lab: Lab) -> None:
    """MN3 (IPv6-only, on MAG2) reaches the CN and the CN reaches MN3's SLAAC address."""
    assert until(lambda: runner.ipv6_address(lab, 'mn3') is not None)
    address = runner.ipv6_address(lab, 'mn3')
    assert until(lambda: ping(lab, 'mn3', '6', lab.cn6))
    assert ping(lab, 'cn', '6', address)  # type: ignore[arg-type]


def test_ipv4_only_mn_both_ways(lab: Lab) -> None:
    """MN2 (IPv4-only, on MAG1) gets its HoA by DHCP and talks with the CN both ways; it gets no HNP."""
    address = runner.dhcp(lab, 'mn2')
    assert address is not None and address.startswith('10.1.0.')
    assert ping(lab, 'mn2', '4', lab.cn4) and ping(lab, 'cn', '4', address)
    assert runner.ipv6_address(lab, 'mn2') is None


def test_dual_stack_mn_both_ways(lab: Lab) -> None:
    """MN1 (dual stack, on MAG1) has both addresses and traffic both ways on both."""
    assert until(lambda: runner.ipv6_address(lab, 'mn1') is not None)
    address4 = runner.dhcp(lab, 'mn1')
    address6 = runner.ipv6_address(lab, 'mn1')
    assert address4 and ping(lab, 'mn1', '4', lab.cn4) and ping(lab, 'cn', '4', address4)
    assert ping(lab, 'mn1', '6', lab.cn6) and ping(lab, 'cn', '6', address6)  # type: ignore[arg-type]


def test_lma_restart_restores_bindings_and_traffic_resumes(lab: Lab) -> None:
    """The LMA daemon is restarted: bindings come back from its state file and MN3's traffic flows again."""
    assert until(lambda: ping(lab, 'mn3', '6', lab.cn6))
    pid = int((runner.RUN_DIR / 'lma.pid').read_text())
    os.kill(pid, 15)
    os.waitpid(pid, 0)  # the fixture's process started it: reap it
    config = runner.RUN_DIR / 'lma.conf'
    log = (runner.RUN_DIR / 'lma.log').open('ab')
    process = subprocess.Popen(
        ['ip', 'netns', 'exec', lab.ns('lma'), sys.executable, '-m', 'pmiprouter', 'run', '-c', str(config), '--dataplane', 'auto',
         '--state-dir', str(runner.RUN_DIR / 'lma-state'), '--control-socket', str(runner.RUN_DIR / 'lma.sock')],
        stdout=log, stderr=subprocess.STDOUT,
    )
    (runner.RUN_DIR / 'lma.pid').write_text(str(process.pid))
    assert until(lambda: runner.log_text('lma').count('pmiprouter ready') >= 2, 30)
    restored = re.findall(r'state-restored bindings=(\d+)', runner.log_text('lma'))
    assert restored and int(restored[-1]) >= 1
    assert until(lambda: ping(lab, 'mn3', '6', lab.cn6), 10)


def test_detach_cleans_up_the_binding_routes_and_tunnel(lab: Lab) -> None:
    """MN3 leaves: MAG2 de-registers it; after MinDelayBeforeBCEDelete the LMA has no binding
    for it, and MAG2 no route. (The user-space LMA routes its whole pool into its TUN, ADR 0017:
    the MN's prefix is in its forwarder's table only, and its traffic stops with the binding.)"""
    address = runner.ipv6_address(lab, 'mn3')
    assert address is not None
    prefix = address.rsplit(':', 4)[0] + '::/64'  # MN3's HNP (EUI-64 address in a /64)

    def routes(node: str) -> str:
        return runner.in_ns(lab, node, 'ip', '-6', 'route', 'show', 'table', 'all').stdout

    assert prefix in routes('mag2') and prefix not in routes('lma')
    assert '2001:db8:aaaa::/48 dev pmiptun0' in routes('lma')  # the LMA's pool, one route for every MN
    topology.ip('-n', lab.ns('air'), 'link', 'set', '2mn3', 'down')  # MN3's access link on MAG2 loses its carrier
    assert until(lambda: 'session-deregistered mn=02:00:00:00:01:03' in runner.log_text('lma'), 10)
    assert not ping(lab, 'cn', '6', address)  # its traffic is dropped at once (RFC 5213 §5.3.5)
    assert until(lambda: 'entry-deleted mn=02:00:00:00:01:03' in runner.log_text('mag2'), 10)
    assert until(lambda: prefix not in routes('mag2'), 5)

    def lma_binding() -> bool:
        _counter, records = StateFile(runner.RUN_DIR / 'lma-state' / 'lma-LMA1.json').load()  # snapshot and journal
        return any(entry_from_record(record).mn_id.identifier.hex() == '020000000103' for record in records)

    assert lma_binding()  # held for MinDelayBeforeBCEDelete (10 s, RFC 5213 §9)...
    assert until(lambda: not lma_binding(), 15)  # ...then gone
