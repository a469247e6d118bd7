"""Redis stops mid-run and comes back: both ``on_redis_error`` policies, and recovery."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import anyio
import coredis
import pytest

from zim_async import LimitKey, ZimError
from zim_async.redis import RedisLimiter, RedisUnavailableError

from .conftest import RedisServer
from .test_redis_limiter import max_in_window

KEY = LimitKey(1234567890, "SilenceConvNotification")
SPAN = 1.02  # period + the default guard

# coredis (6.9) leaves the memory streams of each connection that failed to connect
# unclosed; the garbage collector reports them as ResourceWarnings. Collect them within
# the test that caused them, where this filter applies, instead of in some later test.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function MemoryObject:pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(autouse=True)
def _collect_leaked_streams() -> Iterator[None]:
    yield
    gc.collect()


class Run:
    """Acquires in a loop and notes each start or error, with the time (s since start)."""

    def __init__(self, limiter: RedisLimiter) -> None:
        self.limiter = limiter
        self.began = anyio.current_time()
        self.starts: list[tuple[float, bool]] = []  # (when, paced through Redis)
        self.errors: list[float] = []

    def now(self) -> float:
        return anyio.current_time() - self.began

    async def loop(self, until: float) -> None:
        while self.now() < until:
            try:
                await self.limiter.acquire(KEY)
            except RedisUnavailableError:
                self.errors.append(self.now())
                await anyio.sleep(0.05)
            else:
                self.starts.append((self.now(), self.limiter.using_redis))


async def outage(
    server: RedisServer, run: Run, *, down: float = 1.2, until: float = 3.0
) -> tuple[float, float, float]:
    """Stop the server 0.6 s into ``run`` and start it again ``down`` seconds later.

    Returns when the stop was asked for, when the server was certainly dead (the kill
    runs in a worker thread, which a loaded machine may start late) and when it was back.
    """
    async with anyio.create_task_group() as tg:
        tg.start_soon(run.loop, until)
        await anyio.sleep(0.6)
        stopping = run.now()
        await anyio.to_thread.run_sync(server.stop)
        stopped = run.now()
        await anyio.sleep(down)
        await anyio.to_thread.run_sync(server.start)
        restarted = run.now()
    return stopping, stopped, restarted


@pytest.mark.anyio
async def test_fail_policy_raises_then_recovers(own_redis: RedisServer, prefix: str) -> None:
    limiter = RedisLimiter.from_url(own_redis.url, prefix=prefix, on_redis_error="fail")
    async with limiter:
        run = Run(limiter)
        stopping, stopped, restarted = await outage(own_redis, run)
        # report_rate_limited never raises, even with Redis gone (it runs in cleanup code).
        await anyio.to_thread.run_sync(own_redis.stop)
        await limiter.report_rate_limited(KEY)
        with pytest.raises(RedisUnavailableError, match="unavailable") as caught:
            await limiter.acquire(KEY)
        assert isinstance(caught.value, ZimError)
        assert "no request was started" in str(caught.value)
    assert run.errors, "the outage was not noticed"
    assert all(stopping <= t <= restarted + 0.1 for t in run.errors)
    assert not any(stopped + 0.05 < t < restarted for t, _ in run.starts)
    after = [t for t, _ in run.starts if t > restarted]
    assert after, "no recovery after the restart"
    assert after[0] - restarted < 0.2  # "fail" has no hold: nothing was paced locally
    assert all(redis for _, redis in run.starts)


@pytest.mark.anyio
async def test_local_policy_paces_at_a_quarter_then_recovers(
    own_redis: RedisServer, prefix: str
) -> None:
    rate, retry = 20.0, 0.3
    limiter = RedisLimiter.from_url(
        own_redis.url, rate=rate, prefix=prefix, on_redis_error="local", retry_interval=retry
    )
    async with limiter:
        run = Run(limiter)
        stopped, _, restarted = await outage(own_redis, run, down=2.0, until=5.0)
        async with coredis.Redis.from_url(own_redis.url) as raw:
            # The starts after recovery were reserved in the new server.
            assert await raw.llen(f"{prefix}:{{{KEY.app_id}:{KEY.action}}}:log") > 0
        assert "mode='redis'" in repr(limiter)
    assert not run.errors
    starts = [t for t, _ in run.starts]
    local = [t for t, redis in run.starts if not redis]
    assert local, "no start was paced locally"
    # Local pacing waits one window after the last start paced through Redis ...
    last_redis = max(t for t, redis in run.starts if redis and t < stopped + 0.1)
    assert local[0] - last_redis >= SPAN - 0.005
    # ... then runs at rate / 4 = 5 per second, and ends when Redis is back.
    assert max_in_window(local, 1.0) <= int(rate / 4)
    assert len(local) >= int((restarted - stopped - SPAN) * rate / 4) - 1
    assert local[-1] <= restarted + retry + 0.1
    back = [t for t, redis in run.starts if redis and t > restarted]
    assert back, "never went back to Redis"
    # After the hold: every process had retry_interval to notice, then a window passed.
    assert back[0] - local[-1] >= SPAN - 0.005
    assert back[0] - restarted <= retry + retry + SPAN + 0.2
    assert len(back) >= 15  # full rate again
    assert max_in_window(starts, 1.0) <= int(rate)


@pytest.mark.anyio
async def test_local_policy_when_redis_is_down_from_the_start(prefix: str) -> None:
    server = RedisServer()  # never started: nothing listens on its port
    limiter = RedisLimiter.from_url(
        server.url, rate=40.0, prefix=prefix, on_redis_error="local", timeout=0.5
    )
    async with limiter:
        began = anyio.current_time()
        for _ in range(3):
            await limiter.acquire(KEY)
        took = anyio.current_time() - began
        assert not limiter.using_redis
        await limiter.report_rate_limited(KEY)  # closes the local gate instead
    assert took == pytest.approx(2 * SPAN / 10, abs=0.05)  # 40 / 4 = 10 per second
