"""Cancellation: `apply` and `stream` cancelled at random moments, on both backends.

After each cancellation: no task left behind, no HTTP connection left busy, the limiter
still gives its full rate, and no conversation lost: the stream's report counts the
whole plan, requests the server never answered are reported unknown, and nothing is
reported done that the server did not do.
"""

from __future__ import annotations

import random
from collections.abc import MutableMapping
from typing import Any

import anyio
import httpx
import pytest

from zim_async import LimitKey, LocalLimiter, Status, ZimClient
from zim_async.testing import FakeZimServer, FaultKind, FaultPlan, serve_fake

from .conftest import SecretWatch
from .figures import Figures, scale
from .world import (
    MARKER_APP_ID,
    MARKER_SECRET,
    PERMANENT_CLASSES,
    Key,
    World,
    key,
    new_server,
    outcomes,
    seed_world,
)

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

POINTS = scale(30, 100)
SOCKET_EVERY = 5  # every 5th point runs over real sockets, to watch the connection pool
PLAN = 300
KINDS = [k for k in FaultKind if k is not FaultKind.LATE]  # see _Tracker
Scope = MutableMapping[str, Any]


class _Tracker:
    """ASGI wrapper: which requests never got their answer out.

    Without the ``late`` fault the only thing that cuts an answer short is the client
    going away, so after a cancelled run the open requests are exactly those in flight.
    """

    def __init__(self, app: FakeZimServer) -> None:
        self.app = app
        self.open: dict[int, list[Key]] = {}
        self.arrived: set[Key] = set()
        self._count = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        import json

        data = json.loads(body)
        ids = [(data["FromUserId"], data["ConvType"], c, data["Enable"]) for c in data["ConvIds"]]
        self.arrived.update(ids)
        index = self._count
        self._count += 1
        self.open[index] = ids
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, send)
        except anyio.get_cancelled_exc_class():
            raise  # cut short by the client: stays open
        except Exception:
            del self.open[index]  # a simulated drop: the client saw an error and retries
            raise
        del self.open[index]

    def in_flight(self) -> set[Key]:
        return {k for ids in self.open.values() for k in ids}


def _check_truth(world: World, server: FakeZimServer, status_of: dict[Key, Status]) -> list[str]:
    problems = []
    for k, status in status_of.items():
        pair = (k[0], k[1])
        was, now = k[2] in world.before[pair], k[2] in server.muted(*pair)
        if status in (Status.SUCCEEDED, Status.UNCHANGED) and now != k[3]:
            problems.append(f"{k}: {status.value} but muted={now}")
        if status in (Status.FAILED, Status.NOT_ATTEMPTED) and was != now:
            problems.append(f"{k}: {status.value} but the server changed it")
    return problems


async def _limiter_rate(limiter: LocalLimiter, rate: float, period: float) -> float:
    """Starts per second the limiter gives now, over two windows' worth of acquires."""
    await anyio.sleep(period * 1.2)  # let the last window pass
    key = LimitKey(MARKER_APP_ID, "SilenceConvNotification")
    count = int(2 * rate * period)
    await limiter.acquire(key)
    started = anyio.current_time()
    for _ in range(count):
        await limiter.acquire(key)
    return count / (anyio.current_time() - started)


