"""A manual clock for tests that drive the simulator's rate window by hand."""

from __future__ import annotations

import threading

__all__ = ["ManualClock"]


class ManualClock:
    """A callable clock that only moves when told to.

    Pass it as ``clock=`` (monotonic seconds) or ``wall_clock=`` (Unix seconds). It is
    safe to read and advance from different threads, so it also works with
    `serve_fake`, whose server runs in a background thread.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now``. Use for the wall clock; a monotonic clock should only advance."""
        with self._lock:
            self._now = now
