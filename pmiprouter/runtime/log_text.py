"""The daemon's log lines: what Twisted's ``textFileLogObserver`` writes, for a fraction of its cost.

Twisted formats every line with ``string.Formatter`` (Python) and builds a time zone object
per line: ~55 µs per line on a warm CPU, several times that on a cold one. That cost lands on
the reactor thread right after the messages a handover waits for (the LMA's PBA, the MAG's
Router Advertisement), while the packet pump waits for the GIL to forward the mobile node's
first packets, and on every registration an LMA logs at the default level.

Here the text is ``str.format_map`` (C: identical output for ``{name}``, ``{name!r}``,
``{a.b}``, ``{a[0]}`` and format specs), the seconds of the time stamp are formatted once per
second, and the line is the same byte for byte. Whatever the fast path does not cover goes to
Twisted's own formatter: callables in the format (``{f()}``), failures (tracebacks), flattened
events, ``log_system``, non-text formats and events that do not format.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, TextIO

from twisted.logger import ILogObserver, Logger, LogLevel, formatEventAsClassicLogText, formatTime
from zope.interface import implementer

TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f%z'  # milliseconds matter in a handover


@implementer(ILogObserver)
class ClassicTextObserver:
    """Writes each event as ``textFileLogObserver(out, timeFormat=TIME_FORMAT)`` would."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._second: int | None = None  # the second the cached zone is for
        self._zone: Any = None
        self._zone_text = ''
        self._text = ''  # date and time to the second of the latest line
        self._text_for: int | None = None  # its seconds field

    def __call__(self, event: dict[str, Any]) -> None:
        text = self.fast_text(event)
        if text is None:
            text = formatEventAsClassicLogText(event, formatTime=_twisted_time)
        if text:
            self.out.write(text)
            self.out.flush()

    def fast_text(self, event: dict[str, Any]) -> str | None:
        """The line, or None when Twisted's formatter must do it."""
        log_format = event.get('log_format')
        if type(log_format) is not str or 'log_failure' in event or 'log_flattened' in event or 'log_system' in event:
            return None
        try:
            text = log_format.format_map(event)
        except Exception:  # e.g. a callable field, a missing key: Twisted formats (or reports) those
            return None
        if not text:
            return None
        level = event.get('log_level')
        system = f'{event.get("log_namespace", "-")}#{level.name if level is not None else "-"}'
        line = f'{self.stamp(event.get("log_time"))} [{system}] {text}'
        return line.replace('\n', '\n\t') + '\n'

    def stamp(self, when: float | None) -> str:
        """`formatTime(when, TIME_FORMAT)`, with the zone looked up once per second."""
        if when is None:
            return '-'
        second = int(when)
        if second != self._second:
            # The local offset at that moment (DST included), fixed, as Twisted takes it.
            self._zone = datetime.fromtimestamp(when).astimezone().tzinfo
            self._zone_text = datetime.fromtimestamp(when, self._zone).strftime('%z')
            self._second, self._text_for = second, None
        moment = datetime.fromtimestamp(when, self._zone)
        # Date and time to the second, once per second (rounding to the microsecond may carry
        # a moment into the next second: the seconds field tells).
        if moment.second != self._text_for:
            self._text, self._text_for = moment.strftime('%Y-%m-%dT%H:%M:%S'), moment.second
        return f'{self._text}.{moment.microsecond:06d}{self._zone_text}'


def _twisted_time(when: float | None) -> str:
    return formatTime(when, TIME_FORMAT)


class StdlibToTwisted(logging.Handler):
    """Standard-library log records (pyroute2, the data plane) as events of the daemon's log, at
    their own level: written to stdout instead, Twisted would log them as `info` lines of
    ``stdout``, and a filter at `warn` would drop their warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        no = record.levelno
        level = (LogLevel.critical if no >= logging.CRITICAL else LogLevel.error if no >= logging.ERROR
                 else LogLevel.warn if no >= logging.WARNING else LogLevel.info if no >= logging.INFO
                 else LogLevel.debug)
        # The message is a field, never the format: braces in it are text.
        Logger(namespace=record.name).emit(level, '{message}', message=record.getMessage())
