"""Counters the engines keep for `show ... stats` (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    """Message and outcome counters; keys are short kebab-case names."""

    received: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    pba_status: Counter[int] = field(default_factory=Counter)
    bra_status: Counter[int] = field(default_factory=Counter)  # BRAs received (LMA) or sent (MAG), RFC 5846
    events: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {
            'received': dict(self.received),
            'sent': dict(self.sent),
            'pba-status': {str(k): v for k, v in sorted(self.pba_status.items())},
            'bra-status': {str(k): v for k, v in sorted(self.bra_status.items())},
            'events': dict(self.events),
        }
