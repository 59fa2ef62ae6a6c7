"""The session object: privilege, questions asked back, saving, secrets, robustness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.cli.commands import MODES
from pmiprouter.cli.session import MemoryStore, Session
from pmiprouter.cli.tree import Node
from pmiprouter.config.load import load_text


def configured(*lines: str, store: MemoryStore | None = None) -> Session:
    """A privileged session in config mode after typing `lines`."""
    session = Session(store=store or MemoryStore(), privilege=15)
    session.feed('configure terminal')
    for line in lines:
        assert session.feed(line) == '', line
    return session


def test_enable_asks_for_the_enable_secret() -> None:
    """With `enable secret`, `enable` prompts without echo and checks the password."""
    session = configured('enable secret s3cret', 'end')
    session.feed('disable')
    assert session.prompt == 'Router>'
    session.feed('enable')
    assert session.prompt == 'Password: ' and not session.echo
    assert session.feed('wrong') == '% Bad secrets\n'
    assert session.prompt == 'Router>'
    session.feed('enable')
    assert session.feed('s3cret') == ''
    assert session.prompt == 'Router#'


def test_clear_text_secret_is_stored_as_type_9_only() -> None:
    """`username admin secret PLAIN` shows `secret 9 $9$...` and never the clear text."""
    session = configured('username admin privilege 15 secret hunter2', 'end')
    running = session.feed('show running-config')
    assert 'hunter2' not in running
    assert 'username admin privilege 15 secret 9 $9$' in running


def test_hashed_secrets_must_have_their_type_shape() -> None:
    """A type 9 secret that is not a type 9 hash is refused with an IOS error."""
    session = configured()
    assert session.feed('username bob secret 9 notahash') == '% Invalid type 9 secret\n'


def test_type_5_8_9_hashes_are_kept_verbatim() -> None:
    """Pre-hashed secrets are stored and printed back unchanged."""
    type8 = '$8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs'
    type5 = '$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/'
    session = configured(f'username a secret 8 {type8}', f'username b secret 5 {type5}', 'end')
    running = session.feed('show running-config')
    assert f'username a secret 8 {type8}' in running and f'username b secret 5 {type5}' in running


def test_write_memory_saves_rendered_config() -> None:
    """`write memory` stores text that loads back to the same configuration."""
    store = MemoryStore()
    session = configured('hostname edge', 'end', store=store)
    assert session.feed('write memory') == 'Building configuration...\n[OK]\n'
    assert store.text is not None and 'hostname edge' in store.text
    assert load_text(store.text).config == session.config


def test_write_memory_refuses_an_invalid_config() -> None:
    """A MAG without an LMA is not saved: the startup-config must stay loadable."""
    store = MemoryStore()
    session = configured('ipv6 mobile pmipv6-mag M1 domain D1', 'end', store=store)
    output = session.feed('write memory')
    assert output.startswith('% Configuration has errors, not saved:')
    assert 'MAG M1 has no LMA' in output
    assert store.text is None


def test_copy_running_config_asks_for_the_destination() -> None:
    """`copy running-config startup-config` asks, Enter accepts, then it saves."""
    store = MemoryStore()
    session = configured('hostname c1', 'end', store=store)
    assert session.feed('copy running-config startup-config') == ''
    assert session.prompt == 'Destination filename [startup-config]? '
    assert session.feed('') == 'Building configuration...\n[OK]\n'
    assert store.text is not None and 'hostname c1' in store.text
    assert session.prompt == 'c1#'


def test_show_startup_config_when_absent_and_present() -> None:
    """`show startup-config` says when there is none, and shows the saved text."""
    session = Session(privilege=15)
    assert session.feed('show startup-config') == 'startup-config is not present\n'
    session.feed('write')
    assert session.feed('show startup-config').startswith('Using ')


def test_terminal_settings_are_silent() -> None:
    """`terminal length 0` and `terminal width 511` print nothing (automation sends them)."""
    session = Session()
    assert session.feed('terminal length 0') == ''
    assert session.feed('terminal width 511') == ''
    assert (session.terminal_length, session.terminal_width) == (0, 511)


def test_walk_up_reports_the_error_of_the_mode_that_got_furthest() -> None:
    """`hostname` alone in a sub-mode is incomplete (config mode), not invalid."""
    session = configured('ipv6 mobile pmipv6-domain D1')
    assert session.feed('hostname') == '% Incomplete command.\n'
    assert session.mode == 'config-ipv6-pmipv6-domain'


def test_exit_from_exec_closes_the_session() -> None:
    """`exit` in exec mode ends the session."""
    session = Session()
    session.feed('exit')
    assert session.closed


def test_pool_shorter_than_its_prefix_is_refused() -> None:
    """`pfxlen` shorter than the pool prefix is a command error."""
    session = configured('ipv6 mobile pmipv6-lma L domain D')
    assert session.feed('pool ipv6 P prefix 2001:db8::/48 pfxlen 40') == (
        '% pfxlen 40 is shorter than the pool prefix /48\n'
    )


def _vocabulary() -> list[str]:
    """Every keyword of the tree plus a few values of each type."""
    words = {'?', '1', '60', '99999', '2001:db8::1', '2001:db8::/64', '192.0.2.1', '0011.2233.4455', 'x@y'}

    def walk(node: Node) -> None:
        for child in node.children:
            if child.keyword is not None:
                words.add(child.keyword)
            walk(child)

    for mode in MODES.values():
        walk(mode.root)
    return sorted(words)


def session_in(mode: str) -> Session:
    """A privileged session in `mode`, on an object that exists."""
    session = configured(
        'ipv6 mobile pmipv6-domain D',
        'lma L',
        'exit',
        'mag M',
        'exit',
        'nai a@b',
        'ipv6 mobile pmipv6-lma L domain D',
        'ipv6 mobile pmipv6-mag M domain D',
        'end',
    )
    entries = {
        'exec': [],
        'config': ['configure terminal'],
        'config-ipv6-pmipv6-domain': ['configure terminal', 'ipv6 mobile pmipv6-domain D'],
        'config-ipv6-pmipv6-domain-lma': ['configure terminal', 'ipv6 mobile pmipv6-domain D', 'lma L'],
        'config-ipv6-pmipv6-domain-mag': ['configure terminal', 'ipv6 mobile pmipv6-domain D', 'mag M'],
        'config-ipv6-pmipv6-domain-mn': ['configure terminal', 'ipv6 mobile pmipv6-domain D', 'nai a@b'],
        'config-ipv6-pmipv6-lma': ['configure terminal', 'ipv6 mobile pmipv6-lma L domain D'],
        'config-ipv6-pmipv6-mag': ['configure terminal', 'ipv6 mobile pmipv6-mag M domain D'],
        'config-ssh-pubkey': ['configure terminal', 'ip ssh pubkey-chain'],
        'config-ssh-pubkey-user': ['configure terminal', 'ip ssh pubkey-chain', 'username U'],
        'config-ssh-pubkey-data': ['configure terminal', 'ip ssh pubkey-chain', 'username U', 'key-string'],
    }
    for line in entries[mode]:
        session.feed(line)
    assert session.mode == mode
    return session


VOCABULARY = _vocabulary()


@settings(max_examples=400, deadline=None)
@given(
    mode=st.sampled_from(sorted(MODES)),
    line=st.one_of(st.text(max_size=40), st.lists(st.sampled_from(VOCABULARY), max_size=7).map(' '.join)),
)
def test_any_input_gives_ios_text_never_a_traceback(mode: str, line: str) -> None:
    """Arbitrary input in any mode returns text and never an internal error."""
    session = session_in(mode)
    output = session.feed(line)
    assert isinstance(output, str) and 'Internal error' not in output
    assert 'Internal error' not in session.help(line)
    assert isinstance(session.completions(line), list)
