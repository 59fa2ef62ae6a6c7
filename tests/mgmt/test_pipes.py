"""Output filters `| include|exclude|begin|section|count` and the --More-- pager."""

from __future__ import annotations

import pytest

from pmiprouter.cli.errors import ParseError
from pmiprouter.cli.output import Pager, apply_filters, split_pipes
from pmiprouter.cli.session import Session

from .fakes import config

TEXT = 'a one\nb two\n c child\nd three\n'


@pytest.mark.parametrize(('line', 'expected'), [
    ('show x | include t', 'b two\nd three\n'),
    ('show x | exclude t', 'a one\n c child\n'),
    ('show x | begin two', 'b two\n c child\nd three\n'),
    ('show x | section ^b', 'b two\n c child\n'),
    ('show x | count', 'Number of lines which match regexp = 4\n'),
    ('show x | count e', 'Number of lines which match regexp = 2\n'),
    ('show x | inc t | exc three', 'b two\n'),
])
def test_filters(line: str, expected: str) -> None:
    """Each filter, abbreviated and chained, does what IOS does."""
    _, filters = split_pipes(line)
    assert apply_filters(TEXT, filters) == expected


def test_bad_filter_is_invalid_input_with_caret() -> None:
    """An unknown filter keyword is `% Invalid input` with the caret under it."""
    session = Session(config(), privilege=15)
    text = session.feed('show running-config | grep x')
    assert text.splitlines()[0].index('^') == len('lma1#show running-config | ')
    with pytest.raises(ParseError):
        split_pipes('show x | include')


def test_pipe_on_show_running_config_section() -> None:
    """`show running-config | section pmipv6-lma` keeps the block and its children."""
    session = Session(config(), privilege=15)
    text = session.feed('show running-config | section pmipv6-lma')
    assert text.splitlines()[0] == 'ipv6 mobile pmipv6-lma LMA1 domain D'
    assert ' address ipv6 2001:db8:2::1' in text and 'hostname' not in text


def test_bar_in_a_config_value_is_not_a_pipe() -> None:
    """Outside `show`, `|` is data (an ASCII key may contain it)."""
    session = Session(config(), privilege=15)
    session.feed('configure terminal')
    assert '% Invalid input' in session.feed('hostname a|b')  # refused by the hostname syntax, not as a pipe
    assert '| include' not in session.feed('do show running-config | include hostname')


def test_pager_space_enter_and_quit() -> None:
    """Space shows a screen, Enter one line, anything else stops."""
    pager = Pager(3)
    assert pager.first('1\n2\n3\n4\n5\n6\n') == '1\n2\n'
    assert pager.key('\r') == '3\n'
    assert pager.key(' ') == '4\n5\n'
    assert pager.waiting
    assert pager.key('q') == '' and not pager.waiting
