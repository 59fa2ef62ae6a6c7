"""The lab in DHCP relay mode (`dhcp = relay`): the MAGs relay DHCPv4 to a dnsmasq behind
the LMA, and an unmodified client gets the home address the LMA assigned."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator

import pytest

from pmiprouter.lab import runner
from pmiprouter.lab.topology import Lab
from tests.lab.running import running_lab

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('busybox') is None or shutil.which('dnsmasq') is None,
                       reason='needs root, busybox and dnsmasq'),
]


@pytest.fixture(scope='module')
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(dataclasses.replace(Lab(prefix='pmr-'), dhcp='relay'), tmp_path_factory.mktemp('relay') / 'run') as lab:
        yield lab


def test_ipv4_mn_gets_its_home_address_through_the_relay_and_talks(lab: Lab) -> None:
    mn2 = lab.mobile_node('mn2')
    address = runner.dhcp(lab, 'mn2')
    assert address is not None and address == lab.home_address(mn2)
    assert 'DHCPACK' in runner.log_text('dhcp')  # the real server answered, through the MAG's relay
    assert runner.in_ns(lab, 'mn2', 'ping', '-4', '-c', '2', '-i', '0.2', '-W', '1', lab.cn4).returncode == 0
    assert runner.in_ns(lab, 'cn', 'ping', '-4', '-c', '2', '-i', '0.2', '-W', '1', address).returncode == 0
