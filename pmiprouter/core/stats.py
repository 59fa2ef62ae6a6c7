"""Counters the engines keep for `show ... stats` (pure)."""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field

ROUND_TRIP_SAMPLES = 1000  # the latest PBU -> PBA round trips kept for `show ... stats`


@dataclass
class Stats:
    """Message and outcome counters; keys are short kebab-case names."""

    received: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    pba_status: Counter[int] = field(default_factory=Counter)
    bra_status: Counter[int] = field(default_factory=Counter)  # BRAs received (LMA) or sent (MAG), RFC 5846
    events: Counter[str] = field(default_factory=Counter)
    # The MAG's accepted registrations: its PBU on the wire -> the LMA's PBA read (ms).
    round_trips_ms: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIP_SAMPLES))

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {
            'received': dict(self.received),
            'sent': dict(self.sent),
            'pba-status': {str(k): v for k, v in sorted(self.pba_status.items())},
            'bra-status': {str(k): v for k, v in sorted(self.bra_status.items())},
            'events': dict(self.events),
            'round-trip-ms': self.round_trip_summary(),
        }

    def round_trip_summary(self) -> dict[str, float]:
        """Last, median and maximum of the kept round trips, and how many there are (empty: none)."""
        samples = self.round_trips_ms
        if not samples:
            return {}
        return {'last': samples[-1], 'median': round(statistics.median(samples), 2), 'max': max(samples), 'samples': len(samples)}

    def clear(self) -> None:
        """`clear ... stats`: every counter and sample back to nothing."""
        for counter in (self.received, self.sent, self.pba_status, self.bra_status, self.events):
            counter.clear()
        self.round_trips_ms.clear()
