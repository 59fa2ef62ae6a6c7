"""One CLI session: mode stack, prompt, privilege, and line-in / text-out execution.

Pure object (no prompt_toolkit, twisted, socket or time): the local shell, the SSH
front-end and the startup-config loader all feed it lines and print what it returns.
Questions the session asks back (`Password:`, `Destination filename [startup-config]?`)
are exposed as `pending`; the next line fed answers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pmiprouter.cli.commands import MODES, online_root_of, root_of
from pmiprouter.cli.errors import CliError, CommandError, ParseError
from pmiprouter.cli.output import FILTERS, apply_filters, filterable, split_pipes
from pmiprouter.cli.handlers.edit import Path
from pmiprouter.cli.completion import completions
from pmiprouter.cli.parser import Parsed, format_help, help_entries, parse
from pmiprouter.cli.tree import Invocation
from pmiprouter.config.model import RouterConfig


class ConfigStore(Protocol):
    """Where `write memory` saves and `show startup-config` reads (a file, or memory)."""

    def read(self) -> str | None:
        """The saved startup-config text, or None when there is none."""

    def write(self, text: str) -> None:
        """Replace the saved startup-config with `text`."""


class MemoryStore:
    """A `ConfigStore` kept in memory (tests, and sessions with nowhere to save)."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text

    def read(self) -> str | None:
        """The stored text."""
        return self.text

    def write(self, text: str) -> None:
        """Store `text`."""
        self.text = text


@dataclass(frozen=True)
class Frame:
    """One level of the mode stack: the mode and the configuration path it edits."""

    mode: str
    path: Path = ()


@dataclass
class Pending:
    """A question asked back to the user; the next line fed is its answer."""

    prompt: str
    callback: Callable[[str], str | None]
    echo: bool = True


@dataclass
class Result:
    """The outcome of one line: output text and, on failure, the error."""

    output: str = ''
    error: CliError | None = None
    parsed: Parsed | None = None


