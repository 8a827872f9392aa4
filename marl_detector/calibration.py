"""Campaign timing calibrated on real Telegram pump-and-dump events (La Morgia et al., ICCCN 2020).

Why calibrate timing at all: real pumps are announced for a round hour in the European/US afternoon (most at
17:00 UTC, 74 % exactly on the hour) and groups repeat every few days. A simulator with uniform campaign
timing would hide the one cheap signal real detectors use, and a manipulator policy that learns "stealth
timing" must move *away* from this empirical distribution, which costs it reach (see marl_detector/sim.py).
The data lives in data/pump_and_dump/ (MIT, with its LICENSE).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import SymphonyError

DEFAULT_EVENTS = Path(__file__).resolve().parent.parent / "data" / "pump_and_dump" / "pump_telegram.csv"


@dataclass(frozen=True)
class PumpEvent:
    group: str
    when: dt.datetime  # UTC


@dataclass(frozen=True)
class TimingCalibration:
    """Empirical timing of real campaigns (all probabilities sum to 1)."""

    n_events: int
    hour_probs: tuple[float, ...]  # 24 UTC hours
    weekday_probs: tuple[float, ...]  # Monday = 0
    on_the_hour: float  # share of events announced at minute :00
    gap_days: tuple[float, ...]  # inter-event gaps within a group, in days (positive only)

    def sample_hour(self, rng: np.random.Generator) -> int:
        return int(rng.choice(24, p=np.asarray(self.hour_probs)))

    def sample_weekday(self, rng: np.random.Generator) -> int:
        return int(rng.choice(7, p=np.asarray(self.weekday_probs)))

    def sample_gap_days(self, rng: np.random.Generator) -> float:
        return float(self.gap_days[int(rng.integers(len(self.gap_days)))])


def load_events(path: Path = DEFAULT_EVENTS) -> list[PumpEvent]:
    """Parse `symbol,group,date,hour,exchange` rows; a malformed file is a user error."""
    if not path.exists():
        raise SymphonyError(f"pump-and-dump event list not found: {path}")
    events: list[PumpEvent] = []
    with path.open(newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            try:
                day = dt.date.fromisoformat(row["date"].strip())
                hh, mm = row["hour"].strip().split(":")[:2]
                events.append(PumpEvent(row["group"].strip(), dt.datetime(day.year, day.month, day.day, int(hh), int(mm))))
            except (KeyError, ValueError) as exc:
                raise SymphonyError(f"{path}:{i}: malformed event row {row!r}: {exc}") from exc
    if not events:
        raise SymphonyError(f"{path} holds no events")
    return events


@lru_cache(maxsize=4)
def calibrate(path: Path = DEFAULT_EVENTS) -> TimingCalibration:
    """Hour-of-day, weekday, on-the-hour share and within-group cadence of the real events."""
    events = load_events(path)
    hours = np.bincount([e.when.hour for e in events], minlength=24).astype(float) + 0.1  # tiny floor: no hour impossible
    weekdays = np.bincount([e.when.weekday() for e in events], minlength=7).astype(float)
    by_group: dict[str, list[dt.datetime]] = defaultdict(list)
    for e in events:
        by_group[e.group].append(e.when)
    gaps: list[float] = []
    for times in by_group.values():
        times.sort()
        gaps += [(b - a).total_seconds() / 86400 for a, b in zip(times, times[1:]) if b > a]
    return TimingCalibration(
        n_events=len(events),
        hour_probs=tuple(hours / hours.sum()),
        weekday_probs=tuple(weekdays / weekdays.sum()),
        on_the_hour=sum(e.when.minute == 0 for e in events) / len(events),
        gap_days=tuple(sorted(gaps)) or (1.0,),
    )
