"""Fault injection (scripted and seeded), latency, and the request log."""

from __future__ import annotations

import contextlib
import json

import anyio
import httpx
import pytest

from zim_async.testing import FakeZimServer, FaultKind, FaultPlan, ManualClock, SimulatedDrop

from .fake_zim_helpers import CONVS, GROUPS, SILENCE, caller_for

pytestmark = pytest.mark.anyio

MUTE = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["bob"], "Enable": True}


def make_server(faults: FaultPlan | None = None, **options: object) -> FakeZimServer:
    server = FakeZimServer(faults=faults, **options)  # type: ignore[arg-type]
    server.register_users("alice", "bob")
    return server


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (FaultKind.HTTP_500, 500, None),
        (FaultKind.HTTP_502, 502, None),
        (FaultKind.MALFORMED_JSON, 200, None),
        (FaultKind.CODE_1, 200, 1),
        (FaultKind.CODE_660000001, 200, 660000001),
        (FaultKind.CODE_660300005, 200, 660300005),
    ],
)
async def test_pre_apply_faults_change_nothing(
    anyio_backend: str, kind: FaultKind, status: int, code: int | None
) -> None:
    server = make_server(FaultPlan(script=[kind]))
    async with caller_for(server) as caller:
        response = await caller.post(SILENCE, MUTE)
        assert response.status_code == status
        if code is None:
            with pytest.raises(json.JSONDecodeError):
                response.json()
        else:
            assert response.json()["Code"] == code
            assert "ErrorList" not in response.json()
        assert server.muted("alice", 0) == set()
        # The script is used up: the retry goes through.
        assert (await caller.call(SILENCE, MUTE))["Code"] == 0
    assert server.muted("alice", 0) == {"bob"}
    assert [(r.fault, r.status, r.code) for r in server.requests] == [
        (kind, status, code),
        (None, 200, 0),
    ]


async def test_late_applies_then_holds_the_answer(anyio_backend: str) -> None:
    server = make_server(FaultPlan(script=["late"], late_delay=30.0))
    async with caller_for(server) as caller:
        with anyio.move_on_after(0.2) as scope:
            await caller.post(SILENCE, MUTE)
        assert scope.cancelled_caught  # the client gave up
        assert server.muted("alice", 0) == {"bob"}  # ... yet the change was applied
        assert server.requests[0].fault is FaultKind.LATE
        assert server.requests[0].code == 0


async def test_late_answer_eventually_arrives(anyio_backend: str) -> None:
    server = make_server(FaultPlan(script=["late"], late_delay=0.1))
    async with caller_for(server) as caller:
        started = anyio.current_time()
        answer = await caller.call(SILENCE, MUTE)
        assert anyio.current_time() - started >= 0.1
    assert answer["Code"] == 0


async def test_drop_applies_then_breaks_the_answer(anyio_backend: str) -> None:
    server = make_server(FaultPlan(script=[FaultKind.DROP]))
    async with caller_for(server) as caller:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await caller.post(SILENCE, MUTE)
    assert isinstance(caught.value, SimulatedDrop)
    assert server.muted("alice", 0) == {"bob"}
    assert server.requests[0].fault is FaultKind.DROP


async def fault_sequence(plan: FaultPlan, seed: int, count: int = 40) -> list[FaultKind | None]:
    server = make_server(plan, seed=seed, qps=None)
    async with caller_for(server) as caller:
        for _ in range(count):
            with contextlib.suppress(SimulatedDrop):
                await caller.post(CONVS, {"FromUserId": "alice"})
    return [r.fault for r in sorted(server.requests, key=lambda r: r.index)]


async def test_seeded_faults_are_reproducible(anyio_backend: str) -> None:
    plan = FaultPlan(rate=0.5, kinds=("http_500", "code_1", "drop"), late_delay=0)
    first = await fault_sequence(plan, seed=7)
    assert first == await fault_sequence(plan, seed=7)
    assert first != await fault_sequence(plan, seed=8)
    assert 5 < sum(f is not None for f in first) < 35
    assert {f for f in first if f is not None} == {
        FaultKind.HTTP_500,
        FaultKind.CODE_1,
        FaultKind.DROP,
    }


