"""`bri delay min|max` and `bri retries` reach the LMA's BRI retransmissions (RFC 5846 §11)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pmiprouter.config.load import load_text
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.revocation import BRI_TIMER, BriTiming
from pmiprouter.runtime.policies import lma_policy
from tests.core.harness import MAG1, T0, Harness, pbu, policy
from tests.core.test_lma_revocation import bris, revoke


def revoked_with(timing: BriTiming) -> tuple[Harness, tuple[str, int]]:
    h = Harness(lma=LocalMobilityAnchor(policy(bri_timing=timing)))
    h.send(pbu(), T0, src=MAG1)
    _, actions = revoke(h, None, T0 + 10)
    (first,) = bris(actions)
    return h, (BRI_TIMER, first.message.sequence)


def test_configured_delays_and_retries_drive_the_retransmissions() -> None:
    """min 600 ms, max 1000 ms, 3 retries: BRIs at +0, +0.6, +1.6, +2.6; deleted at +3.6."""
    h, key = revoked_with(BriTiming(0.6, 1.0, 3))
    sent = []
    for at in (T0 + 10.6, T0 + 11.6, T0 + 12.6):
        assert h.timers[key] == pytest.approx(at)
        sent += bris(h.advance(at))
    assert len(sent) == 3 and h.timers[key] == pytest.approx(T0 + 13.6)
    assert len(h.lma.bindings()) == 1
    h.advance(T0 + 13.6)
    assert h.lma.bindings() == [] and h.lma.stats.sent['bri'] == 4


def test_no_retries_gives_up_after_the_first_delay() -> None:
    h, key = revoked_with(BriTiming(0.5, 2.0, 0))
    assert bris(h.advance(T0 + 10.5)) == [] and h.lma.bindings() == []


def test_below_the_rfc_floor_or_inverted_the_timing_is_made_sane() -> None:
    assert BriTiming(0.1, 0.2, -1) == BriTiming(0.5, 0.5, 0)


def test_a_reload_applies_to_new_revocations() -> None:
    h, key = revoked_with(BriTiming())
    assert h.timers[key] == T0 + 11  # the RFC's 1 s
    h.lma.reconfigure(replace(h.lma.policy, bri_timing=BriTiming(2.0, 4.0, 1)))
    h.send(pbu(nai='mn2@example.com', ts=T0 + 20), T0 + 20, src=MAG1)
    _, actions = revoke(h, 'mn2@example.com', T0 + 30)
    (second,) = bris(actions)
    assert h.timers[(BRI_TIMER, second.message.sequence)] == T0 + 32
    assert h.timers[key] == T0 + 11  # the BRI already out keeps its timing


CONFIG = '''\
ipv6 mobile pmipv6-domain D
 encap ipv6-in-ipv6
ipv6 mobile pmipv6-lma LMA1 domain D
 address ipv6 2001:db8:2::1
 bri delay min 700
 bri delay max 1500
 bri retries 2
'''


def test_the_startup_config_lines_become_the_engine_timing() -> None:
    result = load_text(CONFIG)
    assert result.config is not None, result.errors
    assert lma_policy(result.config, result.config.lmas[0]).bri_timing == BriTiming(0.7, 1.5, 2)
