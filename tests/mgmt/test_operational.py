"""Operational commands on the pure session with a fake daemon: show, clear, debug, commit."""

from __future__ import annotations

import re

from pmiprouter.cli.session import Session

from .fakes import FakeControl, binding, online


def test_binding_brief_lists_each_binding_and_total() -> None:
    """`show ipv6 mobile pmipv6 lma binding` has one row per binding and a total."""
    session, _ = online()
    text = session.feed('show ipv6 mobile pmipv6 lma binding')
    assert 'mn1@example.com' in text and '2001:db8:aaaa::/64' in text
    assert 'Total number of bindings: 1' in text


def test_binding_abbreviated_nai_and_detail() -> None:
    """Abbreviations work and `nai NAI` shows only that MN, in detail."""
    control = FakeControl(bindings=[binding(), binding('mn2@example.com', 2)])
    session, _ = online(control)
    text = session.feed('sh ipv6 mob pm lma bi nai mn2@example.com')
    assert 'mn2@example.com' in text and 'mn1@example.com' not in text
    assert 'Total number of bindings: 1' in text
    assert 'Lifetime: 600 sec, remaining 590 sec' in session.feed('show ipv6 mobile pmipv6 lma binding detail')


def test_globals_tunnel_stats() -> None:
    """globals, tunnel and stats show the configuration, the tunnel and status codes by name."""
    session, _ = online()
    assert 'Registration lifetime: 3600 sec' in session.feed('show ipv6 mobile pmipv6 lma globals')
    assert '2001:db8:1::1' in session.feed('show ipv6 mobile pmipv6 lma tunnel')
    stats = session.feed('show ipv6 mobile pmipv6 lma stats')
    assert re.search(r'PBU\s+3', stats)
    assert 'MH socket drops (receive buffer full): 0' in stats  # a view without the counter: none dropped
    assert re.search(r'129 administratively prohibited\s+1', stats, re.I) or '129' in stats


def test_clear_binding_nai_and_all() -> None:
    """`clear ... binding nai` removes one; an unknown NAI is an error; `all` removes the rest."""
    control = FakeControl(bindings=[binding(), binding('mn2@example.com', 2)])
    session, _ = online(control)
    assert 'Cleared 1 binding' in session.feed('clear ipv6 mobile pmipv6 lma binding nai mn1@example.com')
    assert session.feed('clear ipv6 mobile pmipv6 lma binding nai mn1@example.com').startswith('% No binding')
    assert 'Cleared 1 binding' in session.feed('clear ipv6 mobile pmipv6 lma binding all')
    assert control.bindings == []


def test_clear_binding_of_one_mag() -> None:
    """`clear ... binding mag ADDRESS` clears every binding of that MAG (IPv6 or IPv4 Proxy-CoA);
    a MAG with none is an error, and a malformed address is refused by the parser."""
    control = FakeControl(bindings=[binding(), binding('mn2@example.com', 2)])
    session, _ = online(control)
    assert 'Cleared 2 bindings' in session.feed('clear ipv6 mobile pmipv6 lma binding mag 2001:db8:1::1')
    assert control.bindings == []
    assert session.feed('clear ipv6 mobile pmipv6 lma binding mag 192.0.2.9').startswith('% No binding with MAG 192.0.2.9')
    assert '% Invalid input' in session.feed('clear ipv6 mobile pmipv6 lma binding mag 2001:db8::zz')


def test_clear_stats_and_privilege() -> None:
    """clear needs privilege 15; at 15 it reaches the daemon."""
    session, control = online(privilege=1)
    assert '% Invalid input' in session.feed('clear ipv6 mobile pmipv6 lma stats')
    session.privilege = 15
    assert session.feed('clear ipv6 mobile pmipv6 lma stats') == ''
    assert control.cleared_stats == 1


def test_debug_and_undebug() -> None:
    """debug switches a category on, show debugging lists it, undebug all clears it; monitor toggles."""
    session, control = online()
    assert 'messages debugging is on' in session.feed('debug ipv6 mobile pmipv6 messages')
    assert 'messages' in session.feed('show debugging')
    session.feed('undebug all')
    assert control.debug == set()
    session.feed('terminal monitor')
    assert session.monitor
    session.feed('terminal no monitor')
    assert not session.monitor


def test_system_shows() -> None:
    """show users, clock, logging, history and version answer from the daemon."""
    session, _ = online()
    assert 'admin' in session.feed('show users')
    assert session.feed('show clock').strip() == '*00:00:00.000 UTC Thu Nov 27 2025'
    assert 'hello' in session.feed('show logging')
    assert 'show clock' in session.feed('show history')
    assert 'uptime is 1 hours, 2 minutes' in session.feed('show version')
    assert 'Failed logins: 2' in session.feed('show ip ssh')
    assert 'Listen addresses: all (::)' in session.feed('show ip ssh')


