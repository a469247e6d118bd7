"""`RedisLimiter`: one rate budget per (AppID, action) shared by every process, on Redis.

Needs the ``redis`` extra (``pip install 'zim-async[redis]'``), which brings coredis:
an anyio-native Redis client, so the limiter runs under asyncio and trio alike.

Each `acquire` is one ``EVALSHA`` of a Lua script that, on the Redis server's clock,
reserves the caller's start time: evenly spaced ``(period + guard) / (rate * period)``
apart, never sooner than ``period + guard`` after the ``N``-th last reservation, never
before a cooldown ends. The caller then sleeps until that moment, mapped onto its own
monotonic clock through the round trip (see `ClockMap`); a caller that wakes more than
``guard / 4`` late gives the slot up and reserves again, so starts really happen within
``guard / 4`` of their reserved times and no window ever holds more than ``N``.
"""

from __future__ import annotations

import logging
import math
import random
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
from anyio import Event, current_time
from anyio.lowlevel import checkpoint_if_cancelled

try:
    import coredis
    from coredis.exceptions import ConnectionError as _RedisConnectionError
    from coredis.exceptions import ReadOnlyError as _RedisReadOnlyError
    from coredis.retry import NoRetryPolicy
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "zim_async.redis needs the redis extra: pip install 'zim-async[redis]'"
    ) from exc

from ._errors import InvalidRequestError, ZimError
from ._limiter import LimitKey, LocalLimiter, check_pacing, check_rate, finite_option
from ._redis_script import ACQUIRE_SCRIPT, REPORT_SCRIPT, ClockMap

__all__ = ["RedisLimiter", "RedisUnavailableError"]

logger = logging.getLogger("zim_async.redis")

OnRedisError = Literal["fail", "local"]
# Redis is unreachable, stalled, loading after a restart, or a read-only replica after a
# failover: the budget cannot be consulted. Other errors (a script bug) propagate.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    _RedisConnectionError,
    _RedisReadOnlyError,
    TimeoutError,
    OSError,
)
_US = 1_000_000


class RedisUnavailableError(ZimError):
    """Redis could not be consulted and ``on_redis_error="fail"``: no request was started."""


