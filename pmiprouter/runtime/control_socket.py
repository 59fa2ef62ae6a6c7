"""The local control socket: `pmiprouter cli` on the box opens the daemon's shell through it.

A unix stream socket, mode 0600 in a root-owned directory, and the peer must be root
(SO_PEERCRED): whoever can connect is the administrator, so the shell starts at `#`.

Protocol: the client sends one header line, `interactive COLUMNS ROWS` (a terminal in raw
mode on the other side) or `plain` (a script), then raw keystrokes; the daemon answers
with exactly what a terminal shows. Plain mode is the line-mode protocol: echo, output,
prompt, never an escape sequence. When the client's terminal is resized (SIGWINCH) it
sends `\\xff` `W COLUMNS ROWS` `\\n` in the keystroke stream: 0xFF never occurs in UTF-8,
so it cannot be mistaken for typed text.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from twisted.application.service import Service
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IHalfCloseableProtocol, IListeningPort
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from pmiprouter.runtime.control import ControlAPI
from pmiprouter.runtime.mgmt_client import CONTROL
from pmiprouter.runtime.mgmt_shell import Shell

DEFAULT_PATH = Path('/run/pmiprouter/cli.sock')
MAX_HEADER = 128
MAX_CONTROL = 32


class ControlFilter:
    """Separates in-band control messages from keystrokes (bytes may arrive split anyhow)."""

    def __init__(self) -> None:
        self.pending = b''
        self.dropped = 0

    def feed(self, data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
        """Keystrokes of `data`, and the (columns, rows) sizes announced in it."""
        data, self.pending = self.pending + data, b''
        keys = b''
        sizes: list[tuple[int, int]] = []
        while data:
            start = data.find(CONTROL)
            if start < 0:
                keys += data
                break
            keys += data[:start]
            end = data.find(b'\n', start)
            if end < 0:
                if len(data) - start > MAX_CONTROL:
                    self.dropped += 1  # a message never ended: drop it, keep what follows
                    data = data[start + 1 :]
                    continue
                self.pending = data[start:]
                break
            words = data[start + 1 : end].split()
            if len(words) == 3 and words[0] == b'W' and words[1].isdigit() and words[2].isdigit():
                sizes.append((int(words[1]), int(words[2])))
            else:
                self.dropped += 1
            data = data[end + 1 :]
        return keys, sizes


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
    return int(struct.unpack('3i', creds)[1])


@implementer(IHalfCloseableProtocol)
class ControlProtocol(Protocol):
    """One `pmiprouter cli` connection (half-closable: a script's end of input ends it)."""

    log = Logger()

    def __init__(self, control: ControlAPI) -> None:
        self.control = control
        self.header = b''
        self.shell: Shell | None = None
        self.controls = ControlFilter()

    def connectionMade(self) -> None:
        sock = self.transport.socket  # type: ignore[attr-defined]
        uid = peer_uid(sock)
        if uid != 0 and uid != os.geteuid():
            self.transport.write(b'% Permission denied: the control socket is for root\r\n')  # type: ignore[union-attr]
            self.transport.loseConnection()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self.shell is not None:
            self._keys(data)
            return
        self.header += data
        if b'\n' not in self.header:
            if len(self.header) > MAX_HEADER:
                self.transport.loseConnection()  # type: ignore[union-attr]
            return
        header, rest = self.header.split(b'\n', 1)
        words = header.decode('ascii', 'replace').split()
        interactive = bool(words) and words[0] == 'interactive'
        self.shell = Shell(
            self.control,
            user='root',
            where='local',
            privilege=15,
            write=self.transport.write,  # type: ignore[union-attr]
            close=self.transport.loseConnection,  # type: ignore[union-attr]
            interactive=interactive,
        )
        if interactive and len(words) == 3 and words[1].isdigit() and words[2].isdigit():
            self.shell.resize(int(words[1]), int(words[2]))
        self.shell.start()
        if rest:
            self._keys(rest)

    def _keys(self, data: bytes) -> None:
        """Keystrokes to the shell; window sizes to its pager."""
        assert self.shell is not None
        keys, sizes = self.controls.feed(data)
        for columns, rows in sizes:
            self.shell.resize(columns, rows)
        if keys:
            self.shell.data(keys)

    def readConnectionLost(self) -> None:
        """The client's input ended: everything typed was answered, so close."""
        self.transport.loseConnection()  # type: ignore[union-attr]

    def writeConnectionLost(self) -> None:
        """The client stopped reading."""
        self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: object = None) -> None:
        if self.shell is not None:
            self.shell.lost()


class ControlFactory(Factory):
    """Builds a ControlProtocol per connection."""

    def __init__(self, control: ControlAPI) -> None:
        self.control = control

    def buildProtocol(self, addr: object) -> ControlProtocol:
        return ControlProtocol(self.control)


def _remove_stale(path: Path) -> None:
    """Remove a socket file left by a daemon that died (nobody answers on it)."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f'{path}: another pmiprouter daemon is listening there')


class ControlSocketService(Service):
    """Listens on the control socket while the daemon runs."""

    log = Logger()

    def __init__(self, reactor: object, control: ControlAPI, path: Path = DEFAULT_PATH) -> None:
        self.reactor = reactor
        self.control = control
        self.path = Path(path)
        self.port: IListeningPort | None = None
        self.opened = False

    def privilegedStartService(self) -> None:
        """Listen; a path held by another daemon is logged, not fatal (SSH still works)."""
        self.opened = True
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _remove_stale(self.path)
            # mode applies to the socket file; umask covers the moment between bind and chmod.
            old = os.umask(0o177)
            try:
                self.port = self.reactor.listenUNIX(str(self.path), ControlFactory(self.control), mode=0o600)  # type: ignore[attr-defined]
            finally:
                os.umask(old)
        except (OSError, CannotListenError) as err:
            self.log.error('control socket {path} not available: {error}', path=str(self.path), error=err)
        super().privilegedStartService()

    def startService(self) -> None:
        if not self.opened:
            self.privilegedStartService()
        super().startService()
        if self.port is not None:
            self.log.info('control socket listening on {path}', path=str(self.path))

    def stopService(self) -> object:
        super().stopService()
        self.opened = False
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()
        return None
