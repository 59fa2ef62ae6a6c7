#!/usr/bin/env python3
"""Startup-config load time with many mobile-node profiles (the replay through the CLI parser).

Run: `.venv/bin/python bench/bench_config.py [PROFILES ...]`.
"""

from __future__ import annotations

import sys
import time

from pmiprouter.config.load import load_text


def config_with(profiles: int) -> str:
    lines = ['hostname lma', 'ipv6 mobile pmipv6-domain D', ' mag M1', '  ipv6-address 2001:db8:12::1']
    for i in range(profiles):
        lines += [f' nai mn{i}@bench.example', '  service ipv6']
    lines += ['!', 'ipv6 mobile pmipv6-lma L domain D', ' address ipv6 2001:db8:12::2', '!', 'end']
    return '\n'.join(lines) + '\n'


def main() -> int:
    for profiles in [int(a) for a in sys.argv[1:]] or [1000, 5000, 20000]:
        text = config_with(profiles)
        start = time.perf_counter()
        result = load_text(text)
        elapsed = time.perf_counter() - start
        assert result.ok, result.errors[:1]
        print(f'{profiles:>6} MN profiles ({text.count(chr(10))} lines): loaded in {elapsed:.2f} s')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
