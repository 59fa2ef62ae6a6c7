"""`copy startup-config running-config`: merges the saved configuration, all or nothing."""

from __future__ import annotations

from pmiprouter.cli.session import MemoryStore, Session

from .fakes import FakeControl, online

SAVED = 'hostname saved\nipv6 mobile pmipv6-domain D2\n nai z@example.com\nend\n'


def test_merges_into_the_running_configuration() -> None:
    """Saved lines are replayed over the running ones: both survive, the saved value wins."""
    session = Session(privilege=15, store=MemoryStore(SAVED))
    for line in ('configure terminal', 'hostname typed', 'ip ssh port 2222', 'end'):
        session.feed(line)
    assert session.feed('copy startup-config running-config') == ''
    assert session.prompt == 'Destination filename [running-config]? '
    assert session.feed('') == f'{len(SAVED)} bytes copied\n'
    config = session.config
    assert config.hostname == 'saved' and config.ssh.port == 2222 and config.domains[0].name == 'D2'


def test_refused_without_or_with_a_broken_startup_config() -> None:
    """No startup-config, or one that does not apply: nothing changes."""
    empty = Session(privilege=15)
    empty.feed('copy startup-config running-config')
    assert empty.feed('').startswith('%Error opening startup-config')
    broken = Session(privilege=15, store=MemoryStore('hostname ok\nipv6 mobile pmipv6-lma L domain NOPE\nend\n'))
    before = broken.config
    broken.feed('copy startup-config running-config')
    text = broken.feed('running-config')
    assert text.startswith('% Not copied') and 'domain NOPE is not configured' in text
    assert broken.config is before


def test_goes_through_the_daemon_commit() -> None:
    """Attached to the daemon, the merge is committed (and a refusal leaves everything as it was)."""
    session, control = online()
    session.store = MemoryStore(SAVED)
    session.feed('copy startup-config running-config')
    assert 'bytes copied' in session.feed('')
    assert control.commits[-1].hostname == 'saved'
    refusing = FakeControl(refuse=True)
    session, _ = online(refusing)
    session.store = MemoryStore(SAVED)
    before = session.config
    session.feed('copy startup-config running-config')
    assert session.feed('').startswith('% Change refused, nothing changed')
    assert session.config == before and refusing.running == before
