"""Faults: thousands of conversations, 20 % of requests faulted with every fault kind.

Promise under test: every conversation ends in exactly one outcome, and the report tells
the truth about the server's state (see `world.judge`). In process (ASGITransport) on
both backends, and over real sockets.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from zim_async import LocalLimiter, ZimClient
from zim_async.testing import FaultKind, FaultPlan, serve_fake

from .conftest import SecretWatch
from .figures import SOAK, Figures, scale
from .world import MARKER_APP_ID, MARKER_SECRET, exhausted, judge, new_server, seed_world

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

FAULT_RATE = 0.2
# 0.2 ** 10: a batch exhausts its attempts about once in ten million; when it does, its
# IDs may be unknown (the report must not guess), and `judge` allows exactly those.
MAX_ATTEMPTS = 10
SEEDS = list(range(scale(2, 5)))
IN_PROCESS = scale(3_000, 10_000)
OVER_SOCKETS = scale(1_000, 10_000)


def _plan(late_delay: float) -> FaultPlan:
    return FaultPlan(rate=FAULT_RATE, kinds=tuple(FaultKind), late_delay=late_delay)


def _faults_seen(server: Any) -> dict[str, int]:
    seen = {kind.value: 0 for kind in FaultKind}
    for record in server.requests:
        if record.fault is not None:
            seen[record.fault.value] += 1
    return seen


async def _run(
    conversations: int,
    seed: int,
    backend: str,
    watch: SecretWatch,
    figures: Figures,
    *,
    over_sockets: bool,
) -> None:
    virtual = backend == "trio" and not over_sockets
    # On trio's virtual clock the real defaults cost nothing: 10 s timeout, 30 s late
    # answers, 20/s pacing against a 20/s server. On a real clock, everything shrinks.
    server = new_server(
        qps=20 if virtual else None,
        faults=_plan(30.0 if virtual else 0.5),
        seed=seed,
        clock=anyio.current_time if not over_sockets else __import__("time").monotonic,
    )
    world = seed_world(server, conversations, seed)
    if virtual:
        limiter = LocalLimiter(20)
        timing: dict[str, Any] = {"timeout": 10.0}
    else:
        limiter = LocalLimiter(5_000, cooldown=0.01, max_cooldown=0.05)
        timing = {"timeout": 0.2, "backoff_base": 0.001, "backoff_cap": 0.01}
    options: dict[str, Any] = {
        "limiter": limiter,
        "max_attempts": MAX_ATTEMPTS,
        "seed": seed,
        **timing,
    }
    if over_sockets:
        async with (
            serve_fake(server) as url,
            ZimClient(
                MARKER_APP_ID, MARKER_SECRET, base_url=url, allow_insecure_http=True, **options
            ) as client,
        ):
            report = await client.apply(world.ops)
            watch.see(client, limiter)
    else:
        transport = httpx.ASGITransport(app=server)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            ZimClient(
                MARKER_APP_ID,
                MARKER_SECRET,
                base_url="https://zim.test",
                http_client=http,
                **options,
            ) as client,
        ):
            report = await client.apply(world.ops)
            watch.see(client, limiter)
    watch.see(report, report.to_dict(), *report.failed, *report.unknown)
    gave_up = exhausted(report)
    verdict = judge(world, server, report, allow_unknown=gave_up)
    seen = _faults_seen(server)
    where = "real sockets" if over_sockets else f"in process, {backend}"
    figures.add(
        "faults",
        f"20 % faulted requests, every fault kind ({where})",
        tried=world.total,
        unit="conversations",
        lost=verdict.lost,
    )
    assert verdict.problems == [], verdict.problems
    assert verdict.lost == 0
    # The campaign did what it says: every fault kind fired, at about the asked rate,
    # and the server really changed conversations.
    assert all(seen.values()), seen
    faulted = sum(seen.values())
    eligible = sum(1 for r in server.requests if r.code != 660300005 or r.fault is not None)
    assert 0.1 < faulted / eligible < 0.3, (faulted, eligible)
    assert verdict.newly_changed > world.total // 2
    assert report.retries > 0
    assert not gave_up  # with 10 attempts, exhaustion is a 1-in-10^7 event per batch


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_conversation_accounted_once_in_process(
    seed: int, anyio_backend_name: str, secret_watch: SecretWatch, figures: Figures
) -> None:
    # asyncio runs on the real clock: a third of the size in CI, the full size in a soak.
    size = IN_PROCESS if anyio_backend_name == "trio" or SOAK else IN_PROCESS // 3
    await _run(size, seed, anyio_backend_name, secret_watch, figures, over_sockets=False)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_every_conversation_accounted_once_over_sockets(
    anyio_backend_name: str, secret_watch: SecretWatch, figures: Figures
) -> None:
    await _run(OVER_SOCKETS, 99, anyio_backend_name, secret_watch, figures, over_sockets=True)
