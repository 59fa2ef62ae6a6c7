"""The MAG service: one per `ipv6 mobile pmipv6-mag` block, with its access links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pmiprouter.config.model import MagConfig, RouterConfig
from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.policy import RFC6543_LINK_LOCAL
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingUpdate
from pmiprouter.runtime.access_link import AccessLinks
from pmiprouter.runtime.dhcp6_link import Dhcp6Links
from pmiprouter.runtime.dhcp_link import DhcpLinks
from pmiprouter.runtime.mag_state import MagState
from pmiprouter.runtime.policies import mag_policy
from pmiprouter.runtime.role import RoleService


class MagService(RoleService):
    """One mobile access gateway."""

    def __init__(
        self, reactor: Any, config: RouterConfig, mag: MagConfig, dataplane_kind: str, state_dir: Path | None = None
    ) -> None:
        self.mag_config = mag
        # The Binding Update List survives restarts when the daemon has a state directory.
        self.state = MagState(state_dir / f'mag-{mag.name}.json') if state_dir is not None else None
        restart_counter = self.state.start_counter() if self.state is not None else 0
        self.engine: MobileAccessGateway = MobileAccessGateway(mag_policy(config, mag), restart_counter)
        super().__init__(reactor, {a for a in (mag.ipv6_address, mag.ipv4_address) if a is not None}, dataplane_kind)
        self.access: AccessLinks | None = None
        self.dhcp: DhcpLinks | None = None
        self.dhcp6: Dhcp6Links | None = None  # only with `ipv6 dhcp relay destination`
        self._drops_cleared: dict[str, int] = {}  # access_drops() at the last `clear ... mag stats`

    def accepts(self, event: Any) -> bool:
        if getattr(event, 'dst', None) is None:
            return True  # access-link events (RS, NUD) come from our own links
        # A box that is LMA and MAG at once: PBUs and BRAs are the LMA's.
        lmas = (BindingUpdate, BindingRevocationAcknowledgement)
        return super().accepts(event) and not isinstance(getattr(event, 'message', None), lmas)

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        policy = self.engine.policy
        link_local = policy.fixed_link_local or RFC6543_LINK_LOCAL
        ifnames = [i.ifname for i in policy.interfaces]
        self.access = AccessLinks(self.reactor, ifnames, self.deliver, link_local, policy.fixed_link_layer)
        relay4 = self.mag_config.dhcp_relay_destination if self.mag_config.dhcp_mode == 'relay' else None
        # The MAG's own IPv4 address, when it has one, is a giaddr the server can route back to.
        agent = self.mag_config.ipv4_address
        self.dhcp = DhcpLinks(self.reactor, ifnames, self.deliver, self.access.add_ipv4_router, relay4, agent)
        if self.mag_config.dhcp6_relay_destination is not None:
            self.dhcp6 = Dhcp6Links(self.reactor, ifnames, self.deliver, self.mag_config.dhcp6_relay_destination)

    def startService(self) -> None:
        assert self.access is not None
        dataplane = self.make_dataplane()
        if isinstance(dataplane, MemoryDataplane):  # the model must know the real links our routes name
            for ifname in ('lo', *self.access.links):
                if ifname not in dataplane.world.links:
                    dataplane.world.add_link(ifname, 'device')
        driver = self.start_driver(dataplane, extra=self.execute)
        driver.report_sent = frozenset({BindingUpdate})  # PBU -> PBA runs from the PBU on the wire
        self.access.start()
        assert self.dhcp is not None
        self.dhcp.start()
        if self.dhcp6 is not None:
            self.dhcp6.start()
        if self.state is not None and self.driver is not None:  # routes, leases and NUD probes need the links up
            self.driver.run(self.state.start(self.engine, self.reactor, self.reactor.seconds()))
            # The kernel's neighbour cache is empty after the restart: asking who is on the link
            # makes the restored MNs answer (refilling it) before the engine's NUD probe reads it.
            for ifname in sorted({e.ifname for e in self.engine.entries()} & set(self.access.links)):
                self.access.solicit(ifname)
        super().startService()
        self.log.info('MAG {name} ready on {links}', name=self.mag_config.name, links=' '.join(self.access.links))

    def execute(self, action: Any) -> None:
        """The MAG's own actions: DHCP ones to the DHCP server, the rest to the access links."""
        assert self.access is not None and self.dhcp is not None
        if self.dhcp6 is not None:
            self.dhcp6.observe(action)  # the HNPs in RAs; the RA itself still goes out below
        if not self.dhcp.execute(action):
            self.access.execute(action)

    def access_drops(self) -> dict[str, int]:
        """What the access side sent that was dropped since the last `clear ... mag stats`, by kind."""
        return {kind: count - self._drops_cleared.get(kind, 0) for kind, count in self._access_drops().items()}

    def clear_access_drops(self) -> None:
        """Zero what `access_drops` shows (the links keep counting; this is the new zero)."""
        self._drops_cleared = self._access_drops()

    def _access_drops(self) -> dict[str, int]:
        """The access links' own counters, since they started."""
        drops: dict[str, int] = {}
        if self.access is not None:
            drops['rs-dropped'] = sum(link.rs_dropped for link in self.access.links.values())
        if self.dhcp is not None:
            drops['dhcp4-dropped'] = sum(port.dropped for port in self.dhcp.ports.values())
            if self.dhcp.relay is not None:
                drops.update({f'dhcp4-relay-{k}': v for k, v in self.dhcp.relay.relay.dropped.items()})
        if self.dhcp6 is not None:
            drops.update({f'dhcp6-relay-{k}': v for k, v in self.dhcp6.relay.dropped.items()})
        return drops

    def stopService(self) -> Any:
        if self.state is not None:
            self.state.stop()
        if self.dhcp6 is not None:
            self.dhcp6.stop()
        if self.dhcp is not None:
            self.dhcp.stop()
        if self.access is not None:
            self.access.stop()
        return super().stopService()
