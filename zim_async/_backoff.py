"""Backoff arithmetic. Pure: the random source is an argument."""

from __future__ import annotations

import random

__all__ = ["cooldown_delay", "retry_delay"]


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter before retry number ``attempt`` (1-based).

    Full jitter spreads retries of many workers that failed together over the whole
    interval instead of sending them back as one burst.
    """
    if attempt < 1:
        raise ValueError(f"attempt={attempt!r}: must be >= 1")
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


def cooldown_delay(consecutive: int, *, base: float, cap: float, rng: random.Random) -> float:
    """How long the shared gate stays closed after the ``consecutive``-th rate-limit answer.

    About ``base`` (one window) the first time, doubling each time the server still
    says we are too fast, capped at ``cap``; up to 25 % jitter so that separate
    processes sharing one AppID do not reopen in step.
    """
    if consecutive < 1:
        raise ValueError(f"consecutive={consecutive!r}: must be >= 1")
    delay = min(cap, base * 2.0 ** (consecutive - 1))
    return min(cap, delay * rng.uniform(1.0, 1.25))