def test_show_ip_ssh_counts_keys_and_lists_addresses() -> None:
    """`show ip ssh` gives the listen addresses and how many pubkey-chain keys there are."""
    session, _ = online()
    for line in ('configure terminal', 'ip ssh listen-address 192.0.2.1', 'ip ssh pubkey-chain', 'username admin',
                 'key-hash ssh-rsa 8FB4F858DD7E5AFB372780EC653DB371', 'end'):
        session.feed(line)
    text = session.feed('show ip ssh')
    assert 'Listen addresses: 192.0.2.1' in text and 'Public keys: 1 (ip ssh pubkey-chain)' in text


def test_mag_commands_say_no_mag() -> None:
    """Without a MAG role, the MAG operational commands say so."""
    session, _ = online()
    assert session.feed('show ipv6 mobile pmipv6 mag binding').startswith('% No PMIPv6 MAG')


def test_offline_session_has_no_operational_commands() -> None:
    """Offline, the operational commands do not exist (the tree is the documented one)."""
    session = Session(privilege=15)
    assert '% Invalid input' in session.feed('show ipv6 mobile pmipv6 lma binding')


def test_config_change_is_committed_live() -> None:
    """A valid configuration change reaches the daemon at once."""
    session, control = online()
    session.feed('configure terminal')
    session.feed('ipv6 mobile pmipv6-lma LMA1 domain D')
    session.feed('bce lifetime 1200')
    assert control.commits and control.commits[-1].lmas[0].bce_lifetime_s == 1200
    assert control.applied is control.commits[-1]


def test_refused_change_leaves_config_unchanged() -> None:
    """When the daemon refuses a change, the command fails and the config is as it was."""
    session, control = online(FakeControl(refuse=True))
    before = control.running
    session.feed('configure terminal')
    text = session.feed('hostname other')
    assert text.startswith('% Change refused')
    assert session.config == before and session.prompt == 'lma1(config)#'


def test_incomplete_config_is_reported_on_end() -> None:
    """A config not valid yet is kept, and `end` says what keeps it from being applied."""
    session, _ = online()
    session.feed('configure terminal')
    session.feed('ipv6 mobile pmipv6-lma LMA2 domain D')
    text = session.feed('end')
    assert 'Not applied yet' in text and 'LMA LMA2 has no address' in text


def test_sessions_share_the_running_config() -> None:
    """A change made in one session is seen by another at its next command."""
    first, control = online()
    second, _ = online(control)
    first.feed('configure terminal')
    first.feed('hostname edge7')
    assert 'hostname edge7' in second.feed('show running-config')
    assert second.prompt == 'edge7#'


def _mag_control() -> FakeControl:
    """A fake daemon running one MAG with one registered MN."""
    from pmiprouter.cli.handlers.operational import MagEntryView, MagView
    from pmiprouter.config.model import AccessInterface, MagConfig

    mag = MagConfig('MAG1', 'D', interfaces=(AccessInterface('eth1'), AccessInterface('eth2', 'ieee-802.11')),
                    lma='LMA1')
    entry = MagEntryView(1, 'mn1@example.com', 'eth1', '00:11:22:33:44:55', 'registered', '2001:db8:1::1',
                         '2001:db8:2::1', ('2001:db8:aaaa::/64',), None, 600, 300)
    stats = {'received': {'pba': 1}, 'sent': {'pbu': 1}, 'events': {},
             'round-trip-ms': {'last': 1.4, 'median': 1.62, 'max': 3.1, 'samples': 7}, 'kernel-drops': {'mh-socket': 5},
             'forwarding': {'encap_tx': 12, 'decap_rx': 9}}
    return FakeControl(mag_views=[MagView(mag, ('eth1',), (entry,), stats)])


def test_mag_binding_interfaces_tunnel_stats() -> None:
    """The MAG commands show the Binding Update List, link state, tunnels and counters."""
    session, _ = online(_mag_control())
    assert 'mn1@example.com' in session.feed('show ipv6 mobile pmipv6 mag binding nai mn1@example.com')
    assert 'Total number of bindings: 0' in session.feed('show ipv6 mobile pmipv6 mag binding nai x@y')
    interfaces = session.feed('show ipv6 mobile pmipv6 mag interfaces')
    assert re.search(r'eth1\s+ieee-802.3\s+up\s+1', interfaces)
    assert re.search(r'eth2\s+ieee-802.11\s+down\s+0', interfaces)
    assert re.search(r'2001:db8:1::1\s+2001:db8:2::1\s+1', session.feed('show ipv6 mobile pmipv6 mag tunnel'))
    assert 'LMA: LMA1' in session.feed('show ipv6 mobile pmipv6 mag globals')
    shown = session.feed('show ipv6 mobile pmipv6 mag stats')
    assert re.search(r'pbu\s+1', shown)
    assert 'last 1.4 ms, median 1.62 ms, max 3.1 ms over the last 7' in shown
    assert 'MH socket drops (receive buffer full): 5' in shown
    assert re.search(r'Forwarding \(user-space data plane\):\n\s+decap_rx\s+9\n\s+encap_tx\s+12', shown)
    assert 'Cleared 1 binding' in session.feed('clear ipv6 mobile pmipv6 mag binding all')
    assert 'Cleared 1 binding' in session.feed('clear ipv6 mobile pmipv6 mag binding nai mn1@example.com')
    assert session.feed('clear ipv6 mobile pmipv6 mag binding nai x@y').startswith('% No binding')