async def _one(
    point: int, api: str, watch: SecretWatch, *, virtual: bool, sockets: bool
) -> dict[str, int]:
    rng = random.Random(point * 7919 + (api == "stream"))
    real_clock = not virtual
    server = new_server(
        qps=None,
        latency=0.02 if real_clock else 0.2,
        jitter=0.03 if real_clock else 0.3,
        faults=FaultPlan(rate=0.15, kinds=KINDS),
        seed=point,
        clock=anyio.current_time if not sockets else __import__("time").monotonic,
    )
    world = seed_world(server, PLAN, point)
    tracker = _Tracker(server)
    rate = 400.0 if real_clock else 20.0
    # On a real clock a 0.05 s window keeps the after-check short; the virtual clock
    # affords the real one.
    period = 0.05 if real_clock else 1.0
    limiter = LocalLimiter(rate, period=period, cooldown=period, max_cooldown=30 * period)
    expected_s = 1.2 * world.total / 10 / rate + 0.1
    cancel_after = rng.uniform(0.0, expected_s)
    tasks_before = len(anyio.get_running_tasks())
    options: dict[str, Any] = {
        "limiter": limiter,
        "timeout": 2.0 if real_clock else 10.0,
        "max_attempts": 10,
        "seed": point,
        "backoff_base": 0.01 if real_clock else 0.5,
    }
    ticks: list[tuple[int, int | None, int]] = []
    status_of: dict[Key, Status] = {}
    in_flight: set[Key] = set()
    finished = False
    pool: Any = None
    async with serve_fake(tracker) if sockets else _nothing() as url:  # type: ignore[arg-type]
        http = httpx.AsyncClient(
            transport=None if sockets else httpx.ASGITransport(app=tracker),
            timeout=options["timeout"],
        )
        async with (
            http,
            ZimClient(
                MARKER_APP_ID,
                MARKER_SECRET,
                base_url=url or "https://zim.test",
                http_client=http,
                allow_insecure_http=True,
                **options,
            ) as client,
        ):
            if api == "apply":
                with anyio.move_on_after(cancel_after):
                    await client.apply(world.ops, progress=lambda *t: ticks.append(t))
                    finished = True
            else:
                async with client.stream(world.ops) as stream:
                    with anyio.move_on_after(cancel_after):
                        async for _ in stream:
                            pass
                        finished = True
                report_now = stream.report
            if sockets:
                pool = http._transport._pool  # type: ignore[attr-defined]
        # The client has closed: everything it started has ended.
        in_flight = tracker.in_flight()
        if sockets:
            assert pool is not None
            busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
            assert busy == [] and pool._requests == []  # noqa: PT018
        if api == "stream":
            report = stream.report
            watch.see(stream, report, report.to_dict())
            assert report.total == world.total, (report_now, report)
            assert report_now.total == world.total, "stream.report right after aclose"
            for o in outcomes(report):
                status_of[key(o)] = o.status
            unknown = {key(o) for o in report.unknown}
            assert in_flight <= unknown, sorted(in_flight - unknown)[:5]
            failed = [o for o in report.failed if o.code is None]
            assert failed == []
            for o in report.failed:
                from zim_async._codes import classify_code

                assert classify_code(o.code or 0) in PERMANENT_CLASSES, o
            assert report.counts["succeeded"] + report.counts["unchanged"] == report.total - len(
                report.failed
            ) - len(report.unknown) - len(report.not_attempted)
            problems = _check_truth(world, server, status_of)
            assert problems == []
        else:
            assert ticks, "progress is called at the end, even after a cancellation"
            decided, total, _ = ticks[-1]
            assert (decided, total) == (world.total, world.total)
    assert len(anyio.get_running_tasks()) == tasks_before
    measured = await _limiter_rate(limiter, rate, period)
    full = rate * period / (period + limiter_guard(limiter))  # the limiter's own ceiling
    assert measured >= full * (0.99 if virtual else 0.8), (measured, full)
    assert "waiting=0" in repr(limiter)
    return {
        "finished": int(finished),
        "in_flight": len(in_flight),
        "sockets": int(sockets),
    }


def limiter_guard(limiter: LocalLimiter) -> float:
    guard: float = limiter._guard
    return guard


class _nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("api", ["apply", "stream"])
async def test_cancel_at_random_points(
    api: str, anyio_backend_name: str, secret_watch: SecretWatch, figures: Figures
) -> None:
    """In process: trio on a virtual clock (deterministic), asyncio on the real one."""
    virtual = anyio_backend_name == "trio"
    results = [
        await _one(point, api, secret_watch, virtual=virtual, sockets=False)
        for point in range(POINTS)
    ]
    _tally(
        results,
        f"`{api}` cancelled at a random moment (in process, {anyio_backend_name})",
        api,
        figures,
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])  # real clocks: real sockets
@pytest.mark.parametrize("api", ["apply", "stream"])
async def test_cancel_over_sockets(
    api: str, anyio_backend_name: str, secret_watch: SecretWatch, figures: Figures
) -> None:
    """Over sockets: the connection pool is left with nothing busy."""
    points = max(3, POINTS // SOCKET_EVERY)
    results = [
        await _one(point, api, secret_watch, virtual=False, sockets=True) for point in range(points)
    ]
    _tally(
        results,
        f"`{api}` cancelled at a random moment (real sockets, {anyio_backend_name})",
        api,
        figures,
    )


def _tally(results: list[dict[str, int]], scenario: str, api: str, figures: Figures) -> None:
    cut = sum(1 - r["finished"] for r in results)
    figures.add("cancellation", scenario, tried=len(results), unit="cancellations", lost=0)
    # The points really cut runs short, often with requests in flight.
    assert cut >= len(results) // 2
    if api == "stream":
        assert sum(r["in_flight"] > 0 for r in results) >= len(results) // 5