@dataclass
class Session:
    """A CLI session over a configuration.

    Attributes:
        config: the running configuration (frozen; handlers replace it).
        store: the startup-config store used by `write memory`.
        privilege: 1 (user EXEC, `>`) or 15 (privileged, `#`).
        uptime: returns seconds since start (injected: this module never reads a clock).
    """

    config: RouterConfig = field(default_factory=RouterConfig)
    store: ConfigStore = field(default_factory=MemoryStore)
    privilege: int = 1
    uptime: Callable[[], float] = lambda: 0.0
    frames: list[Frame] = field(default_factory=lambda: [Frame('exec')])
    pending: Pending | None = None
    closed: bool = False
    terminal_length: int = 24
    terminal_width: int = 80
    #: Free slots for front-ends and the daemon (e.g. the runtime control API later).
    extras: dict[str, Any] = field(default_factory=dict)
    #: The running daemon (`cli.handlers.operational.Control`), None offline. With it,
    #: every configuration change is committed live and the running config is shared.
    control: Any = None
    #: `terminal monitor`: debug and log lines are copied to this session.
    monitor: bool = False
    #: Lines typed in this session (`show history`), passwords excluded.
    history: list[str] = field(default_factory=list)
    history_size: int = 20
    #: The error of the last line fed (exec requests turn it into the exit status).
    last_error: CliError | None = None

    # -- state -------------------------------------------------------------------------

    @property
    def frame(self) -> Frame:
        """The innermost mode frame."""
        return self.frames[-1]

    @property
    def mode(self) -> str:
        """The current mode name ('exec', 'config', 'config-ipv6-pmipv6-domain', ...)."""
        return self.frame.mode

    @property
    def prompt(self) -> str:
        """The IOS prompt: `host>`, `host#` or `host(config...)#`; or a pending question."""
        if self.pending is not None:
            return self.pending.prompt
        host = self.config.hostname
        if self.mode == 'exec':
            return host + ('#' if self.privilege > 1 else '>')
        return f'{host}({self.mode})#'

    @property
    def roots(self) -> Callable[[str], Any]:
        """The command trees: with the daemon attached, exec has the operational commands."""
        return online_root_of if self.control is not None else root_of

    @property
    def echo(self) -> bool:
        """False while a password is being asked for."""
        return self.pending is None or self.pending.echo

    def enter_mode(self, mode: str, path: Path = ()) -> None:
        """Push a sub-mode (called by the handlers of mode-entering commands)."""
        assert mode in MODES, mode
        self.frames.append(Frame(mode, path))

    def exit_mode(self) -> None:
        """Leave the current mode (`exit`); leaving exec closes the session."""
        if len(self.frames) > 1:
            self.frames.pop()
        else:
            self.closed = True

    def end(self) -> None:
        """Return to privileged exec from any configuration mode (`end`, Ctrl-Z)."""
        del self.frames[1:]

    def ask(self, prompt: str, callback: Callable[[str], str | None], *, echo: bool = True) -> None:
        """Ask a question; `callback(answer)` runs on the next line and returns output."""
        self.pending = Pending(prompt, callback, echo)

    # -- execution -----------------------------------------------------------------------

    def _parse(self, line: str) -> Parsed:
        """Parse in the current mode, walking up to parent modes as IOS does."""
        try:
            return parse(line, self.mode, self.roots, self.privilege)
        except ParseError as first:
            best = first
            try:
                # Walk-up: a command of an enclosing configuration mode leaves the sub-mode.
                for depth in range(len(self.frames) - 2, 0, -1):
                    try:
                        parsed = parse(line, self.frames[depth].mode, self.roots, self.privilege)
                    except ParseError as err:
                        if err.consumed > best.consumed:
                            best = err
                        continue
                    del self.frames[depth + 1 :]
                    return parsed
                raise best from None
            finally:
                # `best`'s traceback holds this frame, which holds `best`: without this, every
                # walked-up line of a flat startup-config left a cycle for the collector.
                del best

    def run(self, line: str) -> Result:
        """Execute one line and return structured output (used by the loader)."""
        try:
            if self.pending is not None:
                pending, self.pending = self.pending, None
                return Result(output=pending.callback(line) or '')
            command, filters = split_pipes(line)
            if not command.strip():  # what `tokenize` would find no word in
                return Result()
            if self.control is not None:
                self.config = self.control.config  # another session may have changed it
            before = self.config
            parsed = self._parse(command)
            assert parsed.node.handler is not None
            output = parsed.node.handler(Invocation(self, parsed.args, parsed.negate))
            if self.control is not None and self.config != before:
                output = self._commit(before, output)
            if self.control is not None and self.mode == 'exec' and parsed.mode != 'exec':
                # Leaving configuration mode: say what is still waiting to be applied.
                problems = self.control.problems()
                if problems:
                    warning = '% Not applied yet (the running state keeps the last valid configuration):'
                    output = '\n'.join([*(t for t in (output,) if t), warning, *(f'%   {p}' for p in problems)])
            output = apply_filters(output or '', filters)
        except CliError as err:
            return Result(error=err)
        except Exception as err:  # noqa: BLE001 - the session is the boundary: report, never crash
            return Result(error=CommandError(f'Internal error: {type(err).__name__}: {err}'))
        return Result(output=output or '', parsed=parsed)

    def _commit(self, before: RouterConfig, output: str | None) -> str | None:
        """Hand a changed configuration to the daemon; on refusal put the old one back."""
        try:
            warning = self.control.commit(self.config)
        except CommandError:
            self.config = before  # the command failed: the running state is as it was
            raise
        return '\n'.join(text for text in (output, warning) if text) or None

    def feed(self, line: str) -> str:
        """Execute one typed line; return the text to print (may be empty).

        A line ending in `?` is answered with help, as IOS does when a line-mode client
        (netmiko, a transcript) sends the `?` without a terminal to intercept it.
        """
        if self.pending is None and line.endswith('?') and not ('|' in line and filterable(line)):
            return self.help(line[:-1])
        prompt_len = len(self.prompt)
        if self.pending is None and line.strip():
            self.history = [*self.history, line.strip()][-self.history_size :]
        result = self.run(line)
        self.last_error = result.error
        if isinstance(result.error, ParseError):
            text = result.error.render(prompt_len)
        elif isinstance(result.error, CommandError):
            text = result.error.render()
        else:
            text = result.output
        return text if not text or text.endswith('\n') else text + '\n'

    def help(self, line: str) -> str:
        """What `?` typed after `line` prints (the line itself stays as typed)."""
        if self.pending is not None:
            return ''
        if '|' in line and filterable(line):
            word = line.rsplit('|', 1)[1].lstrip()
            if ' ' not in word:  # `| inc?` or `| ?`: the filter keywords
                entries = [(k, v) for k, v in FILTERS.items() if k.startswith(word)]
                return '\n'.join(f'  {k:<10} {v}' for k, v in entries) + '\n'
            return '  LINE  Regular Expression\n'
        try:
            partial, entries = help_entries(line, self.mode, self.roots, self.privilege)
        except ParseError as err:
            return err.render(len(self.prompt)) + '\n'
        return format_help(partial, entries) + '\n'

    def completions(self, line: str) -> list[str]:
        """Keywords completing the last word of `line` (TAB)."""
        if self.pending is not None:
            return []
        return completions(line, self.mode, self.roots, self.privilege)
