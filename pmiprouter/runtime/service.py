"""The daemon as Twisted services: an LmaService per `ipv6 mobile pmipv6-lma` block and a
MagService per `ipv6 mobile pmipv6-mag` block, under one RouterService; live configuration.

`apply_config` puts a validated configuration in force on the running daemon (a live
CLI change, `copy ... running-config`, SIGHUP): roles that appeared start, roles that
went stop, running ones are reconfigured. A role whose sockets or links would change
(its addresses; a MAG's access interfaces, fixed link addresses or DHCP relays) is replaced by a new
instance; the rest (profiles, pools, timers, a MAG's LMA) goes into the running engine.
All or nothing: new roles start before the running ones are touched (only an instance
being replaced, or a role giving its address to a new one, stops first), so if one
fails, the ones already started are stopped, the stopped ones start again and the
previous running state stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger

from pmiprouter.config.model import LmaConfig, MagConfig, RouterConfig, find
from pmiprouter.runtime.lma_service import LmaService
from pmiprouter.runtime.mag_service import MagService
from pmiprouter.runtime.policies import lma_policy, mag_policy

__all__ = [
    'ApplyError', 'LmaService', 'MagService', 'Plan', 'RouterService', 'apply_config', 'lma_services',
    'make_service', 'plan', 'reload_services', 'start',
]

log = Logger()
Role = LmaService | MagService
RoleKey = tuple[str, str]  # ('lma' | 'mag', name)


class ApplyError(Exception):
    """A configuration could not be put in force; the previous running state stays."""


class RouterService(MultiService):
    """The daemon's root service: its roles, and what it needs to start new ones live."""

    def __init__(self, reactor: Any, config: RouterConfig, dataplane_kind: str, state_dir: Path, trace: bool = False) -> None:
        super().__init__()
        self.reactor = reactor
        self.config = config  # the configuration in force
        self.dataplane_kind = dataplane_kind
        self.state_dir = state_dir
        self.trace = trace

    def restored(self, config: RouterConfig) -> None:
        """A change that failed after the fact: the management plane takes `config` back."""
        for service in self:
            adopt = getattr(service, 'adopt', None)
            if adopt is not None:
                adopt(config)

    def new_role(self, config: RouterConfig, key: RoleKey) -> Role:
        """A role service for `key` of `config` (not started)."""
        kind, name = key
        role: Role
        if kind == 'lma':
            lma = find(config.lmas, name)
            assert lma is not None
            role = LmaService(self.reactor, config, lma, self.dataplane_kind, self.state_dir)
        else:
            mag = find(config.mags, name)
            assert mag is not None
            role = MagService(self.reactor, config, mag, self.dataplane_kind, self.state_dir)
        role.trace = self.trace
        return role


def role_key(role: Role) -> RoleKey:
    """('lma', NAME) or ('mag', NAME)."""
    if isinstance(role, LmaService):
        return ('lma', role.lma_config.name)
    return ('mag', role.mag_config.name)


def roles(root: MultiService) -> dict[RoleKey, Role]:
    """The running roles by key."""
    return {role_key(s): s for s in root if isinstance(s, (LmaService, MagService))}


def wanted_roles(config: RouterConfig) -> dict[RoleKey, LmaConfig | MagConfig]:
    """The roles `config` defines, by key."""
    out: dict[RoleKey, LmaConfig | MagConfig] = {('lma', lma.name): lma for lma in config.lmas}
    out.update({('mag', mag.name): mag for mag in config.mags})
    return out


