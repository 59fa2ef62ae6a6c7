"""The real daemon in a network namespace answers a codec-built PBU sender over real sockets.

Two namespaces joined by a veth pair: `pmiprouter run` (memory data plane) in one, the PBU
sender in the other. Register, renew, hand over to a second MAG address, de-register, and
a rejection; then the same over IPv4/UDP 5436.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]

CONFIG = """\
hostname lma1
ipv6 mobile pmipv6-domain D
 mag MAG1
  ipv6-address 2001:db8:12::1
  ipv4-address 192.0.2.1
 mag MAG2
  ipv6-address 2001:db8:12::3
 nai mn1@example.com
  service dual
 nai mn2@example.com
  service dual
 nai mn3@example.com
  service ipv6
!
ipv6 mobile pmipv6-lma LMA1 domain D
 address ipv6 2001:db8:12::2
 address ipv4 192.0.2.2
 pool ipv6 P prefix 2001:db8:aaaa::/48 pfxlen 64
 pool ipv4 V prefix 10.1.0.0/24
!
end
"""


def ip(*args: str) -> None:
    subprocess.run(['ip', *args], check=True, capture_output=True)


def start_daemon(ns: str, config: Path, state_dir: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ['ip', 'netns', 'exec', ns, sys.executable, '-m', 'pmiprouter', 'run', '-c', str(config),
         '--dataplane', 'memory', '--state-dir', str(state_dir), '--control-socket', str(state_dir.parent / 'cli.sock')],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,  # unbuffered: select() must see every line still unread (a buffered reader hides them)
        cwd=ROOT,
    )
    try:
        wait_for(process, 'ready', 20)
    except AssertionError:
        process.kill()
        process.wait(10)
        raise
    return process


@pytest.fixture(scope='module')
def lma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    ns_lma, ns_mag = f'pt-lma-{tag}', f'pt-mag-{tag}'
    ip('netns', 'add', ns_lma)
    ip('netns', 'add', ns_mag)
    try:
        ip('link', 'add', f'vl{tag}', 'netns', ns_lma, 'type', 'veth', 'peer', 'name', f'vm{tag}', 'netns', ns_mag)
        for ns, dev, addrs in ((ns_lma, f'vl{tag}', ['2001:db8:12::2/64', '192.0.2.2/24']), (ns_mag, f'vm{tag}', ['2001:db8:12::1/64', '2001:db8:12::3/64', '192.0.2.1/24'])):
            for addr in addrs:
                ip('-n', ns, 'addr', 'add', addr, 'dev', dev, *(['nodad'] if ':' in addr else []))
            ip('-n', ns, 'link', 'set', dev, 'up')
            ip('-n', ns, 'link', 'set', 'lo', 'up')
        workdir = tmp_path_factory.mktemp('lma')
        config = workdir / 'startup-config'
        config.write_text(CONFIG)
        handle: dict[str, Any] = {'mag_ns': ns_mag, 'lma_ns': ns_lma, 'config': config, 'state': workdir / 'state'}
        handle['process'] = start_daemon(ns_lma, config, handle['state'])
        yield handle
    finally:
        if 'handle' in locals() and handle.get('process') is not None:
            handle['process'].terminate()
            handle['process'].wait(10)
        ip('netns', 'del', ns_lma)
        ip('netns', 'del', ns_mag)


def wait_for(process: subprocess.Popen[bytes], text: str, timeout: float) -> None:
    """Read the daemon's output until `text` appears (no fixed sleep)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode(errors='replace')
            seen.append(line)
            if text in line:
                return
        if process.poll() is not None:
            break
    raise AssertionError(f'daemon did not say {text!r}: {"".join(seen)}')


