"""Pure IOS-style command-line parser over the tree of `commands.py`.

No prompt_toolkit, twisted, socket or time imports: the same functions serve the local
shell, SSH and the startup-config loader. Implements the tokenizer, unique-prefix
abbreviation of keywords, `no`/`default` forms, `do` (re-entering the exec tree), `?`
help, and IOS error reporting (`% Ambiguous command`, `% Incomplete command.`,
`% Invalid input detected at '^' marker.` with the caret column).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmiprouter.cli.errors import ParseError
from pmiprouter.cli.tree import Node
from pmiprouter.fast.by_identity import ByIdentity

#: Looks up the root node of a mode by name (the exec tree is 'exec').
RootLookup = Callable[[str], Node]


@dataclass(frozen=True)
class Token:
    """One whitespace-separated word of the line and its character offset."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.start + len(self.text)


_WORD = re.compile(r'\S+')


def tokenize(line: str) -> list[Token]:
    """Split `line` on whitespace, keeping offsets (IOS has no quoting)."""
    return [Token(m.group(), m.start()) for m in _WORD.finditer(line)]


@dataclass
class Parsed:
    """A fully parsed command: the node that ends it, its arguments and its form."""

    node: Node
    args: dict[str, Any] = field(default_factory=dict)
    negate: str | None = None
    #: The mode whose tree holds the command ('exec' after `do`).
    mode: str = ''


@dataclass
class Walk:
    """How far a line got through the tree: the node reached and what was collected."""

    node: Node
    mode: str
    args: dict[str, Any] = field(default_factory=dict)
    negate: str | None = None
    consumed: int = 0
    #: True once a LINE parameter has swallowed the rest of the line.
    line_done: bool = False


def visible(node: Node, priv: int, negate: str | None) -> list[Node]:
    """Children of `node` the user may type now."""
    out = []
    for child in node.children:
        if child.priv > priv:
            continue
        if negate is not None and (not child.negatable or child.delegate is not None):
            continue
        out.append(child)
    return out


@dataclass(frozen=True)
class _Choices:
    """What may follow a node for one privilege and form, prepared once (see `_choices`)."""

    children: tuple[Node, ...]
    keywords: tuple[Node, ...]
    #: keyword -> the first child spelling it (what a scan of `keywords` would return).
    exact: dict[str, Node]
    #: The keywords, sorted: the candidates of an invalid-input error.
    names: tuple[str, ...]


# The trees are static data, yet a startup-config makes the parser visit the same few nodes
# hundreds of thousands of times: filtering and indexing their children once per node keeps
# a line's cost small. Found by identity (hashing a frozen Node would hash its whole subtree):
# per node, the choices by (privilege, negated).
_CHOICES = ByIdentity[Node, dict[tuple[int, bool], _Choices]](lambda node: {}, 1 << 16)


def _choices(node: Node, priv: int, negate: str | None) -> _Choices:
    """`visible(node, priv, negate)` and its keyword index, cached per node."""
    per_node = _CHOICES(node)
    cache_key = (priv, negate is not None)
    hit = per_node.get(cache_key)
    if hit is not None:
        return hit
    children = tuple(visible(node, priv, negate))
    keywords = tuple(c for c in children if c.keyword is not None)
    exact: dict[str, Node] = {}
    for child in keywords:
        exact.setdefault(str(child.keyword), child)
    choices = _Choices(children, keywords, exact, tuple(sorted(str(c.keyword) for c in keywords)))
    per_node[cache_key] = choices
    return choices


def _lcp(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.lower(), b.lower()):
        if x != y:
            break
        n += 1
    return n


def _choose(choices: _Choices, tok: Token, line: str, consumed: int) -> tuple[Node, Any]:
    """The child matching `tok`: exact keyword, unique prefix, then typed parameter; with
    the parameter's value (None for a keyword), parsed once here rather than again later."""
    word = tok.text.lower()
    exact = choices.exact.get(word)
    if exact is not None:
        return exact, None
    children, keywords = choices.children, choices.keywords
    prefixed = [c for c in keywords if c.keyword is not None and c.keyword.startswith(word)]
    if len(prefixed) == 1:
        return prefixed[0], None
    if len(prefixed) > 1:
        raise ParseError(
            'ambiguous',
            consumed=consumed,
            text=line[: tok.end].strip(),
            candidates=tuple(sorted(str(c.keyword) for c in prefixed)),
            token=tok.text,
        )
    for child in children:
        if child.ptype is None:
            continue
        text = line[tok.start :] if child.ptype.rest_of_line else tok.text
        try:  # what `ParamType.accepts` does, keeping the value
            return child, child.ptype.parse(text)
        except ValueError:
            continue
    # IOS puts the caret under the first character no keyword can continue with.
    best = max((_lcp(tok.text, str(c.keyword)) for c in keywords), default=0)
    raise ParseError(
        'invalid',
        column=tok.start + best,
        consumed=consumed,
        candidates=choices.names,
        token=tok.text,
    )


