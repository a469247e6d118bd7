"""The core over real sockets (uvicorn on 127.0.0.1, a free port) against the simulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from zim_async import ConvOutcome, Status, ZimClient
from zim_async.testing import (
    DEFAULT_APP_ID,
    DEFAULT_SERVER_SECRET,
    FakeZimServer,
    FaultPlan,
    serve_fake,
)

from .plan import Key, seed_world

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def _key(o: ConvOutcome) -> Key:
    return (o.from_user_id, int(o.conv_type), o.conv_id)


def _client(url: str, **options: object) -> ZimClient:
    return ZimClient(
        DEFAULT_APP_ID,
        DEFAULT_SERVER_SECRET,
        base_url=url,
        allow_insecure_http=True,
        **options,  # type: ignore[arg-type]
    )


async def test_mixed_plan_report_matches_the_simulator_exactly() -> None:
    server = FakeZimServer(qps=None)
    world = seed_world(server)
    assert world.total == 2000
    before = {(u, t): server.muted(u, t) for (u, t, _) in world.truth}
    async with serve_fake(server) as url, _client(url, rate=None) as client:
        report = await client.apply(world.ops)

    assert report.total == 2000
    outcomes = [
        *report.succeeded,
        *report.unchanged,
        *report.failed,
        *report.unknown,
        *report.not_attempted,
    ]
    assert sorted(map(_key, outcomes)) == sorted(world.truth)  # each exactly once
    for outcome in outcomes:
        expected = world.truth[_key(outcome)]
        assert (outcome.status, outcome.code) == (expected.status, expected.code), outcome
    # The simulator's own state: exactly the succeeded ones were newly muted.
    newly = {(u, t, c) for (u, t), was in before.items() for c in server.muted(u, t) - was}
    assert newly == {_key(o) for o in report.succeeded}
    # Duplicates were sent once; unregistered users were short-circuited after one refusal.
    sent_ids = [
        (r.body["FromUserId"], r.body["ConvType"], c)
        for r in server.requests
        if isinstance(r.body, dict)
        for c in r.body["ConvIds"]
    ]
    assert len(sent_ids) == len(set(sent_ids))
    # Batches already in flight when the first refusal came back were sent; the rest not.
    refused = [r for r in server.requests if r.code == 660500002]
    unregistered_batches = 2 * 2 * 5  # 2 users x 2 types x 50 IDs in batches of 10
    assert 2 <= len(refused) < unregistered_batches
    assert report.requests == len(server.requests)
    assert report.retries == 0


async def test_paced_at_the_limit_never_over_it(
    anyio_backend: tuple[str, dict[str, object]], tmp_path: Path
) -> None:
    # 120 requests at the default 20/s with 50-150 ms latency: about six seconds of real
    # time. The client runs in its own process on the backend under test.
    server = FakeZimServer(qps=20, latency=0.05, jitter=0.1, seed=3)
    world = seed_world(server, users=6, per_type=100, seed=11)
    plan = tmp_path / "plan.jsonl"
    plan.write_text(
        "".join(
            json.dumps(
                {
                    "from_user_id": op.from_user_id,
                    "conv_type": int(op.conv_type),
                    "conv_ids": list(op.conv_ids),
                    "enable": op.enable,
                }
            )
            + "\n"
            for op in world.ops
        )
    )
    async with serve_fake(server) as url:
        done = await anyio.run_process(
            [
                sys.executable,
                str(Path(__file__).with_name("paced_client.py")),
                url,
                str(plan),
                anyio_backend[0],
            ],
            check=True,
        )
    report = json.loads(done.stdout)

    assert report["total"] == world.total
    assert report["rate_limited"] == 0
    assert 660300005 not in server.codes()
    assert server.max_in_window(1.0) <= 20
    arrivals = sorted(server.arrivals())
    assert len(arrivals) == report["requests"]
    # Accepted throughput after the first second, against the 20/s budget.
    start = arrivals[0] + 1.0
    later = [a for a in arrivals if a >= start]
    utilisation = (len(later) - 1) / (later[-1] - later[0]) / 20  # intervals over their span
    print(
        f"\nrequests={len(arrivals)} max_in_1s={server.max_in_window(1.0)}"
        f" utilisation={utilisation:.4f}"
    )
    assert utilisation >= 0.99


async def test_faults_every_conversation_decided_and_true_to_the_server() -> None:
    plan = FaultPlan(rate=0.2, late_delay=2.0)  # every fault kind, one request in five
    server = FakeZimServer(qps=None, faults=plan, seed=5)
    world = seed_world(server, users=10, per_type=50, seed=5)
    before = {(u, t): server.muted(u, t) for (u, t, _) in world.truth}
    async with (
        serve_fake(server) as url,
        _client(
            url, rate=None, timeout=0.5, backoff_base=0.01, backoff_cap=0.05, max_attempts=8
        ) as client,
    ):
        report = await client.apply(world.ops)

    outcomes = [
        *report.succeeded,
        *report.unchanged,
        *report.failed,
        *report.unknown,
        *report.not_attempted,
    ]
    assert sorted(map(_key, outcomes)) == sorted(world.truth)
    assert report.retries > 0
    muted_now = {(u, t, c) for (u, t) in before for c in server.muted(u, t)}
    for outcome in outcomes:
        key = _key(outcome)
        if outcome.status in (Status.SUCCEEDED, Status.UNCHANGED):
            assert key in muted_now, outcome
        if outcome.status is Status.FAILED:
            was_muted = key[2] in before.get(key[:2], set())
            assert key not in muted_now or was_muted, outcome
    # Every conversation the server muted during the run is reported as done.
    newly = {(u, t, c) for (u, t), was in before.items() for c in server.muted(u, t) - was}
    reported_done = {_key(o) for o in (*report.succeeded, *report.unchanged)}
    assert newly <= reported_done | {_key(o) for o in report.unknown}
    assert report.counts["not_attempted"] == 0
