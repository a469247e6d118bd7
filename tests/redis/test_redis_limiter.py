"""RedisLimiter against a real redis-server: the window, FIFO, cancellation, cooldown."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any

import anyio
import coredis
import pytest

from zim_async import InvalidRequestError, Limiter, LimitKey
from zim_async._redis_script import ClockMap
from zim_async.redis import RedisLimiter

from .conftest import RedisServer

KEY = LimitKey(1234567890, "SilenceConvNotification")


def max_in_window(times: Sequence[float], period: float) -> int:
    """The most starts in any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + period) - i for i, t in enumerate(ordered)), default=0
    )


def test_max_in_window_can_fail() -> None:
    assert max_in_window([0.0, 0.5, 0.99, 1.0], 1.0) == 3
    assert max_in_window([0.0, 0.1, 0.2], 0.15) == 2


@pytest.mark.anyio
async def test_window_holds_across_limiters(redis_server: RedisServer, prefix: str) -> None:
    # Three limiters stand in for three processes; 60 concurrent acquirers.
    rate, period = 40.0, 0.5  # 20 per half second: the same shape as 20/s, twice as fast
    starts: list[float] = []
    limiters = [
        RedisLimiter.from_url(redis_server.url, rate=rate, period=period, prefix=prefix)
        for _ in range(3)
    ]
    async with limiters[0], limiters[1], limiters[2]:
        assert all(isinstance(lim, Limiter) for lim in limiters)

        async def one(limiter: RedisLimiter) -> None:
            await limiter.acquire(KEY)
            starts.append(anyio.current_time())

        began = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for i in range(60):
                tg.start_soon(one, limiters[i % 3])
        took = anyio.current_time() - began
    n = int(rate * period)
    assert len(starts) == 60
    assert max_in_window(starts, period) <= n
    # Even pacing, no bursts: the 60 starts take ~59 intervals of (period + guard) / n.
    interval = (period + 0.02) / n
    assert took >= 59 * interval - 0.01
    assert took < 59 * interval + 0.5
    assert min(b - a for a, b in itertools.pairwise(sorted(starts))) > interval / 2


