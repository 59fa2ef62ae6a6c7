"""Topology files: the default one is the default lab, others build valid configs, and every
mistake is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmiprouter.config.load import load_text
from pmiprouter.lab.configs import configs
from pmiprouter.lab.topology import Lab
from pmiprouter.lab.topology_file import TopologyError, load_topology, parse_topology

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / 'conf' / 'lab' / 'default.topology'

THREE_MAGS = '''
[lab]
transport = gre
hnp-pool = 2001:db8:bbbb::/48
[cn]
ipv6 = 2001:db8:c1::10/64
ipv4 = 203.0.113.10/24
[lma]
ipv6 = 2001:db8:99::1/64
ipv4 = 10.99.0.1/24
[mag north]
ipv6 = 2001:db8:99::11
ipv4 = 10.99.0.11
[mag south]
ipv6 = 2001:db8:99::12
ipv4 = 10.99.0.12
[mag east]
ipv6 = 2001:db8:99::13
ipv4 = 10.99.0.13
[mn phone]
type = dual
mac = 02:aa:00:00:00:01
mag = south
links = south, east
[mn sensor]
type = ipv6
mac = 02:aa:00:00:00:02
mag = north
'''


def test_the_default_file_is_the_default_lab() -> None:
    assert load_topology(DEFAULT) == Lab()


def test_a_three_mag_topology_and_its_router_configs() -> None:
    lab = parse_topology(THREE_MAGS, 'three.topology', prefix='pmt-')
    assert list(lab.mags) == ['north', 'south', 'east'] and lab.encap == 'gre-ipv6' and lab.prefix == 'pmt-'
    assert lab.cn_gateway6 == '2001:db8:c1::1' and lab.cn_gateway4 == '203.0.113.1'  # the link's first address
    phone = lab.mobile_node('phone')
    assert lab.links_of(phone) == ['south', 'east'] and lab.links_of(lab.mobile_node('sensor')) == ['north', 'south', 'east']
    assert lab.air_port('east', 'phone') == '3phone' and len(lab.access_ifname('north', 'sensor')) <= 15
    rendered = configs(lab)
    assert set(rendered) == {'lma', 'north', 'south', 'east'}
    for node, text in rendered.items():
        assert load_text(text, node).ok, node
    assert 'north-phone' not in rendered['north'] and 'east-phone' in rendered['east']  # only its links


@pytest.mark.parametrize(('text', 'line', 'words'), [
    ('[lab]\ntransport = carrier-pigeon\n', 2, "transport: 'carrier-pigeon' is not one of ipv6, ipv4-udp, gre"),
    ('[lab]\ncolour = blue\n', 2, "unknown key 'colour'"),
    ('[mn phone]\ntype = dual\nmac = 03:00:00:00:00:01\nmag = mag1\n', 3, 'is not a unicast MAC address'),
    ('[mn phone]\ntype = tablet\n', 2, "type: 'tablet' is not one of dual, ipv4, ipv6"),
    ('[mn phone]\nmag = nowhere\n', 2, 'mag: no [mag nowhere]'),
    ('[mag m1]\nipv6 = 10.0.0.1\n', 2, "ipv6: '10.0.0.1' is not an IPv6 address"),
    ('[mag m1]\nipv6 = 2001:db8:77::1\n', 2, "is not on the LMA's core network 2001:db8:12::/64"),
    ('[router r1]\n', 1, 'unknown section [router]'),
    ('[mag averyveryverylongname]\n', 1, 'a name is a lower-case letter'),
    ('[lma]\nipv6 = 2001:db8:12::9\n', 1, '[lma] given twice'),
    ('[cn]\njust words\n', 2, 'expected "key = value"'),
])
def test_errors_name_the_file_and_line(text: str, line: int, words: str) -> None:
    """A mistake added to a correct file (the default one, without its [lab] section) is
    reported with the file name and its own line number."""
    base = DEFAULT.read_text()
    if text.startswith('[lab]'):  # the default's own [lab] section would make it a second one
        base = '[cn]' + base.split('[cn]', 1)[1]
    offset = base.count('\n')
    with pytest.raises(TopologyError) as caught:
        parse_topology(base + text, 'my.topology')
    message = str(caught.value)
    assert f'my.topology:{offset + line}: ' in message and words in message, message


def test_a_key_outside_any_section() -> None:
    with pytest.raises(TopologyError, match=r'^t:1: ipv6: outside a section'):
        parse_topology('ipv6 = 2001:db8::1\n', 't')


def test_every_error_is_reported_at_once_and_missing_sections_named() -> None:
    with pytest.raises(TopologyError) as caught:
        parse_topology('[lab]\ntransport = x\ndhcp = maybe\n', 'bad.topology')
    lines = str(caught.value).splitlines()
    assert any('bad.topology:2:' in l for l in lines) and any('bad.topology:3:' in l for l in lines)
    for missing in ('no [cn]', 'no [lma]', 'no [mag NAME]', 'no [mn NAME]'):
        assert any(missing in l for l in lines), lines


def test_duplicate_names_macs_and_missing_keys() -> None:
    base = DEFAULT.read_text()
    with pytest.raises(TopologyError) as caught:
        parse_topology(base + '[mn mn1]\ntype = dual\nmac = 02:00:00:00:01:02\nmag = mag1\n[mag mag3]\nipv6 = 2001:db8:12::9\n', 't')
    message = str(caught.value)
    assert 'the name mn1 is used twice' in message and "is also mn2's" in message and '[mag mag3] needs ipv4' in message


def test_an_unreadable_file_is_a_topology_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match='cannot read'):
        load_topology(tmp_path / 'absent.topology')


def test_lab_up_with_a_bad_topology_exits_1_with_the_errors(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / 'bad.topology'
    bad.write_text('[lab]\ntransport = ipv5\n')
    out = subprocess.run([sys.executable, '-m', 'pmiprouter', 'lab', 'show-config', 'lma', '--topology', str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and f'{bad}:2: [lab] transport' in out.stderr
    good = subprocess.run([sys.executable, '-m', 'pmiprouter', 'lab', 'show-config', 'mag2', '--topology', str(DEFAULT)],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0 and 'ipv6 mobile pmipv6-mag MAG2' in good.stdout
