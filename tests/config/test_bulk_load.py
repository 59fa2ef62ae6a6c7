"""Bulk loading: drafts edited in place give exactly what the immutable tuples give.

The loader replays a file over a thawed configuration (keyed tuples become `KeyedDraft`s,
see pmiprouter/config/keyed.py) and freezes it at the end. The oracle is the same replay
with thaw/freeze switched off, i.e. every edit copying sorted tuples as at the prompt.
"""

from __future__ import annotations

import gc
import itertools
import random
from ipaddress import IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmiprouter.cli.session import Result, Session
from pmiprouter.config import load
from pmiprouter.config.keyed import KeyedDraft, freeze, thaw
from pmiprouter.config.load import load_text, replay
from pmiprouter.config.model import DomainConfig, MnProfile, PeerConfig, RouterConfig, SshConfig, find
from pmiprouter.config.render import render, running_config
from pmiprouter.config.validate import _overlaps, validate

from .strategies import router_configs


def _replay_with_tuples(
    monkeypatch: pytest.MonkeyPatch, text: str, base: RouterConfig | None = None
) -> tuple[RouterConfig, list[load.LoadError], load.Anchors]:
    """The replay as it was before drafts: every line copies the keyed tuples it edits."""
    with monkeypatch.context() as patch:
        patch.setattr(load, 'thaw', lambda config: config)
        patch.setattr(load, 'freeze', lambda config: config)
        return replay(text, base=base)


def _varied(profiles: int, seed: int) -> str:
    """A file in no particular order: NAI and MAC profiles, HNPs, re-entered profiles,
    `no nai` of present and absent ones, a second domain, a bad line in a block."""
    rnd = random.Random(seed)
    lines = ['hostname big', 'ipv6 mobile pmipv6-domain D2', ' lma L2', '  ipv6-address 2001:db8:99::2', '!']
    lines += ['ipv6 mobile pmipv6-domain D', ' lma L1', '  ipv6-address 2001:db8:12::2']
    ids = list(range(profiles))
    rnd.shuffle(ids)
    for i in ids:
        if i % 7 == 0:
            lines += [f' mac-address 0000.{i >> 16:04x}.{i & 0xFFFF:04x}', '  service dual']
            lines += [f'  ipv4-address 10.0.{i >> 8 & 255}.{i & 255}']
        else:
            lines += [f' nai mn{i}@x.example', f'  hnp 2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::/64']
        if i % 5 == 0:
            lines += ['  lma L1', f'  gre-key {i}']
        other = rnd.randrange(profiles)
        if i % 11 == 0:
            lines += [f' nai mn{other}@x.example', '  service dual']
        if i % 13 == 0:
            lines += [f' no nai mn{other}@x.example']  # sometimes absent: an error line
        if i % 97 == 0:
            lines += [f' nai mn{i}@x.example', '  servce ipv6']  # a typo: caret and suggestion
    lines += ['!', 'ipv6 mobile pmipv6-lma L domain D', ' address ipv6 2001:db8:12::2', '!', 'end']
    return '\n'.join(lines) + '\n'