def needs_new_instance(role: Role, config: RouterConfig) -> bool:
    """Whether `config` changes what `role` opened at start (sockets, links): then it is replaced."""
    if isinstance(role, LmaService):
        lma = find(config.lmas, role.lma_config.name)
        assert lma is not None
        return set(lma_policy(config, lma).lma_addresses) != role.addresses or lma.domain != role.lma_config.domain
    mag = find(config.mags, role.mag_config.name)
    assert mag is not None
    old = role.mag_config
    return (
        {a for a in (mag.ipv6_address, mag.ipv4_address) if a is not None} != role.addresses
        or [i.name for i in mag.interfaces] != [i.name for i in old.interfaces]
        or mag.fixed_link_local_address != old.fixed_link_local_address
        or mag.fixed_link_layer_address != old.fixed_link_layer_address
        or mag.domain != old.domain
        # DHCP server/relay sockets are opened at start
        or (mag.dhcp_mode, mag.dhcp_relay_destination, mag.dhcp6_relay_destination)
        != (old.dhcp_mode, old.dhcp_relay_destination, old.dhcp6_relay_destination)
    )


def reconfigure(role: Role, config: RouterConfig) -> None:
    """Put `config` into a running role's engine (profiles, pools, timers, LMA of a MAG)."""
    if isinstance(role, LmaService):
        role.reload(config)
        return
    mag = find(config.mags, role.mag_config.name)
    assert mag is not None
    actions = role.engine.reconfigure(mag_policy(config, mag))
    role.mag_config = mag
    if role.driver is not None:
        role.driver.run(actions)


def _start(root: MultiService, role: Role) -> None:
    """Hang `role` under `root`, which starts it when the daemon runs; undo on failure."""
    try:
        role.setServiceParent(root)
    except Exception:
        if role in root.services:
            root.services.remove(role)
        role.parent = None
        _stop(role)
        raise


def _stop(role: Role) -> Any:
    """Stop a role (removing what it installed); never raises."""
    try:
        if role.parent is not None:
            return role.disownServiceParent()
        return role.stopService()
    except Exception:  # noqa: BLE001 - a role that fails to stop must not stop the others
        log.failure('stopping {role} failed', role=role_key(role))
        return None


def _describe(key: RoleKey) -> str:
    return f'{key[0].upper()} {key[1]}'


@dataclass(frozen=True)
class Plan:
    """What a configuration change does to the running roles."""

    running: dict[RoleKey, Role]
    kept: list[RoleKey]  # reconfigured in place
    arriving: list[RoleKey]  # new roles and new instances of replaced ones
    leaving: list[RoleKey]  # removed roles and old instances of replaced ones
    first: list[RoleKey]  # leaving roles that must be gone before the arriving ones start


def plan(root: MultiService, config: RouterConfig) -> Plan:
    """Compare the running roles with `config`."""
    running = roles(root)
    wanted = wanted_roles(config)
    replaced = {key for key, role in running.items() if key in wanted and needs_new_instance(role, config)}
    leaving = [key for key in running if key not in wanted or key in replaced]
    arriving = [key for key in wanted if key not in running or key in replaced]
    # A replaced role goes before its new instance starts: both would program the same
    # routes and tunnels, and the old one's clean-up would remove the new one's. So does a
    # role giving up an IPv4 address a new one takes (one UDP port per address).
    taken = {a for key in arriving for a in _addresses(wanted[key])}
    first = [key for key in leaving if key in replaced or running[key].addresses & taken]
    kept = [key for key in running if key in wanted and key not in replaced]
    return Plan(running, kept, arriving, leaving, first)


def apply_config(root: MultiService, config: RouterConfig) -> None:
    """Make a validated configuration the running one (SIGHUP, or live changes from the CLI).

    Raises:
        ApplyError: a role could not start or be reconfigured; the previous running state
            is back (roles started by this call are stopped, roles it stopped restarted).
    """
    if not isinstance(root, RouterService):  # a bare tree (tests): running roles only
        wanted = wanted_roles(config)
        for key, role in roles(root).items():
            if key in wanted:
                reconfigure(role, config)
        return
    change = plan(root, config)
    previous = root.config
    stops = [_stop(change.running[key]) for key in change.first]
    pending = [d for d in stops if isinstance(d, Deferred) and not d.called]
    if not pending:
        _finish(root, config, previous, change)
        return
    # A threaded data plane is still removing what the old roles installed: the new ones
    # start when that is done. A failure then is logged and the previous state restored.
    log.info('configuration change: waiting for {roles} to remove their data plane',
             roles=', '.join(_describe(key) for key in change.first))

    def later(_: object) -> None:
        try:
            _finish(root, config, previous, change)
        except ApplyError as err:
            log.error('configuration change failed, the previous one is back in force: {error}', error=err)
            root.restored(previous)

    gatherResults(pending, consumeErrors=True).addBoth(later)


