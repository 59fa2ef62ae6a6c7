"""The pure parser: tokens, abbreviation, caret columns, help entries, purity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pmiprouter.cli.commands import MODES, root_of
from pmiprouter.cli.errors import ParseError
from pmiprouter.cli.completion import completions
from pmiprouter.cli.parser import help_entries, parse, tokenize
from pmiprouter.cli.tree import Int, IPv6Prefix, MacAddress, Nai

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    'cli/parser.py',
    'cli/tree.py',
    'cli/commands.py',
    'cli/commands_pmip.py',
    'cli/completion.py',
    'cli/session.py',
    'cli/errors.py',
    'cli/grammar.py',
    'cli/reference.py',
    *(str(p.relative_to(ROOT)) for p in (ROOT / 'cli' / 'handlers').glob('*.py')),
    *(str(p.relative_to(ROOT)) for p in (ROOT / 'pmiprouter' / 'config').glob('*.py')),
]
BANNED = {'prompt_toolkit', 'twisted', 'socket', 'time', 'pyroute2', 'asyncio'}


def test_tokenize_keeps_offsets() -> None:
    """Tokens carry their start column, leading blanks included."""
    assert [(t.text, t.start) for t in tokenize('  bce  lifetime 60')] == [('bce', 2), ('lifetime', 7), ('60', 16)]


def test_unique_prefix_resolves_each_keyword() -> None:
    """`sh priv` parses as `show privilege`."""
    parsed = parse('sh priv', 'exec', root_of, 15)
    assert parsed.node.keyword == 'privilege'


def test_ambiguous_prefix_reports_the_text_so_far() -> None:
    """`d` in LMA mode matches default, do and dynamic: ambiguous, quoting the input."""
    with pytest.raises(ParseError) as info:
        parse('d mag learning', 'config-ipv6-pmipv6-lma', root_of)
    assert info.value.message == '% Ambiguous command: "d"'
    assert set(info.value.candidates) == {'default', 'do', 'dynamic'}


def test_caret_points_at_first_wrong_character() -> None:
    """A misspelt keyword is marked at its first character that no keyword continues."""
    with pytest.raises(ParseError) as info:
        parse('show runx', 'exec', root_of)
    assert info.value.column == len('show run')
    assert info.value.render(len('R#')) == ' ' * len('R#show run') + "^\n% Invalid input detected at '^' marker."


def test_out_of_range_value_marks_the_value() -> None:
    """An integer outside `<10-65535>` is marked at the start of the value."""
    with pytest.raises(ParseError) as info:
        parse('bce lifetime 9', 'config-ipv6-pmipv6-lma', root_of)
    assert info.value.kind == 'invalid' and info.value.column == len('bce lifetime ')


def test_incomplete_command() -> None:
    """A command that stops before a value is incomplete."""
    with pytest.raises(ParseError) as info:
        parse('bce lifetime', 'config-ipv6-pmipv6-lma', root_of)
    assert info.value.message == '% Incomplete command.'


def test_no_form_may_stop_at_the_keyword() -> None:
    """`no bce lifetime` is complete although `bce lifetime` is not."""
    parsed = parse('no bce lifetime', 'config-ipv6-pmipv6-lma', root_of)
    assert parsed.negate == 'no' and parsed.node.keyword == 'lifetime'


def test_do_reenters_the_exec_tree() -> None:
    """`do sh run` in a sub-mode parses against the exec tree."""
    parsed = parse('do sh run', 'config-ipv6-pmipv6-mag', root_of)
    assert parsed.mode == 'exec' and parsed.node.keyword == 'running-config'


def test_privilege_hides_commands() -> None:
    """At privilege 1, `configure` is not in the tree."""
    with pytest.raises(ParseError):
        parse('configure terminal', 'exec', root_of, 1)
    assert parse('configure terminal', 'exec', root_of, 15).node.keyword == 'terminal'


def test_children_prepared_per_node_follow_privilege_and_form() -> None:
    """The parser prepares each node's choices once; alternating privilege and `no` on the
    same nodes still gives each line its own answer, errors and candidates included."""
    for _ in range(2):
        with pytest.raises(ParseError) as low:
            parse('configure terminal', 'exec', root_of, 1)
        assert (low.value.kind, low.value.column) == ('invalid', 0) and 'configure' not in low.value.candidates
        assert parse('configure terminal', 'exec', root_of, 15).node.handler is not None
        assert parse('end', 'config', root_of, 15).negate is None
        with pytest.raises(ParseError) as negated:
            parse('no end', 'config', root_of, 15)  # no `no` form; the caret after `en` (enable)
        assert (negated.value.kind, negated.value.column) == ('invalid', len('no en'))
        assert 'end' not in negated.value.candidates
        assert parse('no hostname', 'config', root_of, 15).negate == 'no'
        assert parse('host x', 'config', root_of, 15).args == {'value': 'x'}


def test_help_lists_placeholders_and_cr() -> None:
    """`heartbeat interval 60 ?` offers `retries` and `<cr>`."""
    partial, entries = help_entries('heartbeat interval 60 ', 'config-ipv6-pmipv6-lma', root_of)
    assert not partial
    assert [label for label, _ in entries] == ['retries', '<cr>']


def test_help_partial_word_lists_matching_keywords() -> None:
    """`b?` in LMA mode lists the keywords starting with b."""
    partial, entries = help_entries('b', 'config-ipv6-pmipv6-lma', root_of)
    assert partial and [label for label, _ in entries] == ['bce', 'bri']


def test_completions_follow_abbreviations() -> None:
    """Completion works after abbreviated words, and offers nothing after a bad one."""
    assert completions('ipv6 mob pm', 'config', root_of) == ['pmipv6-domain', 'pmipv6-lma', 'pmipv6-mag']
    assert completions('ipv6 mob zz ', 'config', root_of) == []


@pytest.mark.parametrize(
    ('ptype', 'good', 'bad'),
    [
        (Int(1, 10), '10', '11'),
        (IPv6Prefix(), '2001:db8::/32', '2001:db8::1/32'),
        (MacAddress(), '00:11:22:33:44:55', '0011.2233.44'),
        (Nai(), 'alice@example.com', 'a b'),
    ],
)
def test_param_types_accept_and_refuse(ptype: object, good: str, bad: str) -> None:
    """Each typed parameter accepts a valid token and refuses an invalid one."""
    assert ptype.accepts(good)  # type: ignore[attr-defined]
    assert not ptype.accepts(bad)  # type: ignore[attr-defined]


def test_mode_names_suit_automation_prompt_regexes() -> None:
    """Config mode names are <= 32 chars of [a-z0-9.-] (scrapli's and Ansible's regexes)."""
    import re

    for name in MODES:
        if name != 'exec':
            assert re.fullmatch(r'config[a-z0-9.-]{0,26}', name), name


def test_every_command_end_has_help_and_a_handler() -> None:
    """Every node has help text; every leaf (no children) names a handler or delegates."""
    def walk(node: object) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            assert child.help, child
            if not child.children:
                assert child.handler is not None or child.delegate is not None, child
            walk(child)

    for mode in MODES.values():
        walk(mode.root)


@pytest.mark.parametrize('relpath', PURE)
def test_pure_modules_import_no_io_frameworks(relpath: str) -> None:
    """Parser, tree, session, handlers and config import no prompt_toolkit/twisted/socket/time."""
    tree = ast.parse((ROOT / relpath).read_text(encoding='utf-8'))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split('.')[0])
    assert not imported & BANNED
