"""Typed CLI errors and their IOS wording.

Pure module. A `ParseError` describes input that does not fit the command tree; a
`CommandError` is raised by a handler for input that parsed but cannot be applied. The
session turns both into IOS text (`% Invalid input detected at '^' marker.` ...) at
exactly one place.
"""

from __future__ import annotations

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = '% Incomplete command.'
UNKNOWN = '% Unknown command or computer name, or unable to find computer address'
UNRECOGNIZED = '% Unrecognized command'


class CliError(Exception):
    """Base of the CLI error hierarchy."""


class CommandError(CliError):
    """A handler refused a command; `message` is printed after `% `."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def render(self) -> str:
        """The IOS-style text of the error."""
        return f'% {self.message}'


class ParseError(CliError):
    """Input that does not fit the tree.

    Attributes:
        kind: 'invalid', 'ambiguous', 'incomplete', 'unknown' or 'unrecognized'.
        column: character offset in the line of the `^` marker (invalid input only).
        consumed: how many tokens matched before the failure (used to choose between
            modes during walk-up: the mode that got furthest explains the error best).
        text: the input up to the ambiguous token (ambiguous only).
        candidates: keywords that were possible at the failing position.
        token: the offending token, if any.
    """

    def __init__(
        self,
        kind: str,
        *,
        column: int | None = None,
        consumed: int = 0,
        text: str = '',
        candidates: tuple[str, ...] = (),
        token: str = '',
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.column = column
        self.consumed = consumed
        self.text = text
        self.candidates = candidates
        self.token = token

    @property
    def message(self) -> str:
        """The IOS message line."""
        if self.kind == 'ambiguous':
            return f'% Ambiguous command: "{self.text}"'
        if self.kind == 'incomplete':
            return INCOMPLETE
        if self.kind == 'unknown':
            return UNKNOWN
        if self.kind == 'unrecognized':
            return UNRECOGNIZED
        return INVALID

    def render(self, prompt_len: int = 0) -> str:
        """The IOS text: caret line (invalid input only) then the message."""
        if self.kind == 'invalid' and self.column is not None:
            return ' ' * (prompt_len + self.column) + '^\n' + self.message
        return self.message
