"""Node and parameter types of the IOS-style command tree.

Pure module: no prompt_toolkit, twisted, socket or time imports. The tree itself is data
(see `commands.py`); this module only defines what a node is and how a typed parameter
parses, completes and describes itself (`X:X:X:X::X`, `<1-65535>`, ...).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pmiprouter.cli.session import Session


class ParamType:
    """A typed command argument: parses one token (or the rest of the line)."""

    placeholder: str = 'WORD'
    #: True when the parameter swallows the rest of the line (IOS `LINE`).
    rest_of_line: bool = False

    def parse(self, text: str) -> Any:
        """Return the parsed value of `text`.

        Raises:
            ValueError: when the token is not a valid value of this type.
        """
        raise NotImplementedError

    def accepts(self, text: str) -> bool:
        """Whether `text` parses as this type."""
        try:
            self.parse(text)
        except ValueError:
            return False
        return True


class IPv6Address(ParamType):
    """An IPv6 address without zone, `X:X:X:X::X`."""

    placeholder = 'X:X:X:X::X'

    def parse(self, text: str) -> ipaddress.IPv6Address:
        if '%' in text or '/' in text:
            raise ValueError(text)
        return ipaddress.IPv6Address(text)


class IPv6Prefix(ParamType):
    """An IPv6 prefix with no host bits set, `X:X:X:X::X/<0-128>`."""

    placeholder = 'X:X:X:X::X/<0-128>'

    def parse(self, text: str) -> ipaddress.IPv6Network:
        if '/' not in text:
            raise ValueError(text)
        return ipaddress.IPv6Network(text, strict=True)


class IPv4Address(ParamType):
    """An IPv4 address, `A.B.C.D`."""

    placeholder = 'A.B.C.D'

    def parse(self, text: str) -> ipaddress.IPv4Address:
        if '/' in text:
            raise ValueError(text)
        return ipaddress.IPv4Address(text)


class IPv4Prefix(ParamType):
    """An IPv4 prefix with no host bits set, `A.B.C.D/nn`."""

    placeholder = 'A.B.C.D/nn'

    def parse(self, text: str) -> ipaddress.IPv4Network:
        if '/' not in text:
            raise ValueError(text)
        return ipaddress.IPv4Network(text, strict=True)


@dataclass(frozen=True)
class Int(ParamType):
    """A decimal integer in `[lo, hi]`, shown as `<lo-hi>`."""

    lo: int
    hi: int

    @property
    def placeholder(self) -> str:  # type: ignore[override]
        return f'<{self.lo}-{self.hi}>'

    def parse(self, text: str) -> int:
        # isdigit() refuses signs, spaces and underscores that int() would accept.
        if not text.isascii() or not text.isdigit():
            raise ValueError(text)
        value = int(text)
        if not self.lo <= value <= self.hi:
            raise ValueError(text)
        return value


@dataclass(frozen=True)
class Word(ParamType):
    """One token, optionally constrained by a regular expression."""

    pattern: str = r'\S+'
    label: str = 'WORD'
    max_len: int = 64

    @property
    def placeholder(self) -> str:  # type: ignore[override]
        return self.label

    def parse(self, text: str) -> str:
        if len(text) > self.max_len or not re.fullmatch(self.pattern, text):
            raise ValueError(text)
        return text


class Line(ParamType):
    """The rest of the line, spaces included (IOS `LINE`)."""

    placeholder = 'LINE'
    rest_of_line = True

    def parse(self, text: str) -> str:
        if not text.strip():
            raise ValueError(text)
        return text.strip()


class MacAddress(ParamType):
    """A 48-bit MAC address, `H.H.H`; `aa:bb:cc:dd:ee:ff` is accepted too.

    The value is normalised to the IOS dotted form, lower case (`0011.2233.4455`).
    """

    placeholder = 'H.H.H'

    def parse(self, text: str) -> str:
        text = text.lower()
        if re.fullmatch(r'[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}', text):
            return text
        if re.fullmatch(r'[0-9a-f]{2}([:-][0-9a-f]{2}){5}', text):
            digits = re.sub('[:-]', '', text)
            return '.'.join(digits[i : i + 4] for i in range(0, 12, 4))
        raise ValueError(text)


class Nai(ParamType):
    """A Network Access Identifier, `user@realm` (RFC 7542; the realm is optional)."""

    placeholder = 'USER@REALM'
    _PATTERN = re.compile(r"[A-Za-z0-9._~!$&'*+=/-]{1,64}(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?")

    def parse(self, text: str) -> str:
        if len(text) > 253 or not self._PATTERN.fullmatch(text):
            raise ValueError(text)
        return text


@dataclass
class Invocation:
    """What a handler receives: the session, the parsed arguments and the negation."""

    session: Session
    args: dict[str, Any]
    #: None for the plain form, 'no' or 'default' for the negated forms.
    negate: str | None = None


Handler = Callable[[Invocation], 'str | None']


@dataclass(frozen=True)
class Node:
    """One token position in the tree: a keyword or a typed parameter.

    Attributes:
        keyword: the literal word, or None for a parameter node.
        ptype: the parameter type (parameter nodes only).
        help: one-line help shown by `?`.
        children: what may follow this token.
        handler: set when the command may end here (`<cr>`).
        arg: key under which the parameter value (or, for a keyword, `value`) is stored.
        value: the value stored for a keyword with `arg`; defaults to the keyword itself.
        neg_only: the command may end here only in its `no`/`default` form.
        negatable: the node is offered after `no`/`default`.
        priv: minimum privilege level that sees the node.
        delegate: 'no'/'default' re-enters the current mode negated, 'exec' re-enters
            the exec tree (`do`).
    """

    keyword: str | None
    help: str
    ptype: ParamType | None = None
    children: tuple[Node, ...] = ()
    handler: Handler | None = None
    arg: str | None = None
    value: Any = None
    neg_only: bool = False
    negatable: bool = True
    priv: int = 1
    delegate: str | None = None

    @property
    def label(self) -> str:
        """The word shown by `?`: the keyword or the parameter placeholder."""
        if self.keyword is not None:
            return self.keyword
        assert self.ptype is not None
        return self.ptype.placeholder

    def executable(self, negate: str | None) -> bool:
        """Whether a command may end at this node (`<cr>` is offered)."""
        return self.handler is not None and (negate is not None or not self.neg_only)


def kw(word: str, help: str, *children: Node, **options: Any) -> Node:
    """A keyword node (`help` is the `?` text)."""
    return Node(keyword=word, help=help, children=tuple(children), **options)


def param(arg: str, ptype: ParamType, help: str, *children: Node, **options: Any) -> Node:
    """A typed parameter node whose value is stored under `arg`."""
    return Node(keyword=None, help=help, ptype=ptype, children=tuple(children), arg=arg, **options)


@dataclass(frozen=True)
class Mode:
    """A CLI mode: its tree root, prompt text and parent (for exit and walk-up).

    Attributes:
        name: the mode name; for configuration modes it is the prompt text in
            parentheses (`config-ipv6-pmipv6-domain`), at most 32 characters of
            `[a-z0-9.-]` so that netmiko, scrapli and Ansible recognise it.
        root: a keyword-less node whose children are the mode's commands.
        parent: the mode `exit` returns to, or None for the exec mode.
    """

    name: str
    root: Node
    parent: str | None = None
