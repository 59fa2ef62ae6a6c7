"""The daemon as Twisted services: one LmaService per `ipv6 mobile pmipv6-lma` block.

Sockets open in `privilegedStartService` (root or CAP_NET_RAW), the data plane and engine
start in `startService`, and `stopService` removes every tunnel and route the daemon
installed, so SIGTERM leaves the box as it found it.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from twisted.application.service import MultiService, Service
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from pmiprouter.config.model import LmaConfig, MagConfig, RouterConfig, find
from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.policy import RFC6543_LINK_LOCAL
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.dataplane.factory import make_dataplane
from pmiprouter.dataplane.interface import DataplaneState
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.mh.framing import PMIP6_CNTL_PORT
from pmiprouter.mh.messages import BindingAcknowledgement, BindingUpdate
from pmiprouter.runtime.dataplane_worker import DataplaneExecutor, Inline, Worker
from pmiprouter.runtime.driver import EngineDriver
from pmiprouter.runtime.mhport import MHPort
from pmiprouter.runtime.access_link import AccessLinks
from pmiprouter.runtime.policies import lma_policy, mag_policy
from pmiprouter.runtime.state import StateFile
from pmiprouter.runtime.udpport import MHOverUDP

SAVE_INTERVAL_S = 1.0  # bindings changed in the last second are saved by the next tick


class LmaService(Service):
    """One local mobility anchor: engine, driver, MH sockets and data plane."""

    log = Logger()

    def __init__(self, reactor: Any, config: RouterConfig, lma: LmaConfig, dataplane_kind: str, state_dir: Path) -> None:
        self.reactor = reactor
        self.lma_config = lma
        self.state = StateFile(state_dir / f'lma-{lma.name}.json')
        restart_counter, self.saved = self.state.load()
        # A restart that restores its bindings loses no state; one that cannot, does (RFC 5847 §3.4).
        self.engine = LocalMobilityAnchor(lma_policy(config, lma), restart_counter if self.saved else restart_counter + 1)
        self.saved_revision = -1
        self.saver: LoopingCall | None = None
        self.dataplane_kind = dataplane_kind
        self.mhport: MHPort | None = None
        self.udp: dict[IPv4Address, MHOverUDP] = {}
        self.listening: list[IListeningPort] = []
        self.driver: EngineDriver | None = None
        self.executor: DataplaneExecutor | None = None

    def privilegedStartService(self) -> None:
        self.mhport = MHPort(self.reactor, self._deliver)
        if self.lma_config.ipv4_address is not None:
            address = self.lma_config.ipv4_address
            self.udp[address] = MHOverUDP(address, self._deliver)
            self.listening.append(self.reactor.listenUDP(PMIP6_CNTL_PORT, self.udp[address], interface=str(address)))
        super().privilegedStartService()

    def startService(self) -> None:
        dataplane = make_dataplane(self.dataplane_kind, **({'reactor': self.reactor} if self.dataplane_kind in ('auto', 'userspace') else {}))
        self.executor = Inline(dataplane) if self.dataplane_kind == 'memory' else Worker(self.reactor, dataplane)
        self.driver = EngineDriver(self.engine, self.reactor, self.executor, self.mhport, dict(self.udp))  # type: ignore[arg-type]
        assert self.mhport is not None
        for action in self.engine.restore(self.saved, self.reactor.seconds()):
            self.driver.execute(action)
        self.saver = LoopingCall(self.save)
        self.saver.clock = self.reactor
        self.saver.start(SAVE_INTERVAL_S, now=True)
        self.mhport.start()
        super().startService()
        self.log.info(
            'LMA {name} ready: {addresses}, data plane {kind}',
            name=self.lma_config.name,
            addresses=' '.join(str(a) for a in sorted(self.engine.policy.lma_addresses, key=lambda a: (a.version, a))),
            kind=type(dataplane).__name__,
        )

    def _deliver(self, event: Any) -> None:
        # A box that is LMA and MAG at once sees every Mobility Header on both sockets: the
        # LMA takes what is addressed to it, except acknowledgements (those are the MAG's).
        if self.driver is None or getattr(event, 'dst', None) not in self.engine.policy.lma_addresses:
            return
        if isinstance(getattr(event, 'message', None), BindingAcknowledgement):
            return
        self.driver.feed(event)

    def reload(self, config: RouterConfig) -> None:
        """Apply a re-read configuration to this LMA (SIGHUP)."""
        lma = find(config.lmas, self.lma_config.name)
        if lma is None:
            self.log.warn('LMA {name} left the configuration; it keeps running until restart', name=self.lma_config.name)
            return
        self.lma_config = lma
        for action in self.engine.reconfigure(lma_policy(config, lma)):
            if self.driver is not None:
                self.driver.execute(action)

    def save(self) -> None:
        """Write the state file when bindings changed since the last write."""
        if self.engine.revision == self.saved_revision:
            return
        try:
            self.state.save(self.engine.restart_counter, self.engine.export())
            self.saved_revision = self.engine.revision
        except OSError as exc:
            self.log.error('cannot write state file {path}: {error}', path=self.state.path, error=exc)

    def stopService(self) -> Any:
        super().stopService()
        if self.saver is not None and self.saver.running:
            self.saver.stop()
        self.save()
        for port in self.listening:
            port.stopListening()
        if self.mhport is not None:
            self.mhport.stop()
        if self.driver is not None:
            self.driver.stop()
        if self.executor is not None:
            return self._clean_up(self.executor)
        return None

    def _clean_up(self, executor: DataplaneExecutor) -> Any:
        """Remove every tunnel and route we installed (reconcile to nothing), then release the backend."""
        dataplane = executor.dataplane  # type: ignore[attr-defined]
        if isinstance(executor, Worker):
            deferred = executor.call(dataplane.reconcile, DataplaneState())
            deferred.addErrback(lambda failure: self.log.failure('clean-up failed', failure))
            deferred.addBoth(lambda _: executor.stop())
            return deferred
        dataplane.reconcile(DataplaneState())
        executor.stop()
        return None


class MagService(Service):
    """One mobile access gateway: engine, driver, MH socket, access links and data plane."""

    log = Logger()

    def __init__(self, reactor: Any, config: RouterConfig, mag: MagConfig, dataplane_kind: str) -> None:
        self.reactor = reactor
        self.mag_config = mag
        self.engine = MobileAccessGateway(mag_policy(config, mag))
        self.dataplane_kind = dataplane_kind
        self.addresses = {a for a in (mag.ipv6_address, mag.ipv4_address) if a is not None}
        self.mhport: MHPort | None = None
        self.udp: dict[IPv4Address, MHOverUDP] = {}
        self.listening: list[IListeningPort] = []
        self.driver: EngineDriver | None = None
        self.executor: DataplaneExecutor | None = None
        self.access: AccessLinks | None = None

    def privilegedStartService(self) -> None:
        self.mhport = MHPort(self.reactor, self._deliver)
        if self.mag_config.ipv4_address is not None:
            address = self.mag_config.ipv4_address
            self.udp[address] = MHOverUDP(address, self._deliver)
            self.listening.append(self.reactor.listenUDP(PMIP6_CNTL_PORT, self.udp[address], interface=str(address)))
        policy = self.engine.policy
        ifnames = [i.ifname for i in policy.interfaces]
        self.access = AccessLinks(self.reactor, ifnames, self._deliver, policy.fixed_link_local or RFC6543_LINK_LOCAL, policy.fixed_link_layer)
        super().privilegedStartService()

    def startService(self) -> None:
        options = {'reactor': self.reactor} if self.dataplane_kind in ('auto', 'userspace') else {}
        dataplane = make_dataplane(self.dataplane_kind, **options)
        if isinstance(dataplane, MemoryDataplane):  # the model must know the real links our routes name
            for ifname in ('lo', *self.access.links):
                if ifname not in dataplane.world.links:
                    dataplane.world.add_link(ifname, 'device')
        self.executor = Inline(dataplane) if self.dataplane_kind == 'memory' else Worker(self.reactor, dataplane)
        assert self.mhport is not None and self.access is not None
        self.driver = EngineDriver(self.engine, self.reactor, self.executor, self.mhport, dict(self.udp), extra=self.access.execute)  # type: ignore[arg-type]
        self.access.start()
        self.mhport.start()
        super().startService()
        self.log.info('MAG {name} ready on {links}', name=self.mag_config.name, links=' '.join(self.access.links))

    def _deliver(self, event: Any) -> None:
        if self.driver is None:
            return
        dst = getattr(event, 'dst', None)
        if dst is not None and (dst not in self.addresses or isinstance(getattr(event, 'message', None), BindingUpdate)):
            return  # PBUs and messages to other addresses belong to a co-located LMA
        self.driver.feed(event)

    def stopService(self) -> Any:
        super().stopService()
        for port in self.listening:
            port.stopListening()
        for part in (self.mhport, self.access, self.driver):
            if part is not None:
                part.stop()
        if self.executor is not None:
            dataplane = self.executor.dataplane  # type: ignore[attr-defined]
            dataplane.reconcile(DataplaneState()) if isinstance(self.executor, Inline) else None
            self.executor.stop()
        return None


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
    log.info('configuration {path} reloaded', path=path)
    return True


def make_service(reactor: Any, config: RouterConfig, dataplane_kind: str, state_dir: Path) -> MultiService:
    """All services of the appliance for this configuration."""
    root = MultiService()
    for lma in config.lmas:
        LmaService(reactor, config, lma, dataplane_kind, state_dir).setServiceParent(root)
    for mag in config.mags:
        MagService(reactor, config, mag, dataplane_kind).setServiceParent(root)
    return root


def start(root: MultiService, config: RouterConfig) -> None:
    """Start every service on the running reactor, then say the daemon is ready (one readiness point)."""
    root.startService()
    roles = [f'LMA {lma.name}' for lma in config.lmas] + [f'MAG {mag.name}' for mag in config.mags]
    # With no role (a fresh install) the daemon stays up, idle, until configured and reloaded.
    Logger().info('pmiprouter ready: {roles}', roles=', '.join(roles) if roles else 'no role configured, idle')