@pytest.mark.anyio
async def test_fifo_within_a_process(redis_server: RedisServer, prefix: str) -> None:
    order: list[int] = []
    async with RedisLimiter.from_url(redis_server.url, rate=50.0, prefix=prefix) as limiter:

        async def one(i: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
            task_status.started()
            await limiter.acquire(KEY)
            order.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(15):
                await tg.start(one, i)
    assert order == list(range(15))


@pytest.mark.anyio
async def test_slots_follow_reservation_order_across_limiters(
    redis_server: RedisServer, prefix: str
) -> None:
    # Two "processes" take turns reserving: the starts come out in reservation order.
    order: list[int] = []
    a = RedisLimiter.from_url(redis_server.url, rate=50.0, prefix=prefix)
    b = RedisLimiter.from_url(redis_server.url, rate=50.0, prefix=prefix)
    async with a, b, anyio.create_task_group() as tg:
        for i in range(10):

            async def one(i: int = i, *, task_status: anyio.abc.TaskStatus[None]) -> None:
                limiter = (a, b)[i % 2]
                async with anyio.create_task_group() as inner:
                    inner.start_soon(limiter.acquire, KEY)
                    # Started once its reservation is made (its lock is free again).
                    await anyio.sleep(0.005)
                    task_status.started()
                order.append(i)

            await tg.start(one)
    assert order == list(range(10))


@pytest.mark.anyio
async def test_cancelled_waiter_wastes_one_slot(redis_server: RedisServer, prefix: str) -> None:
    rate = 20.0
    interval = 1.02 / rate
    starts: dict[int, float] = {}
    async with RedisLimiter.from_url(redis_server.url, rate=rate, prefix=prefix) as limiter:
        scopes: dict[int, anyio.CancelScope] = {}

        async def one(i: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
            with anyio.CancelScope() as scope:
                scopes[i] = scope
                task_status.started()
                await limiter.acquire(KEY)
                starts[i] = anyio.current_time()

        async with anyio.create_task_group() as tg:
            for i in range(5):
                await tg.start(one, i)
            await anyio.sleep(0.02)  # all five have reserved; 0 has started
            scopes[2].cancel()
        # A caller cancelled before it reaches Redis takes no slot.
        with anyio.CancelScope() as scope:
            scope.cancel()
            await limiter.acquire(KEY)
        assert scope.cancelled_caught
        await limiter.acquire(KEY)
        starts[5] = anyio.current_time()
    assert sorted(starts) == [0, 1, 3, 4, 5]
    # 2's slot stays empty (wasted), the others keep theirs; 5 follows 4 directly.
    assert starts[3] - starts[1] == pytest.approx(2 * interval, abs=0.02)
    assert starts[4] - starts[3] == pytest.approx(interval, abs=0.02)
    assert starts[5] - starts[4] == pytest.approx(interval, abs=0.02)


@pytest.mark.anyio
async def test_cooldown_is_shared(redis_server: RedisServer, prefix: str) -> None:
    cooldown = 0.3
    options: dict[str, Any] = {"rate": 20.0, "cooldown": cooldown, "prefix": prefix}
    a = RedisLimiter.from_url(redis_server.url, **options)
    b = RedisLimiter.from_url(redis_server.url, **options)
    woken: list[float] = []
    async with a, b:
        await a.acquire(KEY)
        await b.acquire(KEY)
        async with anyio.create_task_group() as tg:

            async def sleeper() -> None:  # reserved before the cooldown, in process a
                await a.acquire(KEY)
                woken.append(anyio.current_time())

            tg.start_soon(sleeper)
            await anyio.sleep(0.005)
            closed = anyio.current_time()
            await a.report_rate_limited(KEY)
            await b.acquire(KEY)  # another process: waits out the cooldown
            waited = anyio.current_time() - closed
            await b.report_rate_limited(KEY)  # the same burst: ignored
    assert cooldown <= waited + 0.005
    assert waited <= cooldown * 1.25 + 0.1
    # The sleeper of a gave its pre-cooldown slot up and went after the gate.
    assert woken[0] - closed >= cooldown - 0.005


@pytest.mark.anyio
async def test_other_settings_on_one_key_are_refused(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisLimiter.from_url(redis_server.url, rate=20.0, prefix=prefix) as a,
        RedisLimiter.from_url(redis_server.url, rate=10.0, prefix=prefix) as b,
    ):
        await a.acquire(KEY)
        with pytest.raises(InvalidRequestError, match="same rate"):
            await b.acquire(KEY)
        await b.acquire(LimitKey(KEY.app_id, "OtherAction"))  # another key is free


@pytest.mark.anyio
async def test_keys_expire_and_use_one_hash_tag(redis_server: RedisServer, prefix: str) -> None:
    async with (
        RedisLimiter.from_url(redis_server.url, prefix=prefix) as limiter,
        coredis.Redis.from_url(redis_server.url) as raw,
    ):
        await limiter.acquire(KEY)
        keys = sorted(await raw.keys(f"{prefix}:*"))
        assert keys == [
            f"{prefix}:{{1234567890:SilenceConvNotification}}:{kind}".encode()
            for kind in ("log", "state")
        ]
        for key in keys:
            assert 0 < await raw.pttl(key) <= 70_000


def test_repr_hides_the_redis_password() -> None:
    limiter = RedisLimiter.from_url("redis://user:hunter2-fake@127.0.0.1:6379/0")
    assert "hunter2" not in repr(limiter)
    assert "127.0.0.1:6379" in repr(limiter)


def test_option_checks() -> None:
    with pytest.raises(ValueError, match="on_redis_error"):
        RedisLimiter.from_url("redis://127.0.0.1:6379/0", on_redis_error="ignore")
    with pytest.raises(ValueError, match="rate"):
        RedisLimiter.from_url("redis://127.0.0.1:6379/0", rate=0)
    with pytest.raises(ValueError, match="max_connections"):
        RedisLimiter.from_url("redis://127.0.0.1:6379/0", max_connections=0)


def test_clock_map_bounds_the_offset() -> None:
    clock = ClockMap()
    assert not clock.synced
    clock.add(1000.0, 10.0, 10.004)  # offset within [989.996, 990.0]
    clock.add(1002.001, 12.0, 12.002)  # offset within [989.999, 990.001] (+ drift)
    assert clock.error < 0.002
    assert clock.to_local(1005.0) == pytest.approx(15.0, abs=0.002)
    # A server clock that stepped by an hour: the old bounds are dropped.
    clock.add(4605.0, 15.0, 15.001)
    assert clock.to_local(4605.0) == pytest.approx(15.0005, abs=0.001)
