"""Round trip: the CLI text rendered from a configuration loads back to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pmiprouter.config.load import load_text, replay
from pmiprouter.config.model import RouterConfig
from pmiprouter.config.render import render

from .strategies import router_configs

CONF = Path(__file__).resolve().parents[2] / 'conf'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=router_configs)
def test_render_then_replay_gives_the_same_config(config: RouterConfig) -> None:
    """replay(render(c)) == c, and rendering again gives the same text."""
    text = render(config)
    loaded, errors, _ = replay(text)
    assert errors == []
    assert loaded == config
    assert render(loaded) == text


def test_default_config_renders_minimal_text() -> None:
    """A default configuration shows only the hostname."""
    assert render(RouterConfig()) == '!\nhostname Router\n!\nend\n'


@pytest.mark.parametrize('path', sorted(CONF.glob('*.conf')), ids=lambda p: p.name)
def test_examples_render_stably(path: Path) -> None:
    """render(load(example)) loads to the same config and renders to the same text."""
    first = load_text(path.read_text(encoding='utf-8'))
    assert first.config is not None, [e.render() for e in first.errors]
    text = render(first.config)
    second = load_text(text)
    assert second.config == first.config
    assert render(second.config) == text
