"""Output filters (`| include|exclude|begin|section|count`) and paging (`--More--`).

Pure module (re only). Filters apply to the text a command printed, as IOS does: the
pipe is split off the line before it is parsed, so every `show` gets them for free.
Regular expressions are Python's, which accept the POSIX ERE that IOS and FRR document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pmiprouter.cli.errors import CommandError, ParseError

#: The filter keywords, with their `?` help.
FILTERS = {
    'begin': 'Begin with the line that matches',
    'count': 'Count number of lines which match regexp',
    'exclude': 'Exclude lines that match',
    'include': 'Include lines that match',
    'section': 'Filter a section of output',
}

MORE = ' --More-- '


@dataclass(frozen=True)
class Filter:
    """One `| KEYWORD [REGEX]` stage."""

    kind: str
    pattern: re.Pattern[str] | None


def filterable(line: str) -> bool:
    """Whether `|` in `line` starts a filter: only after `show` (or `do show`), since
    configuration values (an ASCII key, a password) may contain `|` themselves."""
    words = line.lower().split()
    if words and words[0] == 'do':
        words = words[1:]
    return bool(words) and len(words[0]) >= 2 and 'show'.startswith(words[0])


def split_pipes(line: str) -> tuple[str, list[Filter]]:
    """Split `show ... | include X | count` into the command and its filters.

    Raises:
        ParseError: an unknown or ambiguous filter keyword, or one missing its REGEX
            (with the caret column IOS would show).
        CommandError: a REGEX that does not compile.
    """
    if '|' not in line or not filterable(line):
        return line, []
    command, *stages = line.split('|')
    filters = []
    offset = len(command) + 1
    for stage in stages:
        words = stage.split(None, 1)
        column = offset + (len(stage) - len(stage.lstrip()))
        offset += len(stage) + 1
        if not words:
            raise ParseError('incomplete')
        matches = [k for k in FILTERS if k.startswith(words[0].lower())]
        if len(matches) != 1:
            raise ParseError('invalid', column=column, candidates=tuple(FILTERS))
        kind = matches[0]
        if kind == 'count':
            pattern_text = words[1].strip() if len(words) > 1 else ''
        elif len(words) < 2 or not words[1].strip():
            raise ParseError('incomplete')
        else:
            pattern_text = words[1].strip()
        try:
            pattern = re.compile(pattern_text) if pattern_text else None
        except re.error as err:
            raise CommandError(f'Invalid regular expression "{pattern_text}": {err}') from None
        filters.append(Filter(kind, pattern))
    return command, filters


def _matches(pattern: re.Pattern[str] | None, line: str) -> bool:
    return pattern is None or pattern.search(line) is not None


def _section(pattern: re.Pattern[str] | None, lines: list[str]) -> list[str]:
    """Matching lines and the more-indented lines that follow them (their children)."""
    out: list[str] = []
    depth: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip(' '))
        if depth is not None and line.strip() and indent > depth:
            out.append(line)
            continue
        depth = None
        if _matches(pattern, line):
            out.append(line)
            depth = indent
    return out


def apply_filters(text: str, filters: list[Filter]) -> str:
    """Run `text` through each filter in turn."""
    if not filters:
        return text
    lines = text.splitlines()
    for stage in filters:
        if stage.kind == 'include':
            lines = [line for line in lines if _matches(stage.pattern, line)]
        elif stage.kind == 'exclude':
            lines = [line for line in lines if not _matches(stage.pattern, line)]
        elif stage.kind == 'begin':
            start = next((i for i, line in enumerate(lines) if _matches(stage.pattern, line)), len(lines))
            lines = lines[start:]
        elif stage.kind == 'section':
            lines = _section(stage.pattern, lines)
        else:
            lines = [f'Number of lines which match regexp = {sum(_matches(stage.pattern, line) for line in lines)}']
    return '\n'.join(lines) + ('\n' if lines else '')


class Pager:
    """Splits output into screens of `length - 1` lines for `--More--` (length 0: no paging).

    Front-ends call `first()` with the whole output, print what it returns, and while
    `waiting` show `MORE` and pass each key to `key()`: Space shows the next screen, Enter
    the next line, anything else stops (IOS behaviour).
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self.rest: list[str] = []

    @property
    def waiting(self) -> bool:
        """True while lines remain behind a `--More--` prompt."""
        return bool(self.rest)

    def _take(self, count: int) -> str:
        shown, self.rest = self.rest[:count], self.rest[count:]
        return ''.join(shown)

    def first(self, text: str) -> str:
        """The first screen of `text`; the rest waits for keys."""
        self.rest = text.splitlines(keepends=True)
        if self.length <= 1:
            return self._take(len(self.rest))
        return self._take(self.length - 1)

    def key(self, char: str) -> str:
        """What to print after a key pressed at `--More--`."""
        if char == ' ':
            return self._take(self.length - 1)
        if char in ('\r', '\n'):
            return self._take(1)
        self.rest = []
        return ''