def test_a_large_unordered_file_replays_exactly_as_with_tuples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same configuration (and rendering), same errors with lines and carets, same anchors."""
    text = _varied(1500, seed=5)
    expected = _replay_with_tuples(monkeypatch, text)
    config, errors, anchors = replay(text)
    assert errors and errors == expected[1]  # the file has errors: they are reported alike
    assert config == expected[0]
    assert anchors == expected[2]
    assert running_config(config) == running_config(expected[0])
    assert type(config.domains) is tuple and all(type(d.mn_profiles) is tuple for d in config.domains)


def test_a_large_valid_file_round_trips() -> None:
    """Load, render, load again: the same configuration and the same text."""
    lines = ['ipv6 mobile pmipv6-domain D', ' lma L1', '  ipv6-address 2001:db8:12::2']
    for i in reversed(range(3000)):
        lines += [f' nai mn{i}@x.example', f'  hnp 2001:db8:{i:x}::/64', '  lma L1']
    first = load_text('\n'.join(lines) + '\n')
    assert first.config is not None, [e.render() for e in first.errors[:3]]
    profiles = first.config.domains[0].mn_profiles
    assert len(profiles) == 3000
    assert [p.key for p in profiles] == sorted(p.key for p in profiles)
    text = render(first.config)
    second = load_text(text)
    assert second.config == first.config
    assert render(second.config) == text


def test_replay_over_a_base_leaves_the_base_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """`copy startup-config running-config` merges over the running config, which is shared
    with readers: the drafts are copies, never the base's own tuples."""
    profiles = (MnProfile('nai', 'a@x'), MnProfile('nai', 'c@x'))
    base = RouterConfig(domains=(DomainConfig('D', lmas=(PeerConfig('L1'),), mn_profiles=profiles),))
    snapshot = repr(base)
    text = 'ipv6 mobile pmipv6-domain D\n nai b@x\n  service dual\n no nai c@x\n nai a@x\n  lma L1\n'
    merged, errors, _ = replay(text, base=base)
    assert errors == []
    assert repr(base) == snapshot and type(base.domains[0].mn_profiles) is tuple
    assert merged == _replay_with_tuples(monkeypatch, text, base=base)[0]
    assert [(p.identifier, p.service, p.lma) for p in merged.domains[0].mn_profiles] == [
        ('a@x', 'ipv6', 'L1'),
        ('b@x', 'dual', None),
    ]