def _finish(root: RouterService, config: RouterConfig, previous: RouterConfig, change: Plan) -> None:
    """Start the arriving roles, reconfigure the kept ones, stop the rest; all or nothing."""
    started: list[Role] = []
    try:
        for key in change.arriving:
            role = root.new_role(config, key)
            _start(root, role)
            started.append(role)
            log.info('{role} started by a configuration change', role=_describe(key))
        for key in change.kept:
            reconfigure(change.running[key], config)
    except Exception as err:
        for role in reversed(started):
            _stop(role)
        for key in change.first:
            _start_again(root, previous, key)
        for key in change.kept:
            try:
                reconfigure(change.running[key], previous)
            except Exception:  # noqa: BLE001 - keep restoring the others
                log.failure('restoring {role} failed', role=_describe(key))
        raise ApplyError(f'{type(err).__name__}: {err}') from err
    for key in change.leaving:
        if key not in change.first:
            _stop(change.running[key])
        log.info('{role} stopped by a configuration change', role=_describe(key))
    root.config = config


def _addresses(block: LmaConfig | MagConfig) -> set[Any]:
    return {a for a in (block.ipv6_address, block.ipv4_address) if a is not None}


def _start_again(root: RouterService, config: RouterConfig, key: RoleKey) -> None:
    try:
        _start(root, root.new_role(config, key))
    except Exception:  # noqa: BLE001 - logged; the operator sees the role missing in show
        log.failure('{role} could not be restarted', role=_describe(key))


def lma_services(root: MultiService) -> list[LmaService]:
    """The running LMAs (for show commands and the management plane)."""
    return [service for service in root if isinstance(service, LmaService)]


def reload_services(root: MultiService, path: str) -> bool:
    """Re-read the startup-config and apply it; a config with errors changes nothing."""
    from pmiprouter.config.load import load_file

    result = load_file(path)
    if result.config is None:
        for error in result.errors:
            log.error('reload: {error}', error=error.render())
        log.error('reload of {path} refused: the running configuration is unchanged', path=path)
        return False
    try:
        apply_config(root, result.config)
    except ApplyError as err:
        log.error('reload of {path} refused, the running configuration is unchanged: {error}', path=path, error=err)
        return False
    for service in root:  # the management plane's running configuration follows (see mgmt_service)
        adopt = getattr(service, 'adopt', None)
        if adopt is not None:
            adopt(result.config)
    log.info('configuration {path} reloaded', path=path)
    return True


def make_service(reactor: Any, config: RouterConfig, dataplane_kind: str, state_dir: Path, trace: bool = False) -> RouterService:
    """All services of the appliance for this configuration (`trace`: log every Mobility Header)."""
    root = RouterService(reactor, config, dataplane_kind, state_dir, trace)
    for key in wanted_roles(config):
        root.new_role(config, key).setServiceParent(root)
    return root


def start(root: MultiService, config: RouterConfig) -> None:
    """Start every service on the running reactor, then say the daemon is ready (one readiness point)."""
    root.startService()
    names = [f'LMA {lma.name}' for lma in config.lmas] + [f'MAG {mag.name}' for mag in config.mags]
    # With no role (a fresh install) the daemon stays up, idle, until configured and reloaded.
    Logger().info('pmiprouter ready: {roles}', roles=', '.join(names) if names else 'no role configured, idle')
