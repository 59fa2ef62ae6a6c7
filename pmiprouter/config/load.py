"""Load a startup-config: replay CLI text through the same session and parser.

Pure module (reads a file, no twisted/socket/time). The text goes through config mode
line by line exactly as if typed, except that in an indented file (the shape `show
running-config` prints) a line indented by N spaces first leaves any sub-mode deeper
than N, so a sub-mode command that is also a parent-mode command (`lma NAME` in an MN
profile and in the domain) lands where the indentation says. Flat text relies on IOS
walk-up only. Loading is all-or-nothing: any parse, handler or validation error
means no configuration is returned, never a half-applied one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path as FsPath

from pmiprouter.cli.errors import CommandError, ParseError
from pmiprouter.cli.session import Session
from pmiprouter.config.keyed import freeze, thaw
from pmiprouter.config.model import RouterConfig
from pmiprouter.config.validate import Anchor, validate
from pmiprouter.fast.collector import collector_paused

_HEADERS = ('Building configuration', 'Current configuration')


@dataclass(frozen=True)
class LoadError:
    """One error of a configuration file, with what is needed to show it IOS-style."""

    file: str
    line_no: int
    line: str
    message: str
    column: int | None = None
    suggestion: str | None = None

    def render(self) -> str:
        """`file:N: line`, the caret under the fault, the IOS message, a suggestion."""
        head = f'{self.file}:{self.line_no}: '
        out = [head + self.line]
        if self.column is not None:
            out.append(' ' * (len(head) + self.column) + '^')
        out.append(self.message)
        if self.suggestion:
            out.append(f'% Did you mean "{self.suggestion}"?')
        return '\n'.join(out)


@dataclass(frozen=True)
class LoadResult:
    """A loaded configuration, or (exclusively) the errors that prevent it."""

    config: RouterConfig | None
    errors: tuple[LoadError, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the text loaded without any error."""
        return self.config is not None


def _suggest(err: ParseError) -> str | None:
    if err.kind not in ('invalid', 'unknown') or not err.token or not err.candidates:
        return None
    close = difflib.get_close_matches(err.token.lower(), err.candidates, n=1, cutoff=0.6)
    return close[0] if close else None


Anchors = dict[Anchor, tuple[int, str]]




def replay(
    text: str, filename: str = '<config>', base: RouterConfig | None = None
) -> tuple[RouterConfig, list[LoadError], Anchors]:
    """Run `text` through config mode; return the result, parse errors and block lines.

    `base` is the configuration the text is typed over (`copy startup-config
    running-config` merges); empty by default. The configuration returned is meaningful
    only when the error list is empty.
    """
    with collector_paused():
        return _replay(text, filename, base)


def _replay(text: str, filename: str, base: RouterConfig | None) -> tuple[RouterConfig, list[LoadError], Anchors]:
    # The session edits a thawed copy (keyed tuples as in-place drafts, see keyed.py) so that
    # N profiles cost O(N), not O(N^2); `base` itself is left untouched.
    session = Session(thaw(base if base is not None else RouterConfig()), privilege=15)
    session.enter_mode('config')
    errors: list[LoadError] = []
    anchors: Anchors = {}
    skip_deeper_than: int | None = None
    lines = text.splitlines()
    # Indentation steers modes only in files that use it; flat text (a paste of typed
    # commands) relies on IOS walk-up alone, as it would at the prompt.
    indented = any(line[:1].isspace() and line.strip() and not line.strip().startswith('!') for line in lines)
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped or stripped.startswith('!') or stripped.startswith(_HEADERS):
            continue
        if skip_deeper_than is not None:
            if indent > skip_deeper_than:
                continue  # the block's opening line failed: its body has no mode to go to
            skip_deeper_than = None
        if stripped == 'end' and indent == 0:
            break
        while indented and len(session.frames) - 2 > indent:
            session.frames.pop()
        path_before = session.frame.path
        result = session.run(line)
        session.pending = None  # a file cannot answer questions
        err = result.error
        if isinstance(err, ParseError):
            message = err.message
            column = err.column if err.kind == 'invalid' else None
            errors.append(LoadError(filename, line_no, line, message, column, _suggest(err)))
        elif isinstance(err, CommandError):
            errors.append(LoadError(filename, line_no, line, err.render()))
        elif session.frame.path != path_before:
            # The line opened a block: validation problems in it will point here.
            anchors.setdefault(session.frame.path, (line_no, line))
        if err is not None:
            skip_deeper_than = indent
    return freeze(session.config), errors, anchors


def _anchor_line(anchors: Anchors, anchor: Anchor) -> tuple[int, str]:
    while anchor:
        if anchor in anchors:
            return anchors[anchor]
        anchor = anchor[:-1]
    return (0, '')


def load_text(text: str, filename: str = '<config>') -> LoadResult:
    """Parse and validate a startup-config; all-or-nothing."""
    config, errors, anchors = replay(text, filename)
    if not errors:
        for problem in validate(config):
            line_no, line = _anchor_line(anchors, problem.anchor)
            errors.append(LoadError(filename, line_no, line, f'% {problem.message}'))
    if errors:
        return LoadResult(None, tuple(errors))
    return LoadResult(config)


def load_file(path: str | FsPath) -> LoadResult:
    """Load a startup-config file (a missing or unreadable file is one error)."""
    try:
        text = FsPath(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as err:
        return LoadResult(None, (LoadError(str(path), 0, '', f'% Cannot read file: {err}'),))
    return load_text(text, str(path))
