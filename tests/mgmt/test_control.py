"""ControlAPI over a real LMA service and engine (no sockets): views, commit, clear."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from twisted.application.service import MultiService
from twisted.internet.task import Clock

from pmiprouter.cli.errors import CommandError
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.dataplane.factory import make_dataplane
from pmiprouter.runtime.control import ControlAPI
from pmiprouter.runtime.dataplane_worker import Inline
from pmiprouter.runtime.driver import EngineDriver
from pmiprouter.runtime.service import LmaService
from tests.core.harness import T0, pbu

from .fakes import config
from tests.addresses import LMAA, MAG1 as MAG



@pytest.fixture()
def control(tmp_path: Path) -> ControlAPI:
    """A ControlAPI over one LmaService whose driver runs on a fake clock."""
    clock = Clock()
    clock.advance(T0)
    cfg = config()
    root = MultiService()
    service = LmaService(clock, cfg, cfg.lmas[0], 'memory', tmp_path)
    service.setServiceParent(root)
    service.driver = EngineDriver(service.engine, clock, Inline(make_dataplane('memory')))
    return ControlAPI(root, cfg, clock=clock.seconds)


def register(control: ControlAPI, nai: str = 'mn1@example.com') -> None:
    """Feed one PBU to the LMA, as the MH socket would."""
    service = next(iter(control.root))
    service.driver.feed(MessageReceived(MAG, LMAA, pbu(nai=nai), Transport.IPV6, None))


def test_views_show_the_binding_and_tunnel(control: ControlAPI) -> None:
    """A registered MN appears in the LMA view with its prefix, tunnel and counters."""
    register(control)
    (view,) = control.lmas()
    (binding,) = view.bindings
    assert binding.mn_id == 'mn1@example.com' and binding.state == 'active'
    assert binding.hnps[0].startswith('2001:db8:aaaa:')
    assert view.tunnels[0].remote == str(MAG)
    assert view.stats['received']['pbu'] == 1


def test_clear_binding_frees_everything(control: ControlAPI) -> None:
    """Clearing a binding revokes it (RFC 5846 BRI); with no BRA it goes after the last retry,
    with its tunnel and its prefix (back in the pool)."""
    register(control)
    service = next(iter(control.root))
    pool = service.engine.sessions.addresses.prefix_pools[0]
    assert pool.in_use == 1
    assert control.clear_bindings('nobody@example.com') == 0
    assert control.clear_bindings('mn1@example.com') == 1
    assert len(control.lmas()[0].bindings) == 1  # waiting for the MAG's BRA
    service.driver.clock.advance(1.0)  # InitMINDelayBRIs: the one retransmission
    service.driver.clock.advance(2.0)  # MAX_BRACK_TIMEOUT: give up and clean up
    view = control.lmas()[0]
    assert view.bindings == () and view.tunnels == () and pool.in_use == 0
    assert view.stats['sent']['bri'] == 2


def test_clear_bindings_of_one_mag_sends_one_global_revocation(control: ControlAPI) -> None:
    """The bindings with one MAG go in one BRI (G flag, RFC 5846 §8.1); another MAG's address clears none."""
    register(control)
    service = next(iter(control.root))
    assert control.clear_mag_peer_bindings(LMAA) == 0
    assert control.clear_mag_peer_bindings(MAG) == 1
    assert control.lmas()[0].stats['sent']['bri'] == 1 and control.lmas()[0].stats['events']['revocation-started'] == 1
    service.driver.clock.advance(1.0)
    service.driver.clock.advance(2.0)  # no BRA: given up, both bindings freed
    assert control.lmas()[0].bindings == ()


def test_clear_stats(control: ControlAPI) -> None:
    """clear stats zeroes the counters."""
    register(control)
    control.clear_stats()
    assert control.lmas()[0].stats['received'] == {}


def test_commit_applies_a_valid_change_live(control: ControlAPI) -> None:
    """A valid configuration goes into the engine's policy at once."""
    cfg = control.config
    lma = dataclasses.replace(cfg.lmas[0], bce_lifetime_s=1200)
    control.commit(dataclasses.replace(cfg, lmas=(lma,)))
    service = next(iter(control.root))
    assert service.lma_config.bce_lifetime_s == 1200
    assert control.problems() == []


