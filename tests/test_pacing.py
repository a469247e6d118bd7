"""Behaviour 3: the client's use of the limiter, in virtual time (trio `MockClock`)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from tests.conftest import APP_ID, SECRET, Backend, FakeApi, ok, open_client, scripted, trio_only
from zim_async import (
    ConvType,
    InvalidRequestError,
    LimitKey,
    LocalLimiter,
    MuteOp,
    UnlimitedLimiter,
    ZimClient,
    shared_limiter,
)

# Each test paces its own AppID: the shared limiters live as long as the process.
PACED_APP = 2_000_001


@pytest.fixture
def anyio_backend() -> Backend:
    return trio_only()


def max_starts_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of starts in any half-open window ``[t, t + window)``."""
    times = sorted(times)
    best = 0
    j = 0
    for i, start in enumerate(times):
        while times[j] <= start - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_window_helper() -> None:
    assert max_starts_in_window([0.0, 0.5, 0.99, 1.0, 1.2]) == 4
    assert max_starts_in_window([0.0, 0.5, 1.0, 1.5]) == 2
    assert max_starts_in_window([0.0] * 21) == 21


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired: list[LimitKey] = []
        self.reported: list[LimitKey] = []

    async def acquire(self, key: LimitKey) -> None:
        self.acquired.append(key)

    async def report_rate_limited(self, key: LimitKey) -> None:
        self.reported.append(key)


def ops(users: int, ids: int) -> list[MuteOp]:
    return [
        MuteOp(f"u{u}", ConvType.PEER, [f"c{i}" for i in range(ids)], True) for u in range(users)
    ]


@pytest.mark.anyio
async def test_rate_20_never_exceeds_20_starts_in_any_second() -> None:
    api = FakeApi()
    async with open_client(api, rate=20, max_in_flight=16) as client:
        client_limiter = client.limiter
        started = anyio.current_time()
        report = await client.apply(ops(15, 100))  # 150 requests
        elapsed = anyio.current_time() - started
    assert isinstance(client_limiter, LocalLimiter)
    assert report.counts["succeeded"] == 1500
    assert report.requests == 150
    times = [s.at for s in api.sent]
    assert max_starts_in_window(times) <= 20
    # Evenly paced, not a burst of 20 then a pause: the first second already holds <= 20,
    # and throughput stays close to the limit.
    assert sum(t < started + 1.0 for t in times) <= 20
    assert 149 / 20 <= elapsed <= 150 / 20 * 1.05


@pytest.mark.anyio
async def test_rate_none_does_no_pacing() -> None:
    api = FakeApi()
    async with open_client(api, rate=None, max_in_flight=16) as client:
        assert isinstance(client.limiter, UnlimitedLimiter)
        started = anyio.current_time()
        report = await client.apply(ops(15, 100))
    assert report.requests == 150
    assert anyio.current_time() - started == 0.0  # nothing slept, not even virtually


@pytest.mark.anyio
async def test_clients_of_one_app_share_one_limiter() -> None:
    app = PACED_APP + 1
    one = ZimClient(app, SECRET, rate=20)
    two = ZimClient(app, "another-secret", rate=20)
    other = ZimClient(app + 1, SECRET, rate=20)
    assert one.limiter is two.limiter is shared_limiter(app, 20)
    assert other.limiter is not one.limiter
    await one.aclose()
    await two.aclose()
    await other.aclose()


@pytest.mark.anyio
async def test_two_clients_of_one_app_stay_under_the_limit_together() -> None:
    app = PACED_APP + 3
    api = FakeApi()
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(api)) as http,
        ZimClient(app, SECRET, base_url="https://zim.test", http_client=http) as one,
        ZimClient(app, SECRET, base_url="https://zim.test", http_client=http) as two,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(one.apply, ops(5, 100))
        tg.start_soon(two.apply, ops(5, 100))
    assert len(api.sent) == 100
    assert max_starts_in_window([s.at for s in api.sent]) <= 20


@pytest.mark.anyio
async def test_a_different_rate_for_the_same_app_is_refused() -> None:
    app = PACED_APP + 5
    first = ZimClient(app, SECRET, rate=20)
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(app, SECRET, rate=10)
    assert info.value.field == "rate"
    assert "limiter=" in str(info.value)
    # Its own limiter is the way out; so is the same rate.
    own = ZimClient(app, SECRET, rate=10, limiter=LocalLimiter(10))
    assert own.limiter is not first.limiter
    assert ZimClient(app, SECRET, rate=20.0).limiter is first.limiter


@pytest.mark.anyio
@pytest.mark.parametrize("code", [7, 660300005])
async def test_rate_limit_answers_report_and_do_not_use_attempts(code: int) -> None:
    limiter = RecordingLimiter()
    api = FakeApi(scripted(*[ok(Code=code)] * 6, ok()))
    async with open_client(api, limiter=limiter, max_attempts=2) as client:
        report = await client.mute_conversations("alice", ConvType.GROUP, ["g1", "g2"])
    assert report.counts["succeeded"] == 2
    assert report.rate_limited == 6
    assert report.requests == 7
    assert report.retries == 6
    assert limiter.reported == [LimitKey(APP_ID, "SilenceConvNotification")] * 6
    assert len(limiter.acquired) == 7  # every send waited for the limiter


@pytest.mark.anyio
async def test_rate_limit_sub_code_retries_only_that_id() -> None:
    limiter = RecordingLimiter()
    api = FakeApi(scripted(ok(ErrorList=[{"ConvId": "g2", "SubCode": 660300005}]), ok()))
    async with open_client(api, limiter=limiter, max_attempts=1) as client:
        report = await client.mute_conversations("alice", ConvType.GROUP, ["g1", "g2"])
    assert report.counts["succeeded"] == 2
    assert [s.ids for s in api.sent] == [["g1", "g2"], ["g2"]]
    assert len(limiter.reported) == 1


@pytest.mark.anyio
async def test_single_call_rate_limit_does_not_use_attempts() -> None:
    limiter = RecordingLimiter()
    api = FakeApi(scripted(ok(Code=7), ok(Code=660300005), ok(Code=7), ok()))
    async with open_client(api, limiter=limiter, max_attempts=1) as client:
        answer = await client.silence_conv_notification("alice", 2, ["g1"], True)
    assert answer.ok
    assert len(api.sent) == 4
    assert len(limiter.reported) == 3


@pytest.mark.anyio
async def test_a_server_that_always_rate_limits_ends_the_run() -> None:
    """Rate-limit answers are free only up to a point; after that they use attempts."""
    api = FakeApi(lambda sent: ok(Code=7))
    async with open_client(api, limiter=RecordingLimiter(), max_attempts=3) as client:
        report = await client.mute_conversations("alice", ConvType.GROUP, ["g1"])
    (failed,) = report.failed
    assert failed.code == 7
    assert 3 < report.requests <= 50


@pytest.mark.anyio
async def test_a_rate_limit_answer_closes_the_shared_gate() -> None:
    """With the real limiter, after a rate-limit answer no request starts for about one
    window: the pause is shared, not each request retrying on its own."""
    app = PACED_APP + 7
    api = FakeApi(scripted(ok(Code=660300005), ok()))
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(api)) as http,
        ZimClient(app, SECRET, base_url="https://zim.test", http_client=http) as client,
    ):
        report = await client.apply(ops(1, 30))
    assert report.counts["succeeded"] == 30
    times = [s.at for s in api.sent]
    gap = times[1] - times[0]
    assert gap >= 1.0  # the cooldown, much longer than the 50 ms pacing interval
    assert max_starts_in_window(times) <= 20