def walk(tokens: list[Token], line: str, mode: str, roots: RootLookup, priv: int) -> Walk:
    """Match every token in `tokens`; raise ParseError at the first that does not fit.

    Shared by parsing, `?` help and completion, so the three can never disagree.
    """
    state = Walk(node=roots(mode), mode=mode)
    for index, tok in enumerate(tokens):
        if state.line_done:
            break
        try:
            child, value = _choose(_choices(state.node, priv, state.negate), tok, line, index)
        except ParseError as err:
            # IOS takes a lone unknown word in exec mode for a host name to connect to.
            if err.kind == 'invalid' and index == 0 and mode == 'exec' and len(tokens) == 1:
                err.kind = 'unknown'
            raise
        state.consumed = index + 1
        if child.delegate in ('no', 'default'):
            state.negate = child.delegate
            state.node = roots(state.mode)
            continue
        if child.delegate == 'exec':
            state.mode = 'exec'
            state.node = roots('exec')
            continue
        if child.ptype is not None:
            assert child.arg is not None
            state.args[child.arg] = value
            state.line_done = child.ptype.rest_of_line
        elif child.arg is not None:
            state.args[child.arg] = child.value if child.value is not None else child.keyword
        state.node = child
    return state


def parse(line: str, mode: str, roots: RootLookup, priv: int = 15) -> Parsed:
    """Parse one complete command line in `mode`.

    Raises:
        ParseError: invalid, ambiguous or incomplete input.
    """
    tokens = tokenize(line)
    state = walk(tokens, line, mode, roots, priv)
    if not state.node.executable(state.negate):
        raise ParseError(
            'incomplete',
            consumed=state.consumed,
            candidates=tuple(c.label for c in visible(state.node, priv, state.negate)),
        )
    return Parsed(node=state.node, args=state.args, negate=state.negate, mode=state.mode)


def help_entries(
    line: str, mode: str, roots: RootLookup, priv: int = 15
) -> tuple[bool, list[tuple[str, str]]]:
    """What `?` shows after `line`.

    Returns:
        (partial, entries). For `word?` (partial=True) the entries are the keywords and
        placeholders that `word` may start; for `word ?` they are everything that may
        follow, with `<cr>` last when the command may end there.

    Raises:
        ParseError: the text before the `?` is already wrong.
    """
    tokens = tokenize(line)
    partial = bool(line) and not line[-1].isspace() and bool(tokens)
    done = tokens[:-1] if partial else tokens
    state = walk(done, line, mode, roots, priv)
    children = [] if state.line_done else visible(state.node, priv, state.negate)
    entries: list[tuple[str, str]] = []
    if partial:
        word = tokens[-1].text.lower()
        for child in sorted(children, key=lambda c: c.label):
            if child.keyword is not None and child.keyword.startswith(word):
                entries.append((child.keyword, child.help))
            elif child.ptype is not None and child.ptype.accepts(tokens[-1].text):
                entries.append((child.label, child.help))
        if not entries:
            raise ParseError('unrecognized', consumed=len(done))
        return True, entries
    keywords = sorted((c for c in children if c.keyword is not None), key=lambda c: c.label)
    params = [c for c in children if c.keyword is None]
    entries = [(c.label, c.help) for c in keywords + params]
    if state.node.executable(state.negate) or state.line_done:
        entries.append(('<cr>', ''))
    return False, entries


def format_help(partial: bool, entries: list[tuple[str, str]]) -> str:
    """IOS layout of `?` output: `a  b  c` for `word?`, an aligned table for `word ?`."""
    if partial:
        return '  '.join(label for label, _ in entries)
    width = max(len(label) for label, _ in entries)
    lines = []
    for label, text in entries:
        lines.append(f'  {label.ljust(width)}  {text}'.rstrip() if text else f'  {label}')
    return '\n'.join(lines)
