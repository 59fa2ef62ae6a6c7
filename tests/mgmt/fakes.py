"""A fake `Control` for pure CLI tests: plain data in, recorded calls out."""

from __future__ import annotations

from dataclasses import dataclass, field

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.operational import BindingView, LmaView, MagView, TunnelView, UserLine
from pmiprouter.cli.session import Session
from pmiprouter.config.load import load_text
from pmiprouter.config.model import RouterConfig, find
from pmiprouter.config.validate import validate

CONFIG = """\
hostname lma1
ipv6 mobile pmipv6-domain D
 mag MAG1
  ipv6-address 2001:db8:1::1
 nai mn1@example.com
  service ipv6
!
ipv6 mobile pmipv6-lma LMA1 domain D
 address ipv6 2001:db8:2::1
 pool ipv6 P prefix 2001:db8:aaaa::/48 pfxlen 64
!
end
"""


def config() -> RouterConfig:
    """The test configuration, loaded."""
    result = load_text(CONFIG, 'test')
    assert result.config is not None, result.errors
    return result.config


def binding(nai: str = 'mn1@example.com', ident: int = 1) -> BindingView:
    """A binding view as ControlAPI builds them."""
    return BindingView(ident, nai, 'active', '2001:db8:1::1', 'ipv6', 3, '00:11:22:33:44:55',
                       ('2001:db8:aaaa::/64',), None, 600, 590, None, None, 1)


@dataclass
class FakeControl:
    """Implements `Control` over fixed views; records what the CLI asked."""

    running: RouterConfig = field(default_factory=config)
    bindings: list[BindingView] = field(default_factory=lambda: [binding()])
    commits: list[RouterConfig] = field(default_factory=list)
    refuse: bool = False
    debug: set[str] = field(default_factory=set)
    cleared_stats: int = 0
    log: list[str] = field(default_factory=lambda: ['*Nov 27 00:00:00: %pmiprouter-info: hello'])
    applied: RouterConfig | None = None
    auth_failures: int = 2
    mag_views: list[MagView] = field(default_factory=list)

    @property
    def config(self) -> RouterConfig:
        return self.running

    def commit(self, config: RouterConfig) -> str | None:
        if self.refuse:
            raise CommandError('Change refused, nothing changed: refused by the fake')
        self.commits.append(config)
        self.running = config
        if not validate(config):
            self.applied = config
        return None

    def problems(self) -> list[str]:
        return [p.message for p in validate(self.running)]

    def lmas(self) -> list[LmaView]:
        lma = find(self.running.lmas, 'LMA1')
        if lma is None:
            return []
        tunnels = (TunnelView('2001:db8:2::1', '2001:db8:1::1', 'ipv6-in-ipv6', len(self.bindings)),)
        stats = {'received': {'pbu': 3}, 'sent': {'pba': 3}, 'pba-status': {'0': 2, '129': 1}, 'events': {}}
        return [LmaView(lma, ('2001:db8:2::1',), 7, tuple(self.bindings), tunnels, stats)]

    def clear_bindings(self, nai: str | None) -> int:
        gone = [b for b in self.bindings if nai is None or b.mn_id == nai]
        self.bindings = [b for b in self.bindings if b not in gone]
        return len(gone)

    def clear_mag_peer_bindings(self, mag: object) -> int:
        gone = [b for b in self.bindings if b.proxy_coa == str(mag)]
        self.bindings = [b for b in self.bindings if b not in gone]
        return len(gone)

    def mags(self) -> list[MagView]:
        return list(self.mag_views)

    def clear_mag_bindings(self, nai: str | None) -> int:
        gone = [v for v in self.mag_views for e in v.entries if nai is None or e.mn_id == nai]
        return len(gone)

    def clear_stats(self, role: str = 'lma') -> None:
        self.cleared_stats += 1

    def now(self) -> float:
        return 1_764_201_600.0  # 2025-11-27 00:00:00 UTC

    def uptime(self) -> float:
        return 3725.0

    def users(self) -> list[UserLine]:
        return [UserLine('vty 0', 'admin', '192.0.2.9', 5, True)]

    def log_lines(self) -> list[str]:
        return list(self.log)

    def debugging(self) -> set[str]:
        return set(self.debug)

    def set_debug(self, category: str | None, on: bool) -> None:
        names = {'events', 'messages', 'dataplane'} if category is None else {category}
        self.debug = self.debug | names if on else self.debug - names


def online(control: FakeControl | None = None, privilege: int = 15) -> tuple[Session, FakeControl]:
    """A session attached to a fake daemon."""
    control = control or FakeControl()
    return Session(control.config, privilege=privilege, control=control, uptime=control.uptime), control