def _where(url: str) -> str:
    """The URL without credentials, for messages and reprs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _items(reply: object) -> list[Any]:
    if not isinstance(reply, (list, tuple)):  # pragma: no cover - our scripts return arrays
        raise TypeError(f"unexpected reply from the limiter script: {type(reply).__name__}")
    return list(reply)


class _KeyState:
    __slots__ = ("gate_closed", "gate_until", "lock")

    def __init__(self) -> None:
        # Reservations of this process go out one at a time, in call order: FIFO.
        self.lock = anyio.Lock()
        self.gate_until = 0.0  # latest cooldown end seen, on the server clock (s)
        self.gate_closed = Event()  # replaced each time; set to wake the sleepers


class RedisLimiter:
    """A `Limiter` whose budget lives in Redis: never more than ``N = floor(rate * period)``
    starts in any window of ``period``, counted over every process using the same Redis.

    Use it as an async context manager, then pass it to clients::

        async with RedisLimiter.from_url("redis://127.0.0.1:6379/0") as limiter:
            async with ZimClient(app_id, secret, limiter=limiter) as client:
                ...

    The budget is keyed by ``(app_id, action)`` under ``prefix``; every user of a key
    must pace it with the same settings (`InvalidRequestError` otherwise). A cancelled
    waiter wastes its reserved slot (one ``1 / rate`` of capacity); one cancelled before
    it reached Redis takes none. A rate-limit answer closes the gate for all processes.

    When Redis cannot be reached, ``on_redis_error="fail"`` raises
    `RedisUnavailableError`; ``"local"`` paces this process with a `LocalLimiter` at
    ``fallback_rate`` (default ``rate / 4``: four processes then stay within the budget)
    and tries Redis again every ``retry_interval`` seconds, switching back when it answers.
    """

    def __init__(
        self,
        client: coredis.Redis[Any],
        *,
        rate: float = 20.0,
        period: float = 1.0,
        guard: float = 0.02,
        cooldown: float = 1.0,
        max_cooldown: float = 30.0,
        on_redis_error: OnRedisError = "fail",
        fallback_rate: float | None = None,
        retry_interval: float = 1.0,
        timeout: float = 1.0,
        prefix: str = "zim_async:limit",
        rng: random.Random | None = None,
    ) -> None:
        """Use an open coredis ``client`` (entered by you). See `from_url` for the options."""
        self._rate, self._period, self._guard, self._cooldown, self._max_cooldown = check_pacing(
            rate, period, guard, cooldown, max_cooldown
        )
        if on_redis_error not in ("fail", "local"):
            raise ValueError(f"on_redis_error={on_redis_error!r}: must be 'fail' or 'local'")
        self._policy: OnRedisError = on_redis_error
        fallback = self._rate / 4 if fallback_rate is None else check_rate(fallback_rate)
        self._retry_interval = finite_option(
            "retry_interval", retry_interval, retry_interval > 0, "> 0 seconds"
        )
        self._timeout = finite_option("timeout", timeout, timeout > 0, "> 0 seconds")
        if not isinstance(prefix, str) or not prefix:
            raise TypeError("prefix must be a non-empty str")
        self._prefix = prefix
        self._rng = random.Random() if rng is None else rng
        self._client = client
        self._where = "redis"
        self._stack: AsyncExitStack | None = None
        self._owned_client: coredis.Redis[Any] | None = None

        n = max(1, int(self._rate * self._period))
        span = self._period + self._guard
        self._n = n
        self._interval = span / (self._rate * self._period)
        # A quarter of the guard for late wake-ups; the rest absorbs the clock mapping and
        # the jitter between a start and its arrival at the server (CPU contention).
        self._late_ok = self._guard / 4
        self._cfg = f"{n}/{round(span * _US)}/{round(self._interval * _US)}"
        self._acquire_args = [n, round(span * _US), round(self._interval * _US)]
        # Keys outlive a reservation by two windows and the longest cooldown history.
        self._keep_us = round((2 * span + 2 * self._max_cooldown) * _US)
        self._max_n = 1
        while self._cooldown * 2.0 ** (self._max_n - 1) < self._max_cooldown:
            self._max_n += 1
        self._acquire_script = client.register_script(ACQUIRE_SCRIPT)
        self._report_script = client.register_script(REPORT_SCRIPT)
        self._local = LocalLimiter(
            fallback,
            period=self._period,
            guard=self._guard,
            cooldown=self._cooldown,
            max_cooldown=self._max_cooldown,
            rng=self._rng,
        )
        self._clock = ClockMap()
        self._keys: dict[LimitKey, _KeyState] = {}
        self._retry_at: float | None = None  # set while Redis is down ("local" policy)
        self._span = span
        self._last_target = -math.inf  # local time of the last start paced through Redis
        self._local_from = -math.inf  # local pacing waits until then (see _enter_fallback)
        #: Slots given up because the caller woke too late to use them safely.
        self.late_slots = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        rate: float = 20.0,
        max_connections: int = 4,
        timeout: float = 1.0,
        **options: Any,
    ) -> RedisLimiter:
        """A limiter with its own bounded connection pool to the Redis at ``url``.

        ``rate`` calls per ``period`` (1 s) per key; ``guard`` (20 ms) widens each window
        to absorb network jitter, late wake-ups and the clock mapping. ``cooldown`` /
        ``max_cooldown``: the gate after a rate-limit answer (doubling up to the cap).
        ``timeout`` bounds each Redis round trip; callers beyond ``max_connections``
        wait for a connection. ``on_redis_error``, ``fallback_rate``, ``retry_interval``:
        see the class. Enter the limiter (``async with``) before use.
        """
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError("max_connections must be an int")
        if max_connections < 1:
            raise ValueError(f"max_connections={max_connections!r}: must be >= 1")
        timeout = finite_option("timeout", timeout, timeout > 0, "> 0 seconds")
        client: coredis.Redis[Any] = coredis.Redis.from_url(
            url,
            max_connections=max_connections,
            pool_timeout=None,  # wait for a free connection rather than fail under load
            connect_timeout=timeout,
            stream_timeout=timeout,
            retry_policy=NoRetryPolicy(),  # our own fallback decides; a retry could double-book
        )
        limiter = cls(client, rate=rate, timeout=timeout, **options)
        limiter._owned_client = client
        limiter._where = _where(url)
        return limiter

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def using_redis(self) -> bool:
        """False while this process paces itself locally because Redis is down."""
        return self._retry_at is None

    def __repr__(self) -> str:
        mode = "redis" if self._retry_at is None else f"local at {self._local.rate!r}/s"
        return (
            f"RedisLimiter({self._where!r}, rate={self._rate!r}, period={self._period!r},"
            f" guard={self._guard!r}, on_redis_error={self._policy!r}, mode={mode!r})"
        )

    async def __aenter__(self) -> RedisLimiter:
        if self._owned_client is not None and self._stack is None:
            stack = AsyncExitStack()
            await stack.enter_async_context(self._owned_client)
            self._stack = stack
        try:  # calibrate the clock map; a Redis that is down now is handled on acquire
            for _ in range(3):
                t0 = current_time()
                with anyio.fail_after(self._timeout):
                    now = await self._client.time()
                self._clock.add(now.timestamp(), t0, current_time())
        except _UNAVAILABLE:
            pass
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    # -- the Limiter protocol ---------------------------------------------------------

    async def acquire(self, key: LimitKey) -> None:
        """Return at the start time reserved in Redis for a request under ``key``."""
        await checkpoint_if_cancelled()
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        while True:
            retry_at = self._retry_at
            if retry_at is not None and current_time() < retry_at:
                # Waiting locally ends at the next probe time, so that every process stops
                # its local starts soon after Redis is back (see the hold in _reserve).
                with anyio.move_on_at(retry_at):
                    if current_time() < self._local_from:
                        await anyio.sleep_until(self._local_from)
                    await self._local.acquire(key)  # a cancelled wait takes no slot
                    return
                continue
            async with state.lock:
                if self._fallback_active():
                    continue
                try:
                    slot, target = await self._reserve(key)
                except _UNAVAILABLE as exc:
                    self._redis_failed(exc)
                    continue
            if await self._sleep_until(state, slot, target):
                self._last_target = max(self._last_target, target)
                return

    async def report_rate_limited(self, key: LimitKey) -> None:
        """Close the key's gate in Redis for a cooldown, for every process.

        Shielded from cancellation (bounded by ``timeout``) so that it works in cleanup
        code; never raises for Redis trouble (the next `acquire` does, under "fail").
        """
        if self._fallback_active():
            await self._local.report_rate_limited(key)
            return
        args: list[int | str] = [
            round(self._cooldown * _US),
            round(self._max_cooldown * _US),
            repr(self._rng.uniform(1.0, 1.25)),  # jitter: processes must not reopen in step
            self._max_n,
            self._keep_us,
        ]
        with anyio.CancelScope(shield=True):
            try:
                t0 = current_time()
                with anyio.fail_after(self._timeout):
                    reply: object = await self._report_script(
                        keys=[self._state_key(key)], args=args
                    )
                t1 = current_time()
            except _UNAVAILABLE as exc:
                logger.warning("could not share a rate-limit answer through Redis: %r", exc)
                if self._policy == "local":
                    self._enter_fallback()
                    await self._local.report_rate_limited(key)
                return
        _, gate, now = (int(v) for v in _items(reply))
        self._clock.add(now / _US, t0, t1)
        state = self._keys.get(key)
        if state is not None and gate / _US > state.gate_until:
            state.gate_until = gate / _US
            woken, state.gate_closed = state.gate_closed, Event()
            woken.set()

    # -- internals --------------------------------------------------------------------

    def _state_key(self, key: LimitKey) -> str:
        # One hash tag, so that both keys live in one slot under Redis Cluster.
        return f"{self._prefix}:{{{key.app_id}:{key.action}}}:state"

    def _log_key(self, key: LimitKey) -> str:
        return f"{self._prefix}:{{{key.app_id}:{key.action}}}:log"

    def _fallback_active(self) -> bool:
        return self._retry_at is not None and current_time() < self._retry_at

    def _enter_fallback(self) -> None:
        if self._retry_at is None:
            # The starts paced through Redis in the last window are not in the local
            # limiter's log: let a whole window pass after the last of them first.
            self._local_from = self._last_target + self._span
            logger.warning(
                "Redis at %s is unavailable: pacing locally at %r calls/s until it is back",
                self._where,
                self._local.rate,
            )
        self._retry_at = current_time() + self._retry_interval

    def _redis_failed(self, exc: BaseException) -> None:
        if self._policy == "fail":
            raise RedisUnavailableError(
                f"Redis at {self._where} is unavailable ({type(exc).__name__}: {exc});"
                " no request was started. Pass on_redis_error='local' to pace locally instead"
            ) from exc
        self._enter_fallback()

    async def _reserve(self, key: LimitKey) -> tuple[float, float]:
        """One round trip: the reserved slot (server clock) and when that is here (local)."""
        lead = 0.0 if self._clock.srtt is None else min(1.5 * self._clock.srtt, 0.25)
        n, span, interval = self._acquire_args
        args: list[int | str] = [n, span, interval, round(lead * _US), self._keep_us, self._cfg]
        args.append(600 * _US)  # a reservation further ahead means the server clock went back
        # The first reservation after an outage holds the key until every process has
        # probed Redis again (each within retry_interval) and a window has passed since.
        recovering = self._retry_at is not None
        args.append(round((self._retry_interval + self._span) * _US) if recovering else 0)
        t0 = current_time()
        with anyio.fail_after(self._timeout):
            reply: object = await self._acquire_script(
                keys=[self._state_key(key), self._log_key(key)], args=args
            )
        t1 = current_time()
        values = _items(reply)
        if int(values[0]) == -1:
            theirs = values[2].decode() if isinstance(values[2], bytes) else str(values[2])
            raise InvalidRequestError(
                f"{key.action} of AppID {key.app_id} is already paced through Redis with other"
                f" settings ({theirs!r}, ours {self._cfg!r}: n/span µs/interval µs);"
                " every process sharing a budget must use the same rate, period and guard",
                field="rate",
                value=repr(self._rate),
            )
        if self._retry_at is not None:
            logger.warning("Redis at %s is back: pacing through it again", self._where)
            self._retry_at = None
        slot, now = int(values[0]) / _US, int(values[1]) / _US
        self._clock.add(now, t0, t1)
        return slot, self._clock.to_local(slot)

    async def _sleep_until(self, state: _KeyState, slot: float, target: float) -> bool:
        """Sleep until ``target``; False if the slot must be reserved again."""
        while current_time() < target:
            woken = state.gate_closed
            with anyio.move_on_at(target):
                await woken.wait()
                if state.gate_until > slot:  # a cooldown began after we reserved
                    return False
        if current_time() - target > self._late_ok:
            # Woke too late (a stalled loop): starting now could crowd the window of the
            # next reservations. The slot is wasted; take a new one.
            self.late_slots += 1
            return False
        return True