async def test_rate_extremes_and_latency_do_not_shift_faults(anyio_backend: str) -> None:
    assert await fault_sequence(FaultPlan(rate=0.0), seed=1) == [None] * 40
    always = await fault_sequence(FaultPlan(rate=1.0, kinds=["code_1"]), seed=1)
    assert always == [FaultKind.CODE_1] * 40
    plan = FaultPlan(rate=0.3, kinds=["http_502"])
    plain = await fault_sequence(plan, seed=3, count=10)
    server = make_server(plan, seed=3, latency=0.001, jitter=0.002)
    async with caller_for(server) as caller:
        for _ in range(10):
            await caller.post(CONVS, {"FromUserId": "alice"})
    assert [r.fault for r in server.requests] == plain


async def test_script_then_rate_and_runtime_script(anyio_backend: str) -> None:
    plan = FaultPlan(rate=1.0, kinds=["code_660000001"], script=[None, "http_500"])
    server = make_server(plan)
    server.script_faults(None)  # appended after the plan's script
    async with caller_for(server) as caller:
        for _ in range(4):
            await caller.post(CONVS, {"FromUserId": "alice"})
    assert [r.fault for r in server.requests] == [
        None,
        FaultKind.HTTP_500,
        None,
        FaultKind.CODE_660000001,
    ]


async def test_faults_only_hit_chosen_actions_and_admitted_requests(anyio_backend: str) -> None:
    server = make_server(FaultPlan(script=["code_1"] * 3, actions=[SILENCE]))
    async with caller_for(server) as caller:
        assert (await caller.call(GROUPS, {"FromUserId": "alice", "Limit": 1}))["Code"] == 0
        assert (await caller.call(SILENCE, MUTE, secret="wrong"))["Code"] == 100000005
        assert (await caller.call(SILENCE, MUTE))["Code"] == 1
    assert [r.fault for r in server.requests] == [None, None, FaultKind.CODE_1]


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultPlan(rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        FaultPlan(kinds=())
    with pytest.raises(ValueError, match="not_a_fault"):
        FaultPlan(script=["not_a_fault"])
    assert FaultKind.LATE.applies_change
    assert not FaultKind.HTTP_500.applies_change


async def test_latency_and_jitter(anyio_backend: str) -> None:
    delays = []
    for _ in range(2):
        server = make_server(latency=0.02, jitter=0.03, seed=5)
        async with caller_for(server) as caller:
            started = anyio.current_time()
            for _ in range(5):
                await caller.post(CONVS, {"FromUserId": "alice"})
            elapsed = anyio.current_time() - started
        delays.append([r.delay for r in server.requests])
        assert elapsed >= sum(delays[-1]) - 0.005
    assert delays[0] == delays[1]  # same seed, same delays
    assert all(0.02 <= d <= 0.05 for d in delays[0])
    assert len(set(delays[0])) == 5


async def test_request_log(anyio_backend: str) -> None:
    clock = ManualClock(50.0)
    server = make_server(clock=clock)
    async with caller_for(server) as caller:
        await caller.call(SILENCE, MUTE)
        clock.advance(0.25)
        await caller.call(CONVS, content=b"not json")
        clock.advance(0.25)
        await caller.http.get("/")
    first, second, third = server.requests
    assert (first.index, first.arrival, first.method, first.path) == (0, 50.0, "POST", "/")
    assert first.action == SILENCE
    assert first.query["AppId"] == "1234567890"
    assert set(first.query) == {
        "Action",
        "AppId",
        "SignatureNonce",
        "Timestamp",
        "SignatureVersion",
        "Signature",
    }
    assert first.body == MUTE
    assert first.answer is not None
    assert first.answer["ErrorList"] == []
    assert (first.status, first.code, first.fault, first.delay) == (200, 0, None, 0.0)
    assert second.body == "not json"
    assert second.code == 660000002
    assert (third.status, third.action, third.code) == (405, None, None)
    assert server.arrivals() == [50.0, 50.25, 50.5]
    assert server.arrivals(SILENCE) == [50.0]
    assert server.codes() == [0, 660000002, None]
    server.clear_requests()
    assert server.requests == []
