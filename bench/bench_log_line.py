#!/usr/bin/env python3
"""Cost of one info log line as the daemon writes it: Twisted's textFileLogObserver against
pmiprouter.runtime.log_text.ClassicTextObserver (same bytes), through the same Logger and level
filter, to /dev/null. Run: ``.venv/bin/python bench/bench_log_line.py [--lines N]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from twisted.logger import FilteringLogObserver, LogLevel, LogLevelFilterPredicate, LogPublisher, Logger, textFileLogObserver

from pmiprouter.runtime.log_text import TIME_FORMAT, ClassicTextObserver


def per_line(observer: Any, lines: int) -> float:
    """Microseconds per `mn-registered` line, best of three runs."""
    publisher = LogPublisher(FilteringLogObserver(observer, [LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)]))
    log = Logger(namespace='pmiprouter.runtime.driver.EngineDriver', observer=publisher)
    best = float('inf')
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(lines):
            log.emit(LogLevel.info, 'mn-registered mn={mn} hnps={hnps} pbu_pba_ms={pbu_pba_ms}',
                     mn='02:00:00:00:01:01', hnps=['2001:db8:aaaa::/64'], pbu_pba_ms=1.62)
        best = min(best, (time.perf_counter() - start) / lines * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lines', type=int, default=20_000)
    args = parser.parse_args()
    with open('/dev/null', 'w') as sink:
        twisted = per_line(textFileLogObserver(sink, timeFormat=TIME_FORMAT), args.lines)
        ours = per_line(ClassicTextObserver(sink), args.lines)
    print(f'one info log line: Twisted textFileLogObserver {twisted:.1f} us, ClassicTextObserver {ours:.1f} us')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
