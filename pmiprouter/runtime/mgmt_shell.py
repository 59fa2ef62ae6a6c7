"""One management shell: a CLI Session on the daemon, its line discipline and bookkeeping.

Shared by the SSH server and the local control socket: both hand it decoded text and a
`write` for bytes, and it registers with the ControlAPI for `show users` and `terminal
monitor`. Exec requests (`ssh host 'show version'`) run through `run_once`.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from pmiprouter.cli.frontends.line import LineDiscipline
from pmiprouter.cli.session import Session
from pmiprouter.runtime.control import ControlAPI


def new_session(control: ControlAPI, privilege: int) -> Session:
    """A CLI session attached to the daemon (shared running config, live commits)."""
    return Session(control.config, store=control.store, privilege=privilege, uptime=control.uptime, control=control)


class Shell:
    """A terminal session on the daemon.

    Args:
        control: the daemon's ControlAPI.
        user: who logged in (`show users`).
        where: where from (address, or `local`).
        privilege: 15 lands at `#`, lower at `>`.
        write: sends bytes to the peer.
        close: closes the connection.
        interactive: a human on a PTY; else plain line mode.
    """

    def __init__(
        self,
        control: ControlAPI,
        *,
        user: str,
        where: str,
        privilege: int,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        interactive: bool,
    ) -> None:
        self.control = control
        self.user = user
        self.where = where
        self.last_input = control.clock()
        self._close = close
        self.session = new_session(control, privilege)
        self.decoder = codecs.getincrementaldecoder('utf-8')('replace')  # keys may split a UTF-8 char
        self.discipline = LineDiscipline(
            self.session, lambda text: write(text.encode('utf-8')), interactive=interactive, on_close=self._closed
        )
        self.line = control.attach(self)
        self.session.extras['line'] = self.line  # `show users` marks this session with `*`

    def start(self) -> None:
        """Print the first prompt."""
        self.discipline.start()

    def data(self, data: bytes) -> None:
        """Bytes typed by the peer."""
        self.last_input = self.control.clock()
        self.discipline.receive(self.decoder.decode(data))

    def monitor_line(self, text: str) -> None:
        """A log or debug line for `terminal monitor`."""
        self.discipline.monitor_line(text)

    def resize(self, columns: int, rows: int) -> None:
        """The terminal changed size: page by its height (IOS learns it from the PTY too)."""
        if self.discipline.interactive and rows > 1:
            self.session.terminal_length = rows
        if columns > 0:
            self.session.terminal_width = columns

    def _closed(self) -> None:
        self.control.detach(self)
        self._close()

    def lost(self) -> None:
        """The connection went away."""
        self.discipline.closed = True
        self.control.detach(self)


def run_once(control: ControlAPI, privilege: int, command: str) -> tuple[str, int]:
    """Run one command (an SSH exec request); return its output and exit status."""
    session = new_session(control, privilege)
    session.terminal_length = 0
    output = session.feed(command)
    return output, 1 if session.last_error is not None else 0
