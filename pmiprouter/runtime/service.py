"""The daemon as Twisted services: an LmaService per `ipv6 mobile pmipv6-lma` block and a
MagService per `ipv6 mobile pmipv6-mag` block, under one MultiService; configuration reloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.application.service import MultiService
from twisted.logger import Logger

from pmiprouter.config.model import RouterConfig
from pmiprouter.runtime.lma_service import LmaService
from pmiprouter.runtime.mag_service import MagService

__all__ = ['LmaService', 'MagService', 'apply_config', 'lma_services', 'make_service', 'reload_services', 'start']


def apply_config(root: MultiService, config: RouterConfig) -> None:
    """Make a validated configuration the running one (SIGHUP, or live changes from the CLI)."""
    for service in root:
        if isinstance(service, LmaService):
            service.reload(config)


def lma_services(root: MultiService) -> list[LmaService]:
    """The running LMAs (for show commands and the management plane)."""
    return [service for service in root if isinstance(service, LmaService)]


def reload_services(root: MultiService, path: str) -> bool:
    """Re-read the startup-config and apply it; a config with errors changes nothing."""
    from pmiprouter.config.load import load_file

    log = Logger()
    result = load_file(path)
    if result.config is None:
        for error in result.errors:
            log.error('reload: {error}', error=error.render())
        log.error('reload of {path} refused: the running configuration is unchanged', path=path)
        return False
    apply_config(root, result.config)
    for service in root:  # the management plane's running configuration follows (see mgmt_service)
        adopt = getattr(service, 'adopt', None)
        if adopt is not None:
            adopt(result.config)
    log.info('configuration {path} reloaded', path=path)
    return True


def make_service(reactor: Any, config: RouterConfig, dataplane_kind: str, state_dir: Path, trace: bool = False) -> MultiService:
    """All services of the appliance for this configuration (`trace`: log every Mobility Header)."""
    root = MultiService()
    roles: list[LmaService | MagService] = [LmaService(reactor, config, lma, dataplane_kind, state_dir) for lma in config.lmas]
    roles += [MagService(reactor, config, mag, dataplane_kind) for mag in config.mags]
    for role in roles:
        role.trace = trace
        role.setServiceParent(root)
    return root


def start(root: MultiService, config: RouterConfig) -> None:
    """Start every service on the running reactor, then say the daemon is ready (one readiness point)."""
    root.startService()
    roles = [f'LMA {lma.name}' for lma in config.lmas] + [f'MAG {mag.name}' for mag in config.mags]
    # With no role (a fresh install) the daemon stays up, idle, until configured and reloaded.
    Logger().info('pmiprouter ready: {roles}', roles=', '.join(roles) if roles else 'no role configured, idle')
