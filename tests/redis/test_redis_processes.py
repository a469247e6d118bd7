"""Four OS processes share one 20/s budget through Redis against one simulator."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anyio
import pytest

from zim_async.testing import FakeZimServer, RequestRecord, serve_fake

from .conftest import RedisServer
from .test_redis_limiter import max_in_window

WORKER = Path(__file__).with_name("mute_worker.py")
PROCESSES = 4
PEERS = 500  # 50 requests of 10 per process: 200 in all, about 10 s at 20/s
RATE_LIMITED = 660300005


def crowded(records: list[RequestRecord]) -> str:
    """The arrivals of the most crowded 1-second window, for a failure message."""
    ordered = sorted(records, key=lambda r: r.arrival)
    best = max(
        range(len(ordered)),
        key=lambda i: sum(
            ordered[i].arrival <= r.arrival < ordered[i].arrival + 1 for r in ordered
        ),
    )
    first = ordered[best].arrival
    window = [r for r in ordered if first - 0.1 <= r.arrival < first + 1.1]
    return "\n".join(
        f"{r.arrival - first:+.4f} {r.body['FromUserId'] if isinstance(r.body, dict) else '?'}"
        f" {r.code}"
        for r in window
    )


@pytest.mark.e2e
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_four_processes_share_one_budget(redis_server: RedisServer, prefix: str) -> None:
    server = FakeZimServer(qps=20, peer_mute_limit=PEERS)
    users = [f"w{i}" for i in range(PROCESSES)]
    server.register_users(*users, *(f"p{i}" for i in range(PEERS)))
    outputs: dict[str, str] = {}
    start_at = time.time() + 4.0  # after every worker has started up
    async with serve_fake(server) as url:

        async def worker(i: int) -> None:
            backend = ("asyncio", "trio")[i % 2]  # both backends share the budget
            args = [redis_server.url, url, users[i], str(PEERS), prefix, backend, str(start_at)]
            result = await anyio.run_process([sys.executable, str(WORKER), *args], check=False)
            assert result.returncode == 0, result.stderr.decode()
            outputs[users[i]] = result.stdout.decode()

        async with anyio.create_task_group() as tg:
            for i in range(PROCESSES):
                tg.start_soon(worker, i)

    records = [r for r in server.requests if r.action == "SilenceConvNotification"]
    arrivals = sorted(r.arrival for r in records)
    rate_limited = sum(r.code == RATE_LIMITED for r in records)
    busiest = max_in_window(arrivals, 1.0)
    span = arrivals[-1] - arrivals[0]
    aggregate = (len(arrivals) - 1) / span
    late = sum(json.loads(out)["late_slots"] for out in outputs.values())
    print(
        f"\nmulti-process: {len(arrivals)} requests from {PROCESSES} processes in {span:.2f} s;"
        f" busiest 1-s window {busiest}; 660300005 answers {rate_limited};"
        f" aggregate {aggregate:.2f}/s ({aggregate / 20:.1%} of 20/s); late slots {late}"
    )
    assert busiest <= 20, crowded(records)
    assert rate_limited == 0
    assert {r.code for r in records} == {0}, "only successes were expected"
    assert len(arrivals) == PROCESSES * PEERS // 10
    assert all(server.muted(user, 0) == {f"p{i}" for i in range(PEERS)} for user in users)
    assert aggregate >= 0.95 * 20
