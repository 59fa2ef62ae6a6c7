"""Live configuration of roles on a running daemon: add, reconfigure, replace, refuse, remove.

The daemon runs in a network namespace of its own (veth access interfaces for the MAG),
driven through the control socket as an operator would; SIGHUP reload included.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Daemon, daemon_in_netns, free_port
from .test_control_socket import converse

NETNS = f'pmt8live{os.getpid()}'

MAG_BLOCK = (
    'configure terminal\n'
    'ipv6 mobile pmipv6-domain D\n lma LMA1\n  ipv6-address 2001:db8:2::1\n exit\nexit\n'
    'ipv6 mobile pmipv6-mag MAG1 domain D\n address ipv6 2001:db8:1::1\n interface acc0\n lma LMA1 D\nend\n'
)


@pytest.fixture()
def netns_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon (LMA1) in its own namespace with veth links acc0 and acc1."""
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespace, raw sockets)')
    links = [command for name in ('acc0', 'acc1') for command in (
        ('link', 'add', name, 'type', 'veth', 'peer', 'name', f'{name}p'), ('link', 'set', f'{name}p', 'up'),
        ('link', 'set', name, 'up'))]
    with daemon_in_netns(tmp_path, free_port(), NETNS, *links) as daemon:
        yield daemon


def _count(daemon: Daemon, text: str) -> int:
    return sum(text in line for line in list(daemon.lines))


def _wait_count(daemon: Daemon, text: str, count: int, timeout: float = 20) -> int:
    """The daemon's log is read by another thread: wait (bounded) until `text` was logged `count` times."""
    deadline = time.monotonic() + timeout
    while _count(daemon, text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _count(daemon, text)


def test_mag_added_reconfigured_replaced_refused_removed(netns_daemon: Daemon) -> None:
    """A MAG typed in starts; timers go into it live; a new access interface replaces it;
    a bad interface is refused with nothing changed; `no` stops it."""
    daemon = netns_daemon
    assert '%' not in converse(daemon, MAG_BLOCK)
    daemon.wait_for('MAG MAG1 started by a configuration change', 20)
    assert 'MAG Identifier: MAG1' in converse(daemon, 'show ipv6 mobile pmipv6 mag globals\n')

    converse(daemon, 'configure terminal\nipv6 mobile pmipv6-mag MAG1 domain D\nbinding lifetime 600\nend\n')
    assert 'Binding lifetime: 600 sec' in converse(daemon, 'show ipv6 mobile pmipv6 mag globals\n')
    assert _count(daemon, 'MAG MAG1 started by a configuration change') == 1  # reconfigured, not restarted

    converse(daemon, 'configure terminal\nipv6 mobile pmipv6-mag MAG1 domain D\ninterface acc1\nend\n')
    daemon.wait_for('MAG MAG1 stopped by a configuration change', 20)
    interfaces = converse(daemon, 'show ipv6 mobile pmipv6 mag interfaces\n')
    assert 'acc0' in interfaces and 'acc1' in interfaces and ' down ' not in interfaces

    refused = converse(daemon, 'configure terminal\nipv6 mobile pmipv6-mag MAG1 domain D\ninterface nosuch9\nend\n')
    assert '% Change refused, nothing changed' in refused
    assert 'nosuch9' not in converse(daemon, 'show running-config\n')
    interfaces = converse(daemon, 'show ipv6 mobile pmipv6 mag interfaces\n')
    assert 'acc1' in interfaces and 'nosuch9' not in interfaces
    assert 'Binding lifetime: 600 sec' in converse(daemon, 'show ipv6 mobile pmipv6 mag globals\n')

    converse(daemon, 'configure terminal\nno ipv6 mobile pmipv6-mag MAG1\nend\n')
    assert 'MAG1' not in converse(daemon, 'show ipv6 mobile pmipv6 mag globals\n')
    assert 'LMA Identifier: LMA1' in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')


def test_lma_added_removed_and_sighup_reload(netns_daemon: Daemon) -> None:
    """A second LMA starts when typed and stops on `no`; SIGHUP, then `copy startup-config
    running-config`, bring the saved one back."""
    daemon = netns_daemon
    add = 'configure terminal\nipv6 mobile pmipv6-lma LMA2 domain D\naddress ipv6 2001:db8:3::1\nend\n'
    assert '%' not in converse(daemon, add)
    daemon.wait_for('LMA LMA2 started by a configuration change', 20)
    assert 'LMA Identifier: LMA2' in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')
    assert '[OK]' in converse(daemon, 'write memory\n')

    converse(daemon, 'configure terminal\nno ipv6 mobile pmipv6-lma LMA2\nend\n')
    daemon.wait_for('LMA LMA2 stopped by a configuration change', 20)
    assert 'LMA2' not in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')

    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGHUP)  # the startup-config still has LMA2
    daemon.wait_for(f'configuration {daemon.config} reloaded', 20)
    assert _wait_count(daemon, 'LMA LMA2 started by a configuration change', 2) == 2
    assert 'LMA Identifier: LMA2' in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')
    assert 'pmipv6-lma LMA2' in converse(daemon, 'show running-config\n')

    converse(daemon, 'configure terminal\nno ipv6 mobile pmipv6-lma LMA2\nend\n')
    assert 'LMA2' not in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')
    copied = converse(daemon, 'copy startup-config running-config\n\n')  # Enter takes [running-config]
    assert 'bytes copied' in copied, copied
    assert _wait_count(daemon, 'LMA LMA2 started by a configuration change', 3) == 3
    assert 'LMA Identifier: LMA2' in converse(daemon, 'show ipv6 mobile pmipv6 lma globals\n')


def test_sighup_with_a_role_that_cannot_start_changes_nothing(netns_daemon: Daemon) -> None:
    """A startup-config whose new MAG cannot start is refused as a whole at SIGHUP."""
    daemon = netns_daemon
    text = daemon.config.read_text().replace(
        'end\n', MAG_BLOCK.replace('configure terminal\n', '').replace('acc0', 'nosuch9').replace('end\n', '') + 'end\n')
    daemon.config.write_text(text)
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGHUP)
    assert 'the running configuration is unchanged' in daemon.wait_for(f'reload of {daemon.config} refused', 20)
    assert 'pmipv6-mag' not in converse(daemon, 'show running-config\n')
    assert 'MAG1' not in converse(daemon, 'show ipv6 mobile pmipv6 mag globals\n')
