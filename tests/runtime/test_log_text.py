"""The fast log observer writes exactly what Twisted's textFileLogObserver writes."""

from __future__ import annotations

import io
import os
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.logger import LogLevel, formatEventAsClassicLogText, formatTime
from twisted.python.failure import Failure

from pmiprouter.core.actions import Texts
from pmiprouter.runtime.log_text import TIME_FORMAT, ClassicTextObserver


def twisted_line(event: dict[str, Any]) -> str | None:
    return formatEventAsClassicLogText(event, formatTime=lambda when: formatTime(when, TIME_FORMAT))


def written(event: dict[str, Any]) -> str:
    out = io.StringIO()
    ClassicTextObserver(out)(event)
    return out.getvalue()


def event(log_format: object, **fields: object) -> dict[str, Any]:
    return {'log_format': log_format, 'log_time': 1795766187.870471, 'log_level': LogLevel.info,
            'log_namespace': 'pmiprouter.runtime.driver.EngineDriver', **fields}


def failed() -> Failure:
    try:
        raise ValueError('boom')
    except ValueError:
        return Failure()


class Callable:
    def __call__(self) -> str:
        return 'called'


CASES = [
    event('mn-registered mn={mn} hnps={hnps} pbu_pba_ms={pbu_pba_ms}', mn='02:00:00:00:01:01',
          hnps=Texts(('2001:db8:aaaa::/64',)), pbu_pba_ms=1.62),
    event('{a!r} {b:>6} {c[0]} {d.real}', a='x', b=3, c=[7], d=2.5),
    event('two\nlines'),
    event('missing {nothing}'),
    event('call {f()}', f=Callable()),
    event('with failure', log_failure=failed()),
    event('system', log_system='my-system'),
    event(b'bytes format'),
    event(''),
    {'log_format': 'no time, no level'},
    event('no namespace', log_namespace=None) | {'log_namespace': '-'},
    {k: v for k, v in event('no format').items() if k != 'log_format'},
]


@pytest.mark.parametrize('case', CASES)
def test_every_kind_of_event_is_written_as_twisted_writes_it(case: dict[str, Any]) -> None:
    assert written(case) == (twisted_line(case) or '')


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=4e9, allow_nan=False), st.text(max_size=30))
def test_time_stamps_and_text_match_twisted(when: float, text: str) -> None:
    case = event('{text}', text=text, log_time=when)
    assert written(case) == (twisted_line(case) or '')


@pytest.mark.parametrize('zone', ['Europe/Paris', 'America/St_Johns', 'UTC'])
def test_local_zones_and_their_daylight_saving_changes_match(zone: str) -> None:
    old = os.environ.get('TZ')
    os.environ['TZ'] = zone
    time.tzset()
    try:
        observer, out = None, io.StringIO()
        observer = ClassicTextObserver(out)
        start = 1711846800.0 - 3 * 3600  # 2024-03-31, around the European spring change
        for offset in range(0, 6 * 3600, 599):
            for fraction in (0.0, 0.4999996, 0.9999996):
                case = event('x', log_time=start + offset + fraction)
                out.seek(0), out.truncate()
                observer(case)
                assert out.getvalue() == twisted_line(case)
    finally:
        if old is None:
            del os.environ['TZ']
        else:
            os.environ['TZ'] = old
        time.tzset()


def test_standard_library_records_keep_their_level() -> None:
    """A library's warning is a `warn` event of its logger's namespace (a filter at `warn` keeps
    it); braces in the message are text, not a format."""
    import logging

    from twisted.logger import LogLevel, globalLogPublisher

    from pmiprouter.runtime.log_text import StdlibToTwisted

    events: list[dict[str, object]] = []
    globalLogPublisher.addObserver(events.append)
    lib = logging.getLogger('some.library')
    handler = StdlibToTwisted()
    lib.addHandler(handler)
    lib.propagate = False
    try:
        lib.warning('pool %s holds {route}', '2001:db8::/32')
        lib.error('gone')
    finally:
        lib.removeHandler(handler)
        globalLogPublisher.removeObserver(events.append)
    assert [(e['log_namespace'], e['log_level'], e['message']) for e in events] == [
        ('some.library', LogLevel.warn, 'pool 2001:db8::/32 holds {route}'),
        ('some.library', LogLevel.error, 'gone'),
    ]
