"""The CLI on a Twisted Conch SSH channel: shell and exec requests of one logged-in user.

`ShellAvatar` is what the realm returns after authentication; its `ISession` adapter
(`ShellSession`) opens a `Shell` (line discipline over a Session on the daemon) for a
shell request and runs one command for an exec request. A shell with no PTY, or with
`TERM=dumb`, gets the plain line mode: no paging, no escape sequence.
"""

from __future__ import annotations

from typing import Any

from twisted.conch.avatar import ConchUser
from twisted.conch.interfaces import ISession
from twisted.conch.ssh import session
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.protocol import Protocol
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

from pmiprouter.runtime.control import ControlAPI
from pmiprouter.runtime.mgmt_shell import Shell, run_once

PLAIN_TERMS = {b'', b'dumb', b'unknown'}


class ShellAvatar(ConchUser):
    """A user logged in over SSH, with the privilege level of their `username` line."""

    def __init__(self, control: ControlAPI, username: str, privilege: int, peer: str) -> None:
        super().__init__()
        self.control = control
        self.username = username
        self.privilege = privilege
        self.peer = peer
        self.channelLookup[b'session'] = session.SSHSession


class _ChannelProtocol(Protocol):
    """Bytes from the SSH channel to the Shell."""

    def __init__(self, owner: ShellSession) -> None:
        self.owner = owner

    def dataReceived(self, data: bytes) -> None:
        if self.owner.shell is not None:
            self.owner.shell.data(data)

    def connectionLost(self, reason: object = None) -> None:
        if self.owner.shell is not None:
            self.owner.shell.lost()


@implementer(ISession)
class ShellSession:
    """`ISession` of a ShellAvatar: PTY bookkeeping, shell and exec requests."""

    def __init__(self, avatar: ShellAvatar) -> None:
        self.avatar = avatar
        self.term: bytes | None = None
        self.size = (24, 80)
        self.shell: Shell | None = None

    def getPty(self, term: bytes, windowSize: Any, modes: Any) -> None:
        """Remember the terminal type and size; Conch gives (rows, cols, xpixel, ypixel)."""
        self.term = term
        self.size = (int(windowSize[0]), int(windowSize[1]))

    def windowChanged(self, newWindowSize: Any) -> None:
        """Follow the terminal's new size."""
        self.size = (int(newWindowSize[0]), int(newWindowSize[1]))
        if self.shell is not None:
            self.shell.resize(self.size[1], self.size[0])

    def openShell(self, transport: Any) -> None:
        """Start the CLI on the channel."""
        interactive = self.term is not None and self.term.lower() not in PLAIN_TERMS
        protocol = _ChannelProtocol(self)
        self.shell = Shell(
            self.avatar.control,
            user=self.avatar.username,
            where=self._peer(),
            privilege=self.avatar.privilege,
            write=transport.write,
            close=lambda: transport.processEnded(Failure(ProcessDone(0))),  # exit status 0, then close
            interactive=interactive,
        )
        if interactive:
            self.shell.resize(self.size[1], self.size[0])
        protocol.makeConnection(transport)
        transport.makeConnection(session.wrapProtocol(protocol))
        self.shell.start()

    def _peer(self) -> str:
        """The client's address (`show users`), from the SSH connection of the avatar."""
        conn = getattr(self.avatar, 'conn', None)
        try:
            return str(conn.transport.transport.getPeer().host)  # type: ignore[union-attr]
        except AttributeError:
            return self.avatar.peer or 'ssh'

    def execCommand(self, transport: Any, command: bytes) -> None:
        """`ssh host 'show version'`: one command, its output, exit status 0 or 1.

        The answer goes out on the next reactor turn: Conch confirms the exec request only
        after this method returns, and a channel closed before that confirmation looks
        like a refused request to clients (paramiko raises "Channel closed").
        """
        from twisted.internet import reactor

        reactor.callLater(0, self._exec, transport, command)  # type: ignore[attr-defined]

    def _exec(self, transport: Any, command: bytes) -> None:
        # Connect the channel as for a shell: Twisted 22.4 closes it through that protocol.
        protocol = Protocol()
        protocol.makeConnection(transport)
        transport.makeConnection(session.wrapProtocol(protocol))
        output, status = run_once(self.avatar.control, self.avatar.privilege, command.decode('utf-8', 'replace'))
        if self.term is not None:
            output = output.replace('\n', '\r\n')
        transport.write(output.encode('utf-8'))
        reason = ProcessDone(0) if status == 0 else ProcessTerminated(exitCode=status)
        transport.processEnded(Failure(reason))

    def eofReceived(self) -> None:
        """The client closed its input: nothing more will be typed."""
        if self.shell is not None:
            self.shell.discipline.close()

    def closed(self) -> None:
        """The channel closed."""
        if self.shell is not None:
            self.shell.lost()


components.registerAdapter(ShellSession, ShellAvatar, ISession)
