"""The lab's move: the radio goes down over netlink, timed to the kernel's confirmation."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pmiprouter.lab.topology import set_link_up

pytestmark = [pytest.mark.needs_root, pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespaces)')]


def is_up(ns: str, ifname: str) -> bool:
    shown = subprocess.run(['ip', '-n', ns, 'link', 'show', ifname], capture_output=True, text=True, check=True).stdout
    return 'UP' in shown.split('>')[0].split('<')[1].split(',')


def test_radio_goes_down_and_up_inside_the_namespace_with_the_moment_returned(netns: str) -> None:
    subprocess.run(['ip', '-n', netns, 'link', 'add', 'mn1-radio', 'type', 'veth', 'peer', 'name', 'peer0'], check=True)
    before = time.time()
    set_link_up(netns, 'mn1-radio', True)
    assert is_up(netns, 'mn1-radio')
    moved_at = set_link_up(netns, 'mn1-radio', False)
    assert before <= moved_at <= time.time()
    assert not is_up(netns, 'mn1-radio')


def test_a_missing_device_or_namespace_is_an_error(netns: str) -> None:
    with pytest.raises(OSError, match='nosuch0'):
        set_link_up(netns, 'nosuch0', False)
    with pytest.raises(OSError):  # no such namespace
        set_link_up(f'{netns}-absent', 'lo', False)