@pytest.mark.parametrize('enabled', [True, False])
def test_the_collector_is_paused_only_during_the_load(monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    """The loader pauses the cyclic collector and puts back the state it found, even when
    the replay fails."""
    seen: list[bool] = []
    real = Session.run

    def run(session: Session, line: str) -> Result:
        seen.append(gc.isenabled())
        if line == 'explode':
            raise RuntimeError('boom')
        return real(session, line)

    monkeypatch.setattr(Session, 'run', run)
    (gc.enable if enabled else gc.disable)()
    try:
        assert replay('hostname a\n')[1] == []
        with pytest.raises(RuntimeError):
            replay('explode\n')
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
    assert seen == [False, False]


def test_a_flat_file_leaves_no_garbage_cycles() -> None:
    """Walk-up (every `nai` of an unindented file first fails in the profile's mode) and
    error lines leave nothing for the collector, which is paused during the load."""
    lines = ['ipv6 mobile pmipv6-domain D']
    for i in range(200):
        lines += [f'nai mn{i}@x', 'service dual', 'servce ipv6' if i % 50 == 0 else 'no hnp']
    gc.collect()
    gc.disable()
    try:
        _, errors, _ = replay('\n'.join(lines) + '\n')
        garbage = gc.collect()
    finally:
        gc.enable()
    assert len(errors) == 4 and garbage == 0


# One domain, a handful of keys: sequences of edits that collide, replace and remove.
_COMMANDS = st.sampled_from(
    [
        ' nai a@x',
        ' nai b@x',
        ' nai c@x',
        ' mac-address 0000.0000.0001',
        ' no nai a@x',
        ' no nai b@x',
        ' no mac-address 0000.0000.0001',
        '  service dual',
        '  hnp 2001:db8:1::/64',
        '  no hnp',
        '  lma L1',
        ' lma L1',
        ' no lma L1',
        '  ipv6-address 2001:db8::1',
        ' mag M1',
        ' no mag M1',
        'ipv6 mobile pmipv6-domain E',
        'no ipv6 mobile pmipv6-domain E',
        'ipv6 mobile pmipv6-domain D',
        'ipv6 mobile pmipv6-lma L domain D',
        ' pool ipv6 P prefix 2001:db8::/48',
        ' no pool ipv6 P',
        'ipv6 mobile pmipv6-mag M domain D',
        ' interface eth1',
        ' no interface eth1',
        'ip ssh pubkey-chain',
        ' username u',
        '  key-hash ssh-ed25519 0123456789ABCDEF0123456789ABCDEF',
        ' no username u',
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(_COMMANDS, max_size=40))
def test_any_edit_sequence_gives_what_tuples_give(
    monkeypatch: pytest.MonkeyPatch, commands: list[str]
) -> None:
    """Whatever the order of creations, replacements and `no` forms, the result, the errors
    and the anchors are those of the copying implementation."""
    text = '\n'.join(['ipv6 mobile pmipv6-domain D', *commands]) + '\n'
    assert replay(text) == _replay_with_tuples(monkeypatch, text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(config=router_configs)
def test_freeze_undoes_thaw(config: RouterConfig) -> None:
    """Every keyed tuple becomes a draft and comes back equal; the original is not touched."""
    thawed = thaw(config)
    assert isinstance(thawed.domains, KeyedDraft) and isinstance(thawed.ssh.pubkey_users, KeyedDraft)
    assert all(isinstance(d.mn_profiles, KeyedDraft) for d in thawed.domains)
    assert thawed == config  # a draft compares equal to the tuple it stands for
    frozen = freeze(thawed)
    assert frozen == config and repr(frozen) == repr(config)
    assert type(frozen.domains) is tuple and type(frozen.ssh.pubkey_users) is tuple


def test_a_draft_reads_like_the_sorted_tuple() -> None:
    """Lookups, order, indexing and equality of a draft match the tuple of its items."""
    draft = KeyedDraft([PeerConfig('c'), PeerConfig('a')])
    assert [p.name for p in draft] == ['a', 'c']  # read between edits: the order is recomputed
    draft.put(PeerConfig('b', ipv4_address=None))
    assert [p.name for p in draft] == ['a', 'b', 'c']
    draft.put(PeerConfig('a', ipv6_address=IPv6Address('2001:db8::1')))
    draft.drop('c')
    draft.drop('absent')
    expected = (PeerConfig('a', ipv6_address=IPv6Address('2001:db8::1')), PeerConfig('b'))
    assert tuple(draft) == expected and draft == expected and len(draft) == 2
    assert draft[0] == expected[0] and draft[-1] == expected[1] and draft[0:1] == expected[:1]
    assert find(draft, 'b') == PeerConfig('b') and find(draft, 'c') is None
    assert find(draft, ['unhashable']) is None
    assert SshConfig(pubkey_users=KeyedDraft()) == SshConfig()  # `cfg.ssh != SshConfig()` in render
    with pytest.raises(TypeError):
        hash(draft)


prefixes = st.one_of(
    st.builds(lambda a, n: IPv6Network((a, n), False), st.integers(0, 2**128 - 1), st.integers(0, 128)),
    st.builds(lambda a, n: IPv4Network((a, n), False), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.sampled_from([IPv6Network('2001:db8::/32'), IPv6Network('2001:db8:1::/48')]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(prefixes, max_size=12))
def test_overlap_sweep_finds_the_pairs_of_the_all_pairs_check(nets: list[IPv6Network | IPv4Network]) -> None:
    """The sweep reports exactly the overlapping pairs, in the all-pairs order."""
    named = [(f'p{i}', net) for i, net in enumerate(nets)]
    expected = [
        (name_a, name_b)
        for (name_a, a), (name_b, b) in itertools.combinations(named, 2)
        if a.version == b.version and a.overlaps(b)  # type: ignore[arg-type]
    ]
    assert _overlaps(named) == expected


def test_overlapping_hnps_among_many_profiles_are_reported() -> None:
    """Validation of thousands of HNPs stays fast and still names the overlapping pair."""
    profiles = tuple(
        MnProfile('nai', f'mn{i:05d}@x', hnps=(IPv6Network(f'2001:db8:{i:x}::/64'),)) for i in range(5000)
    )
    clash = MnProfile('nai', 'zz@x', hnps=(IPv6Network('2001:db8:10::/44'),))
    config = RouterConfig(domains=(DomainConfig('D', mn_profiles=(*profiles, clash)),))
    messages = [p.message for p in validate(config)]
    expected = [f'Domain D: home network prefixes of mn{i:05d}@x and zz@x overlap' for i in range(16, 32)]
    assert messages == expected
