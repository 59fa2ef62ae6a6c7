"""The SSH server of the appliance (Twisted Conch): host keys, authentication, listening.

* Host keys (Ed25519 and RSA-3072) are generated at first start under the state
  directory, mode 0600, and kept; they never ship in the package.
* Users are the configuration's `username` lines, read live at each login: password
  authentication verifies their type 5/8/9 hash in a thread (scrypt is slow on purpose),
  public-key authentication uses `<state-dir>/ssh/authorized_keys/USERNAME` files.
  No user, no login: a fresh install logs how to create the first one.
* `ip ssh time-out` and `ip ssh authentication-retries` are read at each connection;
  `ip ssh port` at start and whenever it changes (the listener moves).
* Only AES-CTR, HMAC-SHA2 and curve25519/ECDH key exchanges are offered.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twisted.application.service import Service
from twisted.conch.checkers import IAuthorizedKeysDB, SSHPublicKeyChecker
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import connection, factory, keys, transport, userauth
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from zope.interface import implementer

from pmiprouter.cli.frontends.conch import ShellAvatar
from pmiprouter.config.model import Secret, find
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


@implementer(IAuthorizedKeysDB)
class KeyFiles:
    """Public keys per user from `DIR/USERNAME` (OpenSSH authorized_keys format)."""

    def __init__(self, control: ControlAPI, directory: Path) -> None:
        self.control = control
        self.directory = directory

    def getAuthorizedKeys(self, username: bytes) -> Iterable[keys.Key]:
        """Keys of a configured user; none for anybody else."""
        name = username.decode('utf-8', 'replace')
        if find(self.control.config.users, name) is None or '/' in name or name.startswith('.'):
            return []
        try:
            lines = (self.directory / name).read_bytes().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            if line.strip() and not line.startswith(b'#'):
                try:
                    out.append(keys.Key.fromString(line.strip()))
                except keys.BadKeyError:
                    log.warn('SSH: unreadable key for {user} ignored', user=name)
        return out


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


class SshService(Service):
    """Listens for SSH on `ip ssh port` at each listen address."""

    def __init__(self, reactor: Any, control: ControlAPI, state_dir: Path, addresses: tuple[str, ...] = ('::',)) -> None:
        self.reactor = reactor
        self.control = control
        self.key_dir = state_dir / 'ssh'
        self.addresses = addresses
        self.ports: list[IListeningPort] = []
        self.factory: PmipSSHFactory | None = None
        self.port = 0

    def privilegedStartService(self) -> None:
        """Open the listening port (root may be needed below 1024).

        A port already taken (the host's own sshd on 22) is logged, not fatal: the daemon
        and its local shell run on, and `ip ssh port N` tries again.
        """
        if self.factory is None:
            realm = ShellRealm(self.control)
            checkers = [ConfigPasswordChecker(self.control),
                        SSHPublicKeyChecker(KeyFiles(self.control, self.key_dir / 'authorized_keys'))]
            self.factory = PmipSSHFactory(self.control, Portal(realm, checkers), host_keys(self.key_dir), self.reactor)
            self.control.listeners.append(self._config_changed)
            try:
                self._listen(self.control.config.ssh.port)
            except CannotListenError as err:
                log.error('SSH: cannot listen on port {port}: {error}; set another with `ip ssh port N`',
                          port=self.control.config.ssh.port, error=err.socketError)
        super().privilegedStartService()

    def _listen(self, port: int) -> None:
        self.ports = [self.reactor.listenTCP(port, self.factory, interface=a) for a in self.addresses]
        self.port = port

    def _config_changed(self, old: Any, new: Any) -> None:
        """`ip ssh port N` moves the listener at once (open sessions stay where they are)."""
        if (new.ssh.port == self.port and self.ports) or not self.running:
            return
        old_ports, old_port = self.ports, self.port
        try:
            self._listen(new.ssh.port)
        except CannotListenError as err:
            self.ports, self.port = old_ports, old_port
            log.error('SSH: cannot listen on port {port}: {error}; still on {old}',
                      port=new.ssh.port, error=err.socketError, old=old_port if old_ports else 'none')
            return
        for port in old_ports:
            port.stopListening()
        log.info('SSH server moved to port {port}', port=self.port)

    def startService(self) -> None:
        if self.factory is None:
            self.privilegedStartService()
        super().startService()
        if self.ports:
            log.info('SSH server listening on port {port}', port=self.port)
        if not self.control.config.users:
            log.warn(FIRST_USER_HINT)

    def stopService(self) -> Any:
        super().stopService()
        if self._config_changed in self.control.listeners:
            self.control.listeners.remove(self._config_changed)
        self.factory = None
        ports, self.ports = self.ports, []
        return gatherResults([port.stopListening() for port in ports]) if ports else None
