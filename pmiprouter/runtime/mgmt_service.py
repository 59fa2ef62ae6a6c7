"""The management plane as one Twisted service: ControlAPI, control socket and SSH server.

`add_management` is the only call the daemon needs (see docs/management.md): it hangs a
`ManagementService` under the root service, after the roles, so that it starts last and
stops first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.application.service import MultiService

from pmiprouter.config.model import RouterConfig
from pmiprouter.config.store import FileStore
from pmiprouter.runtime.control import ControlAPI
from pmiprouter.runtime.control_socket import DEFAULT_PATH, ControlSocketService


class ManagementService(MultiService):
    """Owns the ControlAPI (its log observer) and the listening management services."""

    def __init__(self, control: ControlAPI) -> None:
        super().__init__()
        self.control = control

    def adopt(self, config: RouterConfig) -> None:
        """A configuration reloaded by SIGHUP becomes the shells' running configuration too."""
        self.control.adopt(config)

    def startService(self) -> None:
        self.control.start()
        super().startService()

    def stopService(self) -> Any:
        deferred = super().stopService()
        self.control.stop()
        return deferred


def add_management(
    root: MultiService,
    reactor: Any,
    config: RouterConfig,
    config_path: str | Path,
    state_dir: Path,
    control_socket: Path | None = DEFAULT_PATH,
    ssh: bool = True,
    ssh_addresses: tuple[str, ...] = ('::',),
) -> ControlAPI:
    """Add the management plane to the daemon's root service; return its ControlAPI.

    Args:
        root: the root service from `make_service`.
        reactor: the reactor.
        config: the configuration the daemon starts with.
        config_path: the startup-config file (`write memory` rewrites it atomically).
        state_dir: where the SSH host keys and authorized keys live.
        control_socket: the unix socket of `pmiprouter cli`; None for none.
        ssh: whether to run the SSH server.
        ssh_addresses: where SSH listens when the configuration has no
            `ip ssh listen-address` (`::` is every IPv6 and IPv4 address).
    """
    for service in root:
        if isinstance(service, ManagementService):
            return service.control  # already there (make_service added it)
    control = ControlAPI(root, config, FileStore(config_path), clock=reactor.seconds)
    management = ManagementService(control)
    if control_socket is not None:
        ControlSocketService(reactor, control, control_socket).setServiceParent(management)
    if ssh:
        from pmiprouter.runtime.ssh import SshService

        SshService(reactor, control, state_dir, ssh_addresses).setServiceParent(management)
    management.setServiceParent(root)
    return control
