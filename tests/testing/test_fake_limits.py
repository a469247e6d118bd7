"""The per-(AppId, Action) sliding one-second window, counted on arrival."""

from __future__ import annotations

import pytest

from zim_async.testing import FakeZimServer, ManualClock

from .fake_zim_helpers import CONVS, GROUPS, SILENCE, Caller, caller_for

pytestmark = pytest.mark.anyio

CONV_BODY = {"FromUserId": "alice"}


async def burst(caller: Caller, count: int, action: str = CONVS) -> list[int]:
    body: object = CONV_BODY if action == CONVS else {"FromUserId": "alice", "Limit": 1}
    return [(await caller.call(action, body))["Code"] for _ in range(count)]


async def test_twenty_per_second_then_660300005(caller: Caller, clock: ManualClock) -> None:
    assert await burst(caller, 20) == [0] * 20
    assert await burst(caller, 2) == [660300005] * 2
    clock.advance(0.999)
    assert await burst(caller, 1) == [660300005]
    clock.advance(0.001)  # the first twenty are now exactly one second old: out
    assert await burst(caller, 20) == [0] * 20
    assert await burst(caller, 1) == [660300005]


async def test_refused_requests_do_not_count(caller: Caller, clock: ManualClock) -> None:
    assert await burst(caller, 20) == [0] * 20
    clock.advance(0.5)
    assert await burst(caller, 30) == [660300005] * 30  # refused: not counted
    clock.advance(0.5)
    # Had the refused ones counted, the window (0.0, 1.0] would still be full.
    assert await burst(caller, 20) == [0] * 20


async def test_window_slides(caller: Caller, clock: ManualClock) -> None:
    assert await burst(caller, 10) == [0] * 10  # at t=0
    clock.advance(0.6)
    assert await burst(caller, 10) == [0] * 10  # at t=0.6
    assert await burst(caller, 1) == [660300005]
    clock.advance(0.4)  # t=1.0: the first ten left the window, the second ten remain
    assert await burst(caller, 11) == [0] * 10 + [660300005]


async def test_each_action_has_its_own_window(caller: Caller) -> None:
    assert await burst(caller, 21, CONVS) == [0] * 20 + [660300005]
    assert await burst(caller, 21, GROUPS) == [0] * 20 + [660300005]
    body = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["ghost"], "Enable": True}
    assert (await caller.call(SILENCE, body))["Code"] == 660700015  # not rate limited


async def test_each_app_has_its_own_window(anyio_backend: str) -> None:
    clock = ManualClock()
    server = FakeZimServer(apps={1: "s1", 2: "s2"}, qps=2, clock=clock)
    server.register_users("alice")
    async with caller_for(server) as caller:
        codes = [
            (await caller.call(CONVS, CONV_BODY, app_id=1, secret="s1"))["Code"] for _ in range(3)
        ]
        assert codes == [0, 0, 660300005]
        codes = [
            (await caller.call(CONVS, CONV_BODY, app_id=2, secret="s2"))["Code"] for _ in range(3)
        ]
        assert codes == [0, 0, 660300005]


async def test_gateway_rejections_do_not_count(caller: Caller) -> None:
    for _ in range(25):
        assert (await caller.call(CONVS, CONV_BODY, secret="wrong"))["Code"] == 100000005
    assert await burst(caller, 20) == [0] * 20


async def test_rate_limit_answer_has_no_error_list_and_changes_nothing(
    caller: Caller, server: FakeZimServer
) -> None:
    for _ in range(20):  # answered 660700015, but admitted: they count
        assert (await caller.silence("alice", 0, ["ghost"]))["Code"] == 660700015
    answer = await caller.silence("alice", 0, ["bob"])
    assert answer["Code"] == 660300005
    assert "ErrorList" not in answer
    assert server.muted("alice", 0) == set()


async def test_fractional_and_disabled_qps(anyio_backend: str) -> None:
    for qps, allowed in [(2.5, 2), (None, 100)]:
        server = FakeZimServer(qps=qps, clock=ManualClock())
        server.register_users("alice")
        async with caller_for(server) as caller:
            codes = await burst(caller, 100)
        assert codes.count(0) == allowed


async def test_max_in_window_matches_the_limit(
    caller: Caller, server: FakeZimServer, clock: ManualClock
) -> None:
    for _ in range(8):
        await burst(caller, 6)
        clock.advance(0.25)
    # 6 arrivals per quarter second: 24 in any second, of which at most 20 were admitted.
    assert server.max_in_window(1.0) == 24
    assert server.max_in_window(1.0, admitted_only=True) == 20
    assert server.max_in_window(0.25) == 6
    assert server.max_in_window(1.0, GROUPS) == 0
    codes = server.codes(CONVS)
    assert len(codes) == 48
    assert codes[:24] == [0] * 20 + [660300005] * 4


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="qps"):
        FakeZimServer(qps=0)
    with pytest.raises(ValueError, match="latency"):
        FakeZimServer(latency=-1)
