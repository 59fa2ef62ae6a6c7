#!/usr/bin/env python3
"""Startup-config load time with many mobile-node profiles (the replay through the CLI parser,
then validation).

Prints wall-clock and CPU seconds (the machine is shared: CPU time is the steadier figure) and
the CPU cost per line, which stays flat when loading is linear. `--hnp` gives every profile a
home network prefix as well (what the overlap check of validation sees).

Run: `.venv/bin/python bench/bench_config.py [--hnp] [--repeat N] [PROFILES ...]`
(default 5000 20000 100000).
"""

from __future__ import annotations

import argparse
import time

from pmiprouter.config.load import load_text


def config_with(profiles: int, hnp: bool = False) -> str:
    """A domain with one `nai` block per MN (ids in no sorted order: mn10 sorts before mn2)."""
    lines = ['hostname lma', 'ipv6 mobile pmipv6-domain D', ' mag M1', '  ipv6-address 2001:db8:12::1']
    for i in range(profiles):
        lines += [f' nai mn{i}@bench.example', '  service ipv6']
        if hnp:
            lines.append(f'  hnp 2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::/64')
    lines += ['!', 'ipv6 mobile pmipv6-lma L domain D', ' address ipv6 2001:db8:12::2', '!', 'end']
    return '\n'.join(lines) + '\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('profiles', type=int, nargs='*', default=[5000, 20000, 100000])
    parser.add_argument('--hnp', action='store_true', help='one HNP per profile as well')
    parser.add_argument('--repeat', type=int, default=1, help='best of N loads per size')
    args = parser.parse_args()
    for profiles in args.profiles:
        text = config_with(profiles, args.hnp)
        lines = text.count('\n')
        wall = cpu = float('inf')
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = load_text(text)
            wall = min(wall, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
            assert result.ok, result.errors[:1]
        print(
            f'{profiles:>7} MN profiles ({lines} lines): loaded in {wall:.2f} s '
            f'({cpu:.2f} s CPU, {cpu / lines * 1e6:.1f} us CPU per line)'
        )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
