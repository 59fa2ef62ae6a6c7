"""A minimal IOS line discipline over a byte stream: the shell of SSH and the control socket.

Pure class: characters in (`receive`), text out (the `write` callback). It echoes what is
typed, handles backspace, Ctrl-C/U/W/Z/D, `?` at once (help, then the prompt and the line
again), TAB (completes, or lists the candidates), CR, LF and CRLF as Enter, and the
`--More--` pager. Plain mode (no PTY, `TERM=dumb`, automation) writes no escape sequence
at all; interactive mode adds history on the arrow keys, which redraw the line with
`\\r` + the prompt + `ESC[K` only when those keys are pressed. See docs/adr/0007.
"""

from __future__ import annotations

from collections.abc import Callable

from pmiprouter.cli.output import MORE, Pager
from pmiprouter.cli.session import Session

Write = Callable[[str], None]

_ARROWS = {'A': 'up', 'B': 'down', 'C': 'right', 'D': 'left'}


class LineDiscipline:
    """Feeds typed characters to a `Session` and writes what a terminal shows.

    Args:
        session: the CLI session.
        write: sends text to the user; `\\n` is translated to `\\r\\n` here.
        interactive: a human on a PTY (paging and history keys); else plain mode.
        on_close: called once when the session ends (`exit`, Ctrl-D).
    """

    def __init__(self, session: Session, write: Write, *, interactive: bool, on_close: Callable[[], None]) -> None:
        self.session = session
        self._write = write
        self.interactive = interactive
        self.on_close = on_close
        self.buffer = ''
        self.history: list[str] = []
        self.history_pos = 0
        self.pager = Pager(0)
        self._escape = ''
        self._last_cr = False
        self.closed = False
        if not interactive:
            session.terminal_length = 0  # paging is for humans on a terminal (IOS: exec channels)

    def write(self, text: str) -> None:
        """Write `text` with network line endings."""
        if text:
            self._write(text.replace('\r\n', '\n').replace('\n', '\r\n'))

    def start(self, banner: str = '') -> None:
        """Show the banner and the first prompt."""
        self.write(banner)
        self.write(self.session.prompt)

    def monitor_line(self, text: str) -> None:
        """A `terminal monitor` line: printed above the prompt, which is then redrawn."""
        if self.closed or not self.session.monitor or self.pager.waiting:
            return
        self.write('\n' + text + '\n' + self.session.prompt + (self.buffer if self.session.echo else ''))

    # ---- input ---------------------------------------------------------------------------

    def receive(self, data: str) -> None:
        """Process typed (or pasted) characters."""
        for char in data:
            if self.closed:
                return
            self._char(char)

    def _char(self, char: str) -> None:
        if self.pager.waiting:
            self._more(char)
            return
        if self._escape:
            self._escape_char(char)
            return
        was_cr, self._last_cr = self._last_cr, char == '\r'
        if char == '\n' and was_cr:
            return  # the LF of a CRLF
        if char in '\r\n':
            self._enter()
        elif char == '\x1b':
            self._escape = char
        elif char in ('\x7f', '\x08'):
            if self.buffer:
                self.buffer = self.buffer[:-1]
                if self.session.echo:
                    self.write('\b \b')
        elif char == '\x03':  # Ctrl-C abandons the line (and a pending question)
            self.session.pending = None
            self.buffer = ''
            self.write('\n' + self.session.prompt)
        elif char == '\x15':  # Ctrl-U
            self._erase(len(self.buffer))
        elif char == '\x17':  # Ctrl-W
            kept = self.buffer.rstrip()
            kept = kept[: len(kept) - len(kept.split(' ')[-1])] if kept else ''
            self._erase(len(self.buffer) - len(kept))
        elif char == '\x1a':  # Ctrl-Z is `end`
            self.buffer = ''
            self.write('^Z\n')
            self._execute('end')
        elif char == '\x04':  # Ctrl-D on an empty line leaves
            if not self.buffer:
                self.write('\n')
                self.close()
        elif char == '?' and self.session.echo:
            self._help()
        elif char == '\t' and self.session.echo:
            self._complete()
        elif char >= ' ':
            self.buffer += char
            if self.session.echo:
                self.write(char)

    def _erase(self, count: int) -> None:
        if count <= 0:
            return
        self.buffer = self.buffer[: len(self.buffer) - count]
        if self.session.echo:
            self.write('\b \b' * count)

    def _escape_char(self, char: str) -> None:
        self._escape += char
        if len(self._escape) == 2 and char in '[O':
            return
        sequence, self._escape = self._escape, ''
        key = _ARROWS.get(sequence[-1]) if len(sequence) == 3 else None
        if key in ('up', 'down') and self.interactive and self.history:
            step = -1 if key == 'up' else 1
            self.history_pos = max(0, min(len(self.history), self.history_pos + step))
            text = self.history[self.history_pos] if self.history_pos < len(self.history) else ''
            self.buffer = text
            self.write('\r' + self.session.prompt + text + '\x1b[K')

    def _help(self) -> None:
        text = self.session.help(self.buffer)
        self.write('?\n' + text + self.session.prompt + self.buffer)

    def _complete(self) -> None:
        words = self.session.completions(self.buffer)
        partial = '' if not self.buffer or self.buffer[-1].isspace() else self.buffer.split()[-1]
        if len(words) == 1:
            addition = words[0][len(partial):] + ' '
            self.buffer += addition
            self.write(addition)
        elif words:
            self.write('\n' + '  '.join(words) + '\n' + self.session.prompt + self.buffer)

    def _enter(self) -> None:
        line, self.buffer = self.buffer, ''
        echo = self.session.echo
        self.write('\n')
        if echo and line.strip():
            self.history.append(line)
        self.history_pos = len(self.history)
        self._execute(line)

    def _execute(self, line: str) -> None:
        output = self.session.feed(line)
        if self.session.closed:
            self.write(output)
            self.close()
            return
        self.pager = Pager(self.session.terminal_length if self.interactive else 0)
        self.write(self.pager.first(output))
        if self.pager.waiting:
            self.write(MORE)
        else:
            self.write(self.session.prompt)

    def _more(self, char: str) -> None:
        self.write('\r' + ' ' * len(MORE) + '\r')  # erase the --More-- prompt
        self.write(self.pager.key(char))
        self.write(MORE if self.pager.waiting else self.session.prompt)

    def close(self) -> None:
        """End the session (once)."""
        if not self.closed:
            self.closed = True
            self.on_close()
