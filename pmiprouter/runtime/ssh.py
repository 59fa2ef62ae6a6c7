"""The SSH server of the appliance (Twisted Conch): host keys, authentication, listening.

* Host keys (Ed25519 and RSA-3072) are generated at first start under the state
  directory, mode 0600, and kept; they never ship in the package.
* Users are the configuration's `username` lines, read live at each login: password
  authentication verifies their type 5/8/9 hash in a thread (scrypt is slow on purpose),
  public-key authentication the `ip ssh pubkey-chain` key hashes of the configuration.
  No user, no login: a fresh install logs how to create the first one.
* `ip ssh time-out` and `ip ssh authentication-retries` are read at each connection;
  `ip ssh port` and `ip ssh listen-address` at start and whenever they change (the
  listeners move; open sessions stay).
* Only AES-CTR, HMAC-SHA2 and curve25519/ECDH key exchanges are offered.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from twisted.application.service import Service
from twisted.conch.error import ValidPublicKey
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import connection, factory, keys, transport, userauth
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import ISSHPrivateKey, IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from zope.interface import implementer

from pmiprouter.cli.frontends.conch import ShellAvatar
from pmiprouter.cli.handlers.ssh import fingerprint
from pmiprouter.config.model import RouterConfig, Secret, find
from pmiprouter.config.secrets import hash_password, verify
from pmiprouter.runtime.control import ControlAPI

log = Logger()
FIRST_USER_HINT = (
    'SSH: no user is configured, nobody can log in; on the box run `pmiprouter cli`, then '
    '`configure terminal`, `username NAME privilege 15 secret PASSWORD`, `end`, `write memory`'
)


def host_keys(directory: Path) -> dict[bytes, keys.Key]:
    """The host keys by SSH key type, generated on first use and kept (0600)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    found: dict[bytes, keys.Key] = {}
    # The primitives come through Conch's keys module (as Conch's own ckeygen does): Conch
    # is the dependency that brings `cryptography` (debian/control lists python3-twisted).
    for name, generate in (
        ('ssh_host_ed25519_key', lambda: keys.Ed25519PrivateKey.generate()),  # type: ignore[union-attr]
        ('ssh_host_rsa_key', lambda: keys.rsa.generate_private_key(public_exponent=65537, key_size=3072)),
    ):
        path = directory / name
        if not path.exists():
            key = keys.Key(generate())
            fd = os.open(path.with_suffix('.tmp'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(key.toString('openssh'))
            os.replace(path.with_suffix('.tmp'), path)
            log.info('SSH: generated host key {path}', path=str(path))
        key = keys.Key.fromFile(str(path))
        found[key.sshType()] = key
    return found


@implementer(ICredentialsChecker)
class ConfigPasswordChecker:
    """Passwords of the running configuration's users (type 5/8/9 hashes)."""

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, control: ControlAPI) -> None:
        self.control = control
        # Unknown users cost the same scrypt as known ones: the timing tells nothing.
        self.decoy: Secret = hash_password(os.urandom(16).hex())

    def requestAvatarId(self, credentials: Any) -> Deferred[bytes]:
        """Verify in a thread; count and log failures."""
        name = credentials.username.decode('utf-8', 'replace')
        password = credentials.password.decode('utf-8', 'replace')
        user = find(self.control.config.users, name)
        secret = user.secret if user is not None else self.decoy
        checked: Deferred[bool] = deferToThread(verify, secret, password)

        def decide(ok: bool) -> bytes:
            if ok and user is not None:
                log.info('SSH: user {user} logged in (password)', user=name)
                return credentials.username  # type: ignore[no-any-return]
            self.control.auth_failures += 1
            log.warn('SSH: login failed for user {user} (password)', user=name)
            raise UnauthorizedLogin('bad password')

        return checked.addCallback(decide)


@implementer(ICredentialsChecker)
class ConfigKeyChecker:
    """Public keys of `ip ssh pubkey-chain`, matched by their IOS key hash (MD5 of the blob).

    The user must also have a `username` line (it gives the privilege). A key the chain
    does not hold is refused before any signature is asked for; a listed one must then
    sign the session (Conch's `ValidPublicKey` round trip).
    """

    credentialInterfaces = (ISSHPrivateKey,)

    def __init__(self, control: ControlAPI) -> None:
        self.control = control

    def requestAvatarId(self, credentials: Any) -> Deferred[bytes]:
        return maybeDeferred(self._check, credentials)

    def _check(self, credentials: Any) -> bytes:
        name = credentials.username.decode('utf-8', 'replace')
        try:
            key = keys.Key.fromString(credentials.blob)
        except (keys.BadKeyError, ValueError) as err:
            raise UnauthorizedLogin('unreadable key') from err
        config = self.control.config
        chain = find(config.ssh.pubkey_users, name)
        wanted = (key.sshType().decode('ascii', 'replace'), fingerprint(credentials.blob))
        if chain is None or find(config.users, name) is None or find(chain.keys, wanted) is None:
            raise UnauthorizedLogin('key not in the pubkey-chain')
        if not credentials.signature:
            raise ValidPublicKey()  # known key: the client is asked to sign with it
        if not key.verify(credentials.signature, credentials.sigData):
            self.control.auth_failures += 1
            log.warn('SSH: login failed for user {user} (bad key signature)', user=name)
            raise UnauthorizedLogin('bad signature')
        log.info('SSH: user {user} logged in (public key {hash})', user=name, hash=wanted[1])
        return credentials.username  # type: ignore[no-any-return]


@implementer(IRealm)
class ShellRealm:
    """Logged-in users become ShellAvatars with their configured privilege."""

    def __init__(self, control: ControlAPI) -> None:
        self.control = control

    def requestAvatar(self, avatarId: bytes, mind: Any, *interfaces: Any) -> tuple[Any, Any, Any]:
        name = avatarId.decode('utf-8', 'replace')
        user = find(self.control.config.users, name)
        privilege = user.privilege if user is not None else 1
        avatar = ShellAvatar(self.control, name, privilege, peer=str(mind or ''))
        return IConchUser, avatar, lambda: None


class ModernServerTransport(transport.SSHServerTransport):
    """Offers only AES-CTR, HMAC-SHA2 and elliptic-curve key exchange (no SHA-1, no CBC).

    `ip ssh time-out` bounds the whole negotiation, from TCP connect to authentication
    (Conch's own timer starts only when the client asks for ssh-userauth).
    """

    supportedCiphers = [b'aes256-ctr', b'aes128-ctr']
    supportedMACs = [b'hmac-sha2-512', b'hmac-sha2-256']
    supportedKeyExchanges = [b'curve25519-sha256', b'curve25519-sha256@libssh.org', b'ecdh-sha2-nistp256']
    login_timer: Any = None
    #: Failed attempts on this connection: clients (paramiko) request ssh-userauth again
    #: for each attempt, which gives Conch a fresh counter every time.
    login_attempts = 0

    def connectionMade(self) -> None:
        super().connectionMade()
        timeout = self.factory.control.config.ssh.timeout_s
        self.login_timer = self.factory.reactor.callLater(timeout, self._login_timed_out)

    def _login_timed_out(self) -> None:
        self.login_timer = None
        if not isinstance(self.service, connection.SSHConnection):
            log.info('SSH: login time-out, disconnecting')
            self.sendDisconnect(transport.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, b'login time-out')

    def connectionLost(self, reason: Any) -> None:
        if self.login_timer is not None and self.login_timer.active():
            self.login_timer.cancel()
        self.login_timer = None
        super().connectionLost(reason)


class UserAuthServer(userauth.SSHUserAuthServer):
    """Counts failed attempts per connection, not per ssh-userauth service request."""

    @property  # type: ignore[override]
    def loginAttempts(self) -> int:
        return int(getattr(self.transport, 'login_attempts', 0))

    @loginAttempts.setter
    def loginAttempts(self, value: int) -> None:
        if self.transport is not None:
            self.transport.login_attempts = value

    def serviceStarted(self) -> None:
        kept = self.loginAttempts
        super().serviceStarted()  # sets loginAttempts = 0
        self.loginAttempts = kept


class PmipSSHFactory(factory.SSHFactory):
    """Conch factory whose auth limits follow `ip ssh time-out` / `authentication-retries`."""

    protocol = ModernServerTransport

    def __init__(self, control: ControlAPI, portal: Portal, host: dict[bytes, keys.Key], reactor: Any) -> None:
        self.control = control
        self.reactor = reactor
        self.portal = portal
        self.privateKeys = host
        self.publicKeys = {kind: key.public() for kind, key in host.items()}
        self.primes = None  # no moduli file: group exchange stays off, curve25519/ECDH remain

    def getService(self, transport: Any, service: bytes) -> Any:
        ssh = self.control.config.ssh
        if service == b'ssh-userauth':
            return type('UserAuth', (UserAuthServer,), {
                'loginTimeout': ssh.timeout_s,
                'attemptsBeforeDisconnect': ssh.authentication_retries,
            })
        if service == b'ssh-connection':
            return connection.SSHConnection
        return None


Endpoint = tuple[str, int]


class SshService(Service):
    """Listens for SSH on `ip ssh port` at each `ip ssh listen-address` (default: every address).

    A change of port or addresses re-listens at once, make-before-break: the new sockets
    open while the old ones still listen (endpoints that stay are kept as they are), and
    only then are the old ones closed. Open sessions are connections, not listeners: they
    stay. When the new endpoints cannot be opened the old ones are kept and the change is
    refused (ControlAPI puts the previous configuration back).
    """

    def __init__(self, reactor: Any, control: ControlAPI, state_dir: Path, addresses: tuple[str, ...] = ('::',)) -> None:
        self.reactor = reactor
        self.control = control
        self.key_dir = state_dir / 'ssh'
        self.default_addresses = addresses
        self.ports: dict[Endpoint, IListeningPort] = {}
        self.factory: PmipSSHFactory | None = None

    def endpoints(self, config: RouterConfig) -> list[Endpoint]:
        """Where `config` says to listen."""
        addresses = [str(a) for a in config.ssh.listen_addresses] or list(self.default_addresses)
        return [(address, config.ssh.port) for address in addresses]

    def privilegedStartService(self) -> None:
        """Open the listening ports (root may be needed below 1024).

        A port already taken (the host's own sshd on 22) is logged, not fatal: the daemon
        and its local shell run on, and `ip ssh port N` tries again.
        """
        if self.factory is None:
            realm = ShellRealm(self.control)
            checkers = [ConfigPasswordChecker(self.control), ConfigKeyChecker(self.control)]
            self.factory = PmipSSHFactory(self.control, Portal(realm, checkers), host_keys(self.key_dir), self.reactor)
            self.control.listeners.append(self._config_changed)
            # At start every endpoint that can be opened is (an address missing from the box
            # must not keep SSH off the others); live changes are all-or-nothing.
            for endpoint in self.endpoints(self.control.config):
                try:
                    self._relisten([*self.ports, endpoint])
                except CannotListenError as err:
                    log.error('SSH: cannot listen on [{address}]:{port}: {error}; set another with `ip ssh port N`'
                              ' or `ip ssh listen-address`', address=err.interface, port=err.port, error=err.socketError)
        super().privilegedStartService()

    def _relisten(self, wanted: list[Endpoint]) -> None:
        """Listen on exactly `wanted`, make-before-break; on failure nothing changed.

        Raises:
            CannotListenError: an endpoint could not be opened.
        """
        opened: dict[Endpoint, IListeningPort] = {}
        try:
            for endpoint in wanted:
                if endpoint not in self.ports and endpoint not in opened:
                    opened[endpoint] = self._open(endpoint)
        except CannotListenError:
            for port in opened.values():
                port.stopListening()
            raise
        for endpoint in [e for e in self.ports if e not in wanted]:
            self.ports.pop(endpoint).stopListening()
        self.ports.update(opened)

    def _open(self, endpoint: Endpoint) -> IListeningPort:
        """A listening socket adopted by the reactor.

        SO_REUSEPORT lets the new socket bind while an old one of ours still listens on an
        overlapping endpoint (`::` then `127.0.0.1` on one port); Linux shares a port only
        between sockets that all set it, of one user, so another program's sshd still
        makes the port "taken". Twisted closes a stopped listener only on the next reactor
        turn, which is why make-before-break needs it even for the same endpoint.
        """
        address, port = endpoint
        family = socket.AF_INET6 if ':' in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and address == '::':
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # `::` means IPv4 too
            sock.bind((address, port))
            sock.listen(50)
            sock.setblocking(False)
            return self.reactor.adoptStreamPort(sock.fileno(), family, self.factory)  # type: ignore[no-any-return]
        except OSError as err:
            raise CannotListenError(address, port, err) from err
        finally:
            sock.close()  # the reactor holds its own duplicate of the descriptor

    def _config_changed(self, old: RouterConfig, new: RouterConfig) -> None:
        """`ip ssh port` / `listen-address` re-listen at once (open sessions stay).

        Raises:
            CannotListenError: the new endpoints cannot be opened (the old ones are kept).
        """
        wanted = self.endpoints(new)
        if not self.running or self.factory is None or sorted(wanted) == sorted(self.ports):
            return
        before = sorted(self.ports)
        self._relisten(wanted)
        log.info('SSH server now listening on {where} (was {before})',
                 where=_where(sorted(self.ports)), before=_where(before) or 'nothing')

    def startService(self) -> None:
        if self.factory is None:
            self.privilegedStartService()
        super().startService()
        if self.ports:
            log.info('SSH server listening on {where}', where=_where(sorted(self.ports)))
        if not self.control.config.users:
            log.warn(FIRST_USER_HINT)

    def stopService(self) -> Any:
        super().stopService()
        if self._config_changed in self.control.listeners:
            self.control.listeners.remove(self._config_changed)
        self.factory = None
        ports, self.ports = list(self.ports.values()), {}
        return gatherResults([port.stopListening() for port in ports]) if ports else None


def _where(endpoints: list[Endpoint]) -> str:
    return ' '.join(f'[{address}]:{port}' for address, port in endpoints)