def client(ns: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = subprocess.run(
        ['ip', 'netns', 'exec', ns, sys.executable, '-m', 'tests.integration.pbu_client', json.dumps(steps)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_register_renew_handover_deregister_over_ipv6(lma: dict[str, str]) -> None:
    """The full life of a binding over raw MH sockets, plus a rejection for an unknown MN."""
    mag1 = {'src': '2001:db8:12::1', 'dst': '2001:db8:12::2', 'nai': 'mn1@example.com'}
    mag2 = {**mag1, 'src': '2001:db8:12::3'}
    first = client(lma['mag_ns'], [{**mag1, 'seq': 1}])[0]
    assert first['status'] == 0 and first['lifetime'] == 600 and len(first['hnps']) == 1
    hnp = first['hnps']
    steps = [
        {**mag1, 'seq': 2, 'hnps': hnp, 'hi': 5},  # renewal
        {**mag2, 'seq': 3, 'hnps': hnp, 'hi': 3},  # handover to MAG2
        {**mag1, 'seq': 4, 'hnps': hnp, 'hi': 4, 'lifetime': 0, 'timeout': 1.0},  # old MAG: ignored, no PBA
        {**mag2, 'seq': 5, 'hnps': hnp, 'hi': 4, 'lifetime': 0},  # serving MAG de-registers
        {**mag1, 'seq': 6, 'nai': 'stranger@example.com'},
    ]
    renew, handover, ignored, dereg, stranger = client(lma['mag_ns'], steps)
    assert renew['status'] == 0 and renew['hnps'] == hnp
    assert handover['status'] == 0 and handover['hnps'] == hnp
    assert ignored['status'] is None
    assert dereg['status'] == 0 and dereg['lifetime'] == 0
    assert stranger['status'] == 153


def test_register_over_ipv4_udp(lma: dict[str, str]) -> None:
    """A PBU over IPv4/UDP 5436 with an IPv4 HoA Request is answered over UDP with an address."""
    step = {'src': '192.0.2.1', 'dst': '192.0.2.2', 'nai': 'mn2@example.com', 'seq': 1, 'ipv4': '0.0.0.0', 'udp4': True}
    (pba,) = client(lma['mag_ns'], [step])
    assert pba['status'] == 0 and pba['ipv4'] == '10.1.0.2' and len(pba['hnps']) == 1


def test_bindings_survive_a_restart(lma: dict[str, Any]) -> None:
    """SIGTERM, start again: the binding is restored, so the next MN gets the next prefix."""
    mag1 = {'src': '2001:db8:12::1', 'dst': '2001:db8:12::2'}
    (first,) = client(lma['mag_ns'], [{**mag1, 'nai': 'mn1@example.com', 'seq': 10}])
    assert first['status'] == 0
    lma['process'].terminate()
    assert lma['process'].wait(10) == 0
    assert (lma['state'] / 'lma-LMA1.json').exists()
    lma['process'] = start_daemon(lma['lma_ns'], lma['config'], lma['state'])
    (second,) = client(lma['mag_ns'], [{**mag1, 'nai': 'mn3@example.com', 'seq': 11}])
    # Without the restored bindings the pool would hand out its first prefix (mn1's) again.
    assert second['status'] == 0 and second['hnps'] != first['hnps']


def test_sighup_reloads_the_configuration(lma: dict[str, Any]) -> None:
    """SIGHUP admits a newly configured MN; a broken file is refused and changes nothing."""
    import signal

    mag1 = {'src': '2001:db8:12::1', 'dst': '2001:db8:12::2', 'nai': 'mn4@example.com'}
    (before,) = client(lma['mag_ns'], [{**mag1, 'seq': 20}])
    assert before['status'] == 153
    config: Path = lma['config']
    config.write_text(CONFIG.replace(' nai mn3@example.com', ' nai mn4@example.com\n  service ipv6\n nai mn3@example.com'))
    lma['process'].send_signal(signal.SIGHUP)
    wait_for(lma['process'], 'configuration', 10)
    (after,) = client(lma['mag_ns'], [{**mag1, 'seq': 21}])
    assert after['status'] == 0
    config.write_text('ipv6 mobile pmipv6-lma\n')
    lma['process'].send_signal(signal.SIGHUP)
    wait_for(lma['process'], 'refused', 10)
    (still,) = client(lma['mag_ns'], [{**mag1, 'seq': 22, 'hnps': after['hnps'], 'hi': 5}])
    assert still['status'] == 0


def test_daemon_without_roles_runs_idle_and_refuses_bad_config(tmp_path: Path) -> None:
    """A config without roles starts idle; one with errors is refused before anything starts."""
    empty = tmp_path / 'empty'
    empty.write_text('hostname fresh\nend\n')
    process = subprocess.Popen(
        [sys.executable, '-m', 'pmiprouter', 'run', '-c', str(empty), '--state-dir', str(tmp_path / 's'),
         '--control-socket', str(tmp_path / 'cli.sock')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, cwd=ROOT,
    )
    try:
        wait_for(process, 'idle', 20)
    finally:
        process.terminate()
        assert process.wait(10) == 0
    broken = tmp_path / 'broken'
    broken.write_text('ipv6 mobile pmipv6-lma\n')
    out = subprocess.run([sys.executable, '-m', 'pmiprouter', 'run', '-c', str(broken)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and '% Incomplete command.' in out.stderr and 'not starting' in out.stderr
