"""The MAG service: one per `ipv6 mobile pmipv6-mag` block, with its access links."""

from __future__ import annotations

from typing import Any

from pmiprouter.config.model import MagConfig, RouterConfig
from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.policy import RFC6543_LINK_LOCAL
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.runtime.access_link import AccessLinks
from pmiprouter.runtime.dhcp_link import DhcpLinks
from pmiprouter.runtime.policies import mag_policy
from pmiprouter.runtime.role import RoleService


class MagService(RoleService):
    """One mobile access gateway."""

    def __init__(self, reactor: Any, config: RouterConfig, mag: MagConfig, dataplane_kind: str) -> None:
        self.mag_config = mag
        self.engine: MobileAccessGateway = MobileAccessGateway(mag_policy(config, mag))
        super().__init__(reactor, {a for a in (mag.ipv6_address, mag.ipv4_address) if a is not None}, dataplane_kind)
        self.access: AccessLinks | None = None
        self.dhcp: DhcpLinks | None = None

    def accepts(self, event: Any) -> bool:
        if getattr(event, 'dst', None) is None:
            return True  # access-link events (RS, NUD) come from our own links
        # A box that is LMA and MAG at once: PBUs are the LMA's.
        return super().accepts(event) and not isinstance(getattr(event, 'message', None), BindingUpdate)

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        policy = self.engine.policy
        link_local = policy.fixed_link_local or RFC6543_LINK_LOCAL
        ifnames = [i.ifname for i in policy.interfaces]
        self.access = AccessLinks(self.reactor, ifnames, self.deliver, link_local, policy.fixed_link_layer)
        self.dhcp = DhcpLinks(self.reactor, ifnames, self.deliver, self.access.add_ipv4_router)

    def startService(self) -> None:
        assert self.access is not None
        dataplane = self.make_dataplane()
        if isinstance(dataplane, MemoryDataplane):  # the model must know the real links our routes name
            for ifname in ('lo', *self.access.links):
                if ifname not in dataplane.world.links:
                    dataplane.world.add_link(ifname, 'device')
        self.start_driver(dataplane, extra=self.execute)
        self.access.start()
        assert self.dhcp is not None
        self.dhcp.start()
        super().startService()
        self.log.info('MAG {name} ready on {links}', name=self.mag_config.name, links=' '.join(self.access.links))

    def execute(self, action: Any) -> None:
        """The MAG's own actions: DHCP ones to the DHCP server, the rest to the access links."""
        assert self.access is not None and self.dhcp is not None
        if not self.dhcp.execute(action):
            self.access.execute(action)

    def stopService(self) -> Any:
        if self.dhcp is not None:
            self.dhcp.stop()
        if self.access is not None:
            self.access.stop()
        return super().stopService()
