"""B5: the limiter alone: zim_async's `LocalLimiter` against aiolimiter and pyrate-limiter.

    python -m benchmarks.limiters KIND TEST

KIND is ``zim``, ``aiolimiter`` or ``pyrate``, each set up as its docs suggest for
"20 per second"; TEST is one of:

- ``fast``: µs per acquire when no one waits (a rate too high to ever wait).
- ``waiters``: process CPU seconds over 2 s while 10,000 callers wait at 20/s.
- ``window``: 100 callers started at once at 20/s: the most that resumed in any
  one-second window, and how long it took; then 300 callers arriving every 5 ms at
  100/s: FIFO inversions (a caller served while one that started waiting before it
  still waits).
- ``trio``: whether one acquire works under trio.

Each test runs in a fresh process and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from ._common import max_in_window

Acquire = Callable[[], Coroutine[Any, Any, None]]
RATE = 20
FAST_CALLS = 100_000
WAITERS = 10_000
BURST_CALLS = 100  # 5 s at 20/s: the first second shows any burst
FIFO_CALLS = 300


def make(kind: str, rate: float) -> Acquire:
    if kind == "zim":
        from zim_async import LimitKey, LocalLimiter

        local = LocalLimiter(rate)
        key = LimitKey(1234567890, "SilenceConvNotification")

        async def zim() -> None:
            await local.acquire(key)

        return zim
    if kind == "aiolimiter":
        from aiolimiter import AsyncLimiter

        leaky = AsyncLimiter(rate, 1)

        async def aiolimiter() -> None:
            async with leaky:
                pass

        return aiolimiter
    from pyrate_limiter import Duration, limiter_factory

    pyrate_limiter = limiter_factory.create_inmemory_limiter(
        rate_per_duration=int(rate), duration=Duration.SECOND
    )

    async def pyrate() -> None:
        await pyrate_limiter.try_acquire_async("SilenceConvNotification")

    return pyrate


async def fast(kind: str) -> dict[str, object]:
    acquire = make(kind, 1e9)
    for _ in range(1000):  # warm up
        await acquire()
    started = time.perf_counter()
    for _ in range(FAST_CALLS):
        await acquire()
    return {"us_per_acquire": (time.perf_counter() - started) / FAST_CALLS * 1e6}


async def waiters(kind: str) -> dict[str, object]:
    acquire = make(kind, RATE)
    async with anyio.create_task_group() as tg:
        for _ in range(WAITERS):
            tg.start_soon(acquire)
        await anyio.sleep(0.5)  # every caller is waiting by now
        cpu = time.process_time()
        await anyio.sleep(2.0)
        cpu = time.process_time() - cpu
        tg.cancel_scope.cancel()
    return {"cpu_s_per_2s": cpu}


async def _serve(
    kind: str, rate: float, spacing: float, calls: int
) -> tuple[list[float], int, float]:
    """Callers ``i = 0..calls-1`` start at ``i * spacing``; return when each resumed,
    the FIFO inversions, and the start time."""
    acquire = make(kind, rate)
    served: list[tuple[float, int]] = []
    started = time.monotonic()

    async def caller(index: int) -> None:
        await anyio.sleep(index * spacing)
        await acquire()
        served.append((time.monotonic(), index))

    async with anyio.create_task_group() as tg:
        for index in range(calls):
            tg.start_soon(caller, index)
    # Callers start waiting in index order: the smallest one still waiting is owed the
    # next slot; serving any other is an inversion.
    inversions = 0
    lowest = 0
    done = [False] * calls
    for _, index in sorted(served):
        inversions += index != lowest
        done[index] = True
        while lowest < calls and done[lowest]:
            lowest += 1
    return [t for t, _ in served], inversions, started


async def window(kind: str) -> dict[str, object]:
    # All at once, at 20/s: the burst a bucket lets through shows in the first second.
    times, _, started = await _serve(kind, RATE, 0.0, BURST_CALLS)
    # Arrivals at twice the rate (100/s limit, a caller every 5 ms): a queue builds up
    # while newcomers keep arriving, which is when a limiter can serve out of order.
    _, inversions, _ = await _serve(kind, 100, 0.005, FIFO_CALLS)
    return {
        "max_in_1s": max_in_window(times, 1.0),
        "duration_s": max(times) - started,
        "inversions": inversions,
    }


async def on_trio(kind: str) -> dict[str, object]:
    try:
        with anyio.fail_after(5):
            await make(kind, RATE)()
    except Exception as exc:
        return {"trio": False, "error": f"{type(exc).__name__}: {exc}"[:120]}
    return {"trio": True, "error": ""}


TESTS = {"fast": fast, "waiters": waiters, "window": window, "trio": on_trio}

if __name__ == "__main__":
    kind, test = sys.argv[1], sys.argv[2]
    backend = "trio" if test == "trio" else "asyncio"
    print(json.dumps(anyio.run(TESTS[test], kind, backend=backend)))
