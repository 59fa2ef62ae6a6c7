"""ControlAPI: the management plane's one door into the running daemon.

The CLI handlers see only `pmiprouter.cli.handlers.operational.Control` and plain views;
this facade turns the root service and its engines into those views, commits configuration
changes atomically, keeps the logging buffer, the debug switches and the list of open
management sessions. Everything runs on the reactor thread.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

from twisted.application.service import MultiService
from twisted.logger import ILogObserver, Logger, LogLevel, formatEvent, globalLogPublisher
from zope.interface import implementer

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.operational import BindingView, LmaView, MagEntryView, MagView, TunnelView, UserLine
from pmiprouter.cli.session import ConfigStore, MemoryStore
from pmiprouter.config.model import RouterConfig
from pmiprouter.config.validate import validate
from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.runtime.mgmt_debug import DebugTaps
from pmiprouter.runtime.service import LmaService, MagService, apply_config, lma_services

LOG_BUFFER_LINES = 500
log = Logger()


class Terminal(Protocol):
    """A management session as the ControlAPI sees it (SSH channel or control socket)."""

    line: str
    user: str
    where: str
    last_input: float

    def monitor_line(self, text: str) -> None:
        """Show `text` on the session if it has `terminal monitor` on."""


@dataclass
class _Sessions:
    terminals: list[Terminal] = field(default_factory=list)
    next_vty: int = 0


def _ipv4_text(ipv4: Ipv4HomeAddress | None) -> str | None:
    """An IPv4 home address as the views show it (address/length), or None."""
    return f'{ipv4.ip}/{ipv4.prefix_length}' if ipv4 is not None else None


def _remaining_s(expires_at: float, now: float) -> int:
    """Whole seconds left until `expires_at`; 0 once past (a timer may be a tick late)."""
    return max(0, int(expires_at - now))


def _binding_view(entry: BindingCacheEntry, now: float) -> BindingView:
    return BindingView(
        binding_id=entry.binding_id,
        mn_id=entry.mn_id.text,
        state=entry.state.value,
        proxy_coa=str(entry.proxy_coa),
        transport=entry.transport.value,
        att=entry.att,
        ll_id=entry.mn_ll_id.hex(':'),
        hnps=tuple(str(prefix) for prefix in entry.hnps),
        ipv4=_ipv4_text(entry.ipv4),
        lifetime_s=entry.lifetime_s,
        remaining_s=_remaining_s(entry.expires_at, now),
        gre_key_in=entry.gre_key_in,
        gre_key_out=entry.gre_key_out,
        sequence=entry.sequence,
    )


class ControlAPI:
    """The running daemon, as the CLI may see and change it.

    Args:
        root: the daemon's root service (its `LmaService` children are the LMAs).
        config: the configuration the daemon started with.
        store: where `write memory` saves (the startup-config file).
        clock: returns the reactor's time (`reactor.seconds`); timers use it.
    """

    def __init__(
        self,
        root: MultiService,
        config: RouterConfig,
        store: ConfigStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.running = config
        self.applied = config
        self.store = store if store is not None else MemoryStore()
        self.clock = clock
        self.started = clock()
        # Lines, or log events formatted only when shown: formatting every event cost more than
        # handling the PBU that caused it.
        self.log_buffer: collections.deque[str | dict[str, Any]] = collections.deque(maxlen=LOG_BUFFER_LINES)
        self.sessions = _Sessions()
        self.auth_failures = 0
        self.debug = DebugTaps(self.emit_debug)
        self._observer: Any = None
        #: Called with (old, new) after a configuration was put in force (e.g. the SSH port).
        self.listeners: list[Callable[[RouterConfig, RouterConfig], None]] = []

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Begin keeping the logging buffer (and copying lines to monitoring sessions)."""

        @implementer(ILogObserver)
        def observe(event: dict[str, Any]) -> None:
            level = event.get('log_level', LogLevel.info)
            if level < LogLevel.info and not self.debug.active:
                return
            if self.sessions.terminals:
                self._record(self._format(event))
            else:
                self.log_buffer.append(event)

        self._observer = observe
        globalLogPublisher.addObserver(observe)

    def stop(self) -> None:
        """Stop observing the log and remove the debug taps."""
        if self._observer is not None:
            globalLogPublisher.removeObserver(self._observer)
            self._observer = None
        self.debug.set(None, False, [])

    def _format(self, event: dict[str, Any]) -> str:
        level = event.get('log_level', LogLevel.info)
        stamp = time.strftime('%b %d %H:%M:%S', time.gmtime(event.get('log_time', self.clock())))
        return f'*{stamp}: %{event.get("log_namespace", "pmiprouter")}-{level.name}: {formatEvent(event)}'

    def _record(self, line: str) -> None:
        self.log_buffer.append(line)
        for terminal in list(self.sessions.terminals):
            terminal.monitor_line(line)

    def emit_debug(self, category: str, text: str) -> None:
        """A debug line (from the taps): buffered and shown on monitoring sessions."""
        stamp = time.strftime('%b %d %H:%M:%S', time.gmtime(self.clock()))
        self._record(f'*{stamp}: PMIPv6 {category}: {text}')

    # ---- configuration -----------------------------------------------------------------

    @property
    def config(self) -> RouterConfig:
        """The running configuration (shared by every session)."""
        return self.running

    def problems(self) -> list[str]:
        """Why the running configuration is not in force yet (an unfinished edit)."""
        return [problem.message for problem in validate(self.running)] if self.running != self.applied else []

    def commit(self, config: RouterConfig) -> str | None:
        """Make `config` the running configuration and, when it validates, put it in force.

        A configuration that does not validate yet (a new LMA block still without its
        address) becomes the running text but changes nothing in the engines until a later
        command completes it. Putting a valid one in force is all-or-nothing: if any
        service refuses it, the previous one is put back and `CommandError` is raised.
        """
        if validate(config):
            self.running = config
            return None
        try:
            apply_config(self.root, config)
            for listener in list(self.listeners):  # e.g. SSH re-listening: its refusal refuses the change
                listener(self.applied, config)
        except Exception as err:  # noqa: BLE001 - any failure must roll back, then be reported
            try:
                apply_config(self.root, self.applied)
            except Exception as again:  # noqa: BLE001 - report both; the log has the details
                raise CommandError(f'Change refused ({err}); restoring the previous one also failed ({again})') from err
            raise CommandError(f'Change refused, nothing changed: {err}') from err
        self.running, self.applied = config, config
        self.debug.retap([s.driver for s in self._services() if s.driver is not None])  # roles it started
        return None

    def adopt(self, config: RouterConfig) -> None:
        """Take a configuration the daemon already applied (SIGHUP reload) as the running one."""
        old, self.running, self.applied = self.applied, config, config
        self._notify(old, config)

    def _notify(self, old: RouterConfig, new: RouterConfig) -> None:
        for listener in list(self.listeners):
            try:
                listener(old, new)
            except Exception:  # noqa: BLE001 - a listener's failure must not undo an applied change
                log.failure('configuration listener failed')

    # ---- snapshots ---------------------------------------------------------------------

    def _services(self) -> list[LmaService]:
        return lma_services(self.root)

    def lmas(self) -> list[LmaView]:
        """Plain-data snapshots of the running LMAs."""
        now = self.clock()
        views = []
        for service in self._services():
            engine = service.engine
            tunnels = tuple(
                TunnelView(str(spec.local), str(spec.remote), spec.mode.value, users)
                for spec, users in sorted(engine.tunnel_users.items(), key=lambda item: str(item[0].remote))
                if users
            )
            addresses = sorted(engine.policy.lma_addresses, key=lambda a: (a.version, int(a)))
            views.append(LmaView(
                config=service.lma_config,
                addresses=tuple(str(a) for a in addresses),
                restart_counter=engine.restart_counter,
                bindings=tuple(_binding_view(e, now) for e in engine.bindings()),
                tunnels=tunnels,
                stats={**engine.stats.snapshot(), 'kernel-drops': service.kernel_drops(),
                       'forwarding': service.forwarding()},
            ))
        return views

    def mags(self) -> list[MagView]:
        """Plain-data snapshots of the running MAGs."""
        now = self.clock()
        views = []
        for service in (s for s in self.root if isinstance(s, MagService)):
            entries = tuple(
                MagEntryView(
                    entry_id=e.entry_id,
                    mn_id=e.mn_id.text,
                    ifname=e.ifname,
                    mac=e.mac.hex(':'),
                    state=e.state.value if e.state is not None else 'new',
                    local=str(e.local),
                    lma=str(e.lma),
                    hnps=tuple(str(p) for p in e.hnps),
                    ipv4=_ipv4_text(e.ipv4),
                    lifetime_s=e.lifetime_s,
                    remaining_s=_remaining_s(e.expires_at, now),
                )
                for e in service.engine.entries()
            )
            links = tuple(service.access.links) if service.access is not None else ()
            stats = {**service.engine.stats.snapshot(), 'access': service.access_drops(),
                     'kernel-drops': service.kernel_drops(), 'forwarding': service.forwarding()}
            views.append(MagView(service.mag_config, links, entries, stats))
        return views

    # ---- clear -----------------------------------------------------------------------------

    def clear_bindings(self, nai: str | None) -> int:
        """Revoke the LMA bindings of `nai` (all when None) with RFC 5846 BRIs; return how many.

        Each binding's MAG is told (Administrative Reason) and drops it; the LMA deletes the
        binding and frees its prefixes, IPv4 address, GRE key and routes on the BRA, or
        after the last BRI retry when the MAG never answers.
        """
        return self._revoke(lambda engine, now: engine.revoke(nai, now))

    def clear_mag_peer_bindings(self, mag: IPv4Address | IPv6Address) -> int:
        """Revoke every LMA binding with one MAG in one global BRI (RFC 5846 §8.1); return how many."""
        return self._revoke(lambda engine, now: engine.revoke_mag(mag, now))

    def _revoke(self, revoke: Callable[[Any, float], tuple[int, list[Any]]]) -> int:
        """Run one revocation on every running LMA engine and carry out its actions; return the count."""
        count = 0
        for service in self._services():
            driver = service.driver
            if driver is None:
                continue
            cleared, actions = revoke(service.engine, driver.clock.seconds())
            count += cleared
            driver.run(actions)
        return count

    def clear_mag_bindings(self, nai: str | None) -> int:
        """De-register the MAG bindings of `nai` (all when None): PBU lifetime 0, then clean-up."""
        count = 0
        for service in (s for s in self.root if isinstance(s, MagService)):
            driver = service.driver
            if driver is None:
                continue
            cleared, actions = service.engine.clear(nai, driver.clock.seconds())
            count += cleared
            driver.run(actions)
        return count

    def clear_stats(self, role: str = 'lma') -> None:
        """Zero the message counters of every LMA (role 'lma') or MAG ('mag')."""
        kind = LmaService if role == 'lma' else MagService
        for service in (s for s in self.root if isinstance(s, kind)):
            service.engine.stats.clear()
            service.clear_kernel_drops()
            service.clear_forwarding()
            if isinstance(service, MagService):
                service.clear_access_drops()

    # ---- sessions, time, debug ---------------------------------------------------------------

    def now(self) -> float:
        """Wall-clock time."""
        return time.time()

    def uptime(self) -> float:
        """Seconds since the daemon started."""
        return self.clock() - self.started

    def attach(self, terminal: Terminal) -> str:
        """Register a management session; return its line name (`vty N`)."""
        self.sessions.terminals.append(terminal)
        line = f'vty {self.sessions.next_vty}'
        self.sessions.next_vty += 1
        return line

    def detach(self, terminal: Terminal) -> None:
        """Forget a closed session."""
        if terminal in self.sessions.terminals:
            self.sessions.terminals.remove(terminal)

    def users(self) -> list[UserLine]:
        """Open management sessions."""
        now = self.clock()
        return [UserLine(t.line, t.user, t.where, int(now - t.last_input)) for t in self.sessions.terminals]

    def log_lines(self) -> list[str]:
        """The logging buffer."""
        return [item if isinstance(item, str) else self._format(item) for item in self.log_buffer]

    def debugging(self) -> set[str]:
        """Active debug categories."""
        return set(self.debug.active)

    def set_debug(self, category: str | None, on: bool) -> None:
        """Switch a debug category (None: all) and (re)install the taps on the drivers."""
        self.debug.set(category, on, [s.driver for s in self._services() if s.driver is not None])
