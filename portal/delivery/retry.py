"""When to try again: exponential back-off with jitter, capped, and a deadline."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

FIRST_RETRY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)


def next_attempt(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime:
    """After `attempts` failed tries: 30 s, 1 min, 2 min, … capped at an hour, ±20 % jitter.

    Jitter spreads retries so a recovered server isn't hit by every item at the same second.
    """
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    jitter = (rng or random).uniform(0.8, 1.2)  # noqa: S311 (not for security)
    return now + base * jitter