def test_commit_rolls_back_when_a_service_refuses(control: ControlAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """If applying fails, the previous configuration is put back and the command fails."""
    service = next(iter(control.root))
    original = service.reload
    calls: list[object] = []

    def reload(cfg: object) -> None:
        calls.append(cfg)
        if len(calls) == 1:
            raise ValueError('boom')
        original(cfg)  # type: ignore[arg-type]

    monkeypatch.setattr(service, 'reload', reload)
    before = control.config
    with pytest.raises(CommandError, match='nothing changed'):
        control.commit(dataclasses.replace(before, hostname='other'))
    assert control.config is before and calls[-1] is before


def test_debug_messages_reach_monitoring_terminals(control: ControlAPI) -> None:
    """With debug messages on, a PBU and its PBA are logged as decoded lines."""
    control.set_debug('messages', True)
    register(control)
    lines = control.log_lines()
    assert any('RX PBU' in line and 'mn1@example.com' in line for line in lines)
    control.set_debug(None, False)
    service = next(iter(control.root))
    assert 'feed' not in vars(service.driver)  # untapped


def test_mag_view_of_a_configured_mag(tmp_path: Path) -> None:
    """A MagService (not started) is seen with its configuration and an empty list."""
    from pmiprouter.config.load import load_text
    from pmiprouter.runtime.service import MagService

    text = (
        'ipv6 mobile pmipv6-domain D\n lma LMA1\n  ipv6-address 2001:db8:2::1\n!\n'
        'ipv6 mobile pmipv6-mag MAG1 domain D\n address ipv6 2001:db8:1::1\n interface eth9\n lma LMA1 D\n!\nend\n'
    )
    result = load_text(text, 'mag')
    assert result.config is not None, result.errors
    root = MultiService()
    MagService(Clock(), result.config, result.config.mags[0], 'memory').setServiceParent(root)
    control = ControlAPI(root, result.config, clock=Clock().seconds)
    (view,) = control.mags()
    assert view.config.name == 'MAG1' and view.entries == () and view.links == ()
    assert control.lmas() == []


def test_adopt_takes_a_reloaded_config_and_tells_listeners(control: ControlAPI) -> None:
    """After a SIGHUP reload, adopt() makes the new config the shells' one and notifies listeners."""
    seen: list[str] = []
    control.listeners.append(lambda old, new: seen.append(f'{old.hostname}->{new.hostname}'))
    control.adopt(dataclasses.replace(control.config, hostname='reloaded'))
    assert control.config.hostname == 'reloaded' and control.problems() == []
    assert seen == ['lma1->reloaded']


def _mag_config(lma_address: str = '2001:db8:2::1', lifetime: int = 3600, interface: str = 'eth9') -> object:
    from pmiprouter.config.load import load_text

    text = (
        f'ipv6 mobile pmipv6-domain D\n lma LMA1\n  ipv6-address {lma_address}\n!\n'
        f'ipv6 mobile pmipv6-mag MAG1 domain D\n address ipv6 2001:db8:1::1\n interface {interface}\n lma LMA1 D\n'
        f' binding lifetime {lifetime}\n!\nend\n'
    )
    result = load_text(text, 'mag')
    assert result.config is not None, result.errors
    return result.config


def test_running_mag_takes_a_new_lma_address_and_timers_in_place() -> None:
    """The MAG's engine gets the new LMA address and lifetime; the service is the same instance."""
    from pmiprouter.runtime.service import MagService, apply_config, needs_new_instance

    before, after = _mag_config(), _mag_config('2001:db8:9::1', lifetime=600)
    root = MultiService()
    mag = MagService(Clock(), before, before.mags[0], 'memory')  # type: ignore[attr-defined]
    mag.setServiceParent(root)
    assert not needs_new_instance(mag, after)  # type: ignore[arg-type]
    apply_config(root, after)  # type: ignore[arg-type]
    assert list(root) == [mag]
    assert str(mag.engine.policy.lma_address) == '2001:db8:9::1'
    assert mag.mag_config.binding_lifetime_s == 600


def test_what_replaces_a_role() -> None:
    """Access interfaces and own addresses are opened at start: changing them needs a new instance."""
    import dataclasses

    from pmiprouter.runtime.service import MagService, needs_new_instance

    before = _mag_config()
    mag = MagService(Clock(), before, before.mags[0], 'memory')  # type: ignore[attr-defined]
    assert needs_new_instance(mag, _mag_config(interface='eth8'))  # type: ignore[arg-type]
    moved = dataclasses.replace(before.mags[0], ipv6_address=IPv6Address('2001:db8:1::2'))  # type: ignore[attr-defined]
    assert needs_new_instance(mag, dataclasses.replace(before, mags=(moved,)))  # type: ignore[arg-type]


def test_router_service_refuses_a_role_that_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new role whose start fails is taken out again; the running roles and config stay."""
    from pmiprouter.runtime.service import ApplyError, MagService, RouterService, apply_config

    cfg = config()
    root = RouterService(Clock(), cfg, 'memory', tmp_path)
    lma = root.new_role(cfg, ('lma', cfg.lmas[0].name))
    lma.setServiceParent(root)
    root.running = True  # as when the daemon runs: a new child starts at once

    def fail(self: object) -> None:
        raise OSError('no such device')

    mag_cfg = _mag_config()
    merged = dataclasses.replace(cfg, mags=mag_cfg.mags, domains=mag_cfg.domains)  # type: ignore[attr-defined]
    monkeypatch.setattr(MagService, 'privilegedStartService', fail)
    with pytest.raises(ApplyError, match='no such device'):
        apply_config(root, merged)
    assert list(root) == [lma] and root.config is cfg



def test_replacement_waits_for_the_old_instance_to_clean_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A replaced role whose data plane is still being cleaned (a thread) is started after that;
    a failure then puts the previous configuration back in the management plane."""
    from twisted.internet.defer import Deferred

    from pmiprouter.runtime.service import LmaService, RouterService, apply_config

    cfg = config()
    root = RouterService(Clock(), cfg, 'memory', tmp_path)
    old = root.new_role(cfg, ('lma', cfg.lmas[0].name))
    old.setServiceParent(root)
    root.running = True
    cleaning: Deferred[None] = Deferred()
    monkeypatch.setattr(old, 'stopService', lambda: cleaning)
    adopted: list[object] = []
    monkeypatch.setattr(root, 'restored', adopted.append)
    starts: list[str] = []

    def start(self: LmaService) -> None:
        starts.append(str(sorted(self.addresses)))
        if len(starts) == 1:
            raise OSError('address not available')

    monkeypatch.setattr(LmaService, 'privilegedStartService', start)
    monkeypatch.setattr(LmaService, 'startService', lambda self: None)
    moved = dataclasses.replace(cfg.lmas[0], ipv6_address=IPv6Address('2001:db8:2::9'))
    apply_config(root, dataclasses.replace(cfg, lmas=(moved,)))
    assert list(root) == [] and starts == []  # the old one is gone, the new one waits
    cleaning.callback(None)
    # the new instance failed to start: the old configuration's instance is back
    assert starts == ["[IPv6Address('2001:db8:2::9')]", "[IPv6Address('2001:db8:2::1')]"]
    assert [s.lma_config.ipv6_address for s in root] == [LMAA] and adopted == [cfg] and root.config is cfg


def test_clear_mag_stats_zeroes_the_access_drop_counters() -> None:
    """`clear ... mag stats` also zeroes what the access links dropped (the DHCP relays' counters
    included); drops after it count from zero."""
    from pmiprouter.runtime.service import MagService

    cfg = _mag_config()
    root = MultiService()
    mag = MagService(Clock(), cfg, cfg.mags[0], 'memory')  # type: ignore[attr-defined]
    mag.setServiceParent(root)
    raw = {'rs-dropped': 3, 'dhcp4-relay-address-not-the-home-address': 2}
    mag._access_drops = lambda: dict(raw)  # type: ignore[method-assign]  # the links' own counters
    control = ControlAPI(root, cfg, clock=Clock().seconds)  # type: ignore[arg-type]
    assert control.mags()[0].stats['access'] == raw
    control.clear_stats('mag')
    assert set(control.mags()[0].stats['access'].values()) == {0}
    raw['rs-dropped'] += 1
    assert control.mags()[0].stats['access'] == {'rs-dropped': 1, 'dhcp4-relay-address-not-the-home-address': 0}


def test_lma_stats_show_the_mh_socket_drops_and_clear_zeroes_them(control: ControlAPI) -> None:
    """The kernel's drop counter of the MH socket is in the view; `clear ... stats` makes a new zero
    (the kernel's counter keeps running)."""
    from pmiprouter.runtime.mhport import MHPort
    from tests.runtime.test_ports import FakeSocket

    service = next(iter(control.root))
    service.mhport = MHPort(None, service.deliver, FakeSocket([]))  # type: ignore[arg-type]
    assert control.lmas()[0].stats['kernel-drops'] == {'mh-socket': 0}
    service.mhport.drops.count = 12  # what the last datagram's SO_RXQ_OVFL said
    assert control.lmas()[0].stats['kernel-drops'] == {'mh-socket': 12}
    control.clear_stats()
    service.mhport.drops.count = 15
    assert control.lmas()[0].stats['kernel-drops'] == {'mh-socket': 3}
