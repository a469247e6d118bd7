"""Behaviour 7: short-circuits for a missing user or a full mute list, and codes that stop
the whole run with a partial report."""

from __future__ import annotations

import anyio
import httpx
import pytest

from tests.conftest import FakeApi, Reply, Sent, errors, ok, open_client, trio_only
from zim_async import ConvType, MuteOp, MuteReport, Status, ZimAuthError, ZimError


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.mark.anyio
async def test_unregistered_user_fails_the_rest_of_their_conversations_unsent() -> None:
    def handler(sent: Sent) -> Reply:
        return ok(Code=660500002, Message="user not registered") if sent.user == "ghost" else ok()

    api = FakeApi(handler)
    plan = [
        MuteOp("ghost", ConvType.PEER, ids("p", 30), True),
        MuteOp("alice", ConvType.PEER, ids("p", 12), True),
        MuteOp("ghost", ConvType.GROUP, ids("g", 15), False),
    ]
    async with open_client(api, max_in_flight=1) as client:
        report = await client.apply(plan)
    assert [s.user for s in api.sent].count("ghost") == 1
    assert report.total == 57
    ghost = [o for o in report.failed if o.from_user_id == "ghost"]
    assert len(ghost) == 45
    assert {o.code for o in ghost} == {660500002}
    assert report.counts["succeeded"] == 12
    assert report.requests == len(api.sent) == 1 + 2


@pytest.mark.anyio
async def test_unregistered_user_as_sub_code() -> None:
    def handler(sent: Sent) -> Reply:
        return ok(Code=660500002, ErrorList=errors(*((c, 660500002) for c in sent.ids)))

    api = FakeApi(handler)
    async with open_client(api, max_in_flight=1) as client:
        report = await client.mute_conversations("ghost", ConvType.PEER, ids("p", 25))
    assert len(api.sent) == 1
    assert report.counts["failed"] == 25


@pytest.mark.anyio
async def test_full_mute_list_fails_further_mutes_of_that_type_but_unmutes_go() -> None:
    def handler(sent: Sent) -> Reply:
        if sent.body["Enable"] and sent.body["ConvType"] == 0:
            # The list filled up part-way through this request.
            return ok(ErrorList=errors(*((c, 660800030) for c in sent.ids[5:])))
        return ok()

    api = FakeApi(handler)
    plan = [
        MuteOp("alice", ConvType.PEER, ids("p", 30), True),
        MuteOp("alice", ConvType.GROUP, ids("g", 12), True),
        MuteOp("alice", ConvType.PEER, ids("q", 12), False),
        MuteOp("bob", ConvType.PEER, ids("p", 3), True),
    ]
    async with open_client(api, max_in_flight=1) as client:
        report = await client.apply(plan)
    peer_mutes = [
        s for s in api.sent if s.user == "alice" and s.body["Enable"] and s.body["ConvType"] == 0
    ]
    assert len(peer_mutes) == 1
    assert report.total == 57
    full = [o for o in report.failed if o.code == 660800030]
    assert len(full) == 25
    assert {(o.from_user_id, o.conv_type, o.enable) for o in full} == {
        ("alice", ConvType.PEER, True)
    }
    assert report.counts["succeeded"] == 5 + 12 + 12 + 3
    assert sum(s.user == "alice" and s.body["ConvType"] == 2 for s in api.sent) == 2  # groups went
    assert sum(s.user == "alice" and not s.body["Enable"] for s in api.sent) == 2  # unmutes went
    assert sum(s.user == "bob" for s in api.sent) == 1


STOP_REPLIES: list[tuple[str, Reply]] = [
    *(
        (f"code-{c}", ok(Code=c))
        for c in (3, 100000001, 100000005, 100000010, 100000014, 100000017)
    ),
    ("http-404", httpx.Response(404)),
    ("http-403", httpx.Response(403)),
    ("sub-code-3", ok(Code=0, ErrorList=errors(("b00", 3)))),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "reply"), STOP_REPLIES, ids=[n for n, _ in STOP_REPLIES])
async def test_auth_and_config_failures_stop_the_run(name: str, reply: Reply) -> None:
    """The refused request's IDs fail with the code, the request in flight ends unknown,
    what was never sent is not attempted, and every input conversation is accounted for."""
    second_in_flight = anyio.Event()

    async def handler(sent: Sent) -> Reply:
        if sent.ids[0] == "b00":
            with anyio.fail_after(5):
                await second_in_flight.wait()
            return reply
        second_in_flight.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    api = FakeApi(handler)
    plan = [
        MuteOp("alice", ConvType.PEER, [f"b{n}{i}" for n in range(5) for i in range(10)], True),
        MuteOp("bob", ConvType.GROUP, ids("g", 25), True),
    ]
    with pytest.raises(ZimAuthError) as info:
        async with open_client(api, max_in_flight=2) as client:
            await client.apply(plan)
    assert len(api.sent) == 2
    report = info.value.report
    assert isinstance(report, MuteReport)
    assert report.total == 75
    code = 3 if name == "sub-code-3" else info.value.code
    assert code is not None
    if name.startswith("http"):
        assert info.value.code == int(name[-3:])
    refused = [o for o in report.failed if o.conv_id.startswith("b0")]
    assert len(refused) == (1 if name == "sub-code-3" else 10)
    assert {o.code for o in refused} == {code}
    assert {o.conv_id for o in report.unknown} == {f"b1{i}" for i in range(10)}
    assert report.counts["not_attempted"] == 75 - 10 - 10
    assert report.requests == 2
    assert not report.ok


@pytest.mark.anyio
async def test_stop_error_carries_a_message_and_no_exception_group() -> None:
    api = FakeApi(lambda sent: ok(Code=100000005))
    with pytest.raises(ZimAuthError) as info:
        async with open_client(api) as client:
            await client.mute_conversations("alice", 0, ["bob"])
    assert "100000005" in str(info.value)
    assert info.value.report is not None
    assert info.value.report.counts["failed"] == 1
    assert [o.status for o in info.value.report.failed] == [Status.FAILED]


@pytest.mark.anyio
async def test_single_call_raises_auth_errors_at_once() -> None:
    for reply in (ok(Code=3), httpx.Response(404)):
        api = FakeApi(lambda sent, reply=reply: reply)  # type: ignore[misc]
        async with open_client(api, max_attempts=5) as client:
            with pytest.raises(ZimAuthError):
                await client.silence_conv_notification("alice", 0, ["bob"], True)
        assert len(api.sent) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", [pytest.param(trio_only(), id="trio")])
async def test_a_refusal_that_arrives_while_a_batch_waits_for_its_slot_stops_it() -> None:
    # Virtual time (trio's MockClock): slots are 50 ms apart.
    async def handler(sent: Sent) -> Reply:
        await anyio.sleep(0.12)  # the refusal comes back after the third start (t=100 ms)
        return ok(Code=660500002, Message="user not registered")

    api = FakeApi(handler)
    plan = [MuteOp("ghost", ConvType.PEER, ids("p", 60), True)]  # six batches
    async with open_client(api, rate=20.0, max_in_flight=16) as client:
        report = await client.apply(plan)
    # Starts at 0, 50 and 100 ms went out; the others had passed the first check and were
    # waiting for their slots when the refusal came back, so they were not sent.
    assert len(api.sent) == 3
    assert report.counts["failed"] == 60
    assert {o.code for o in report.failed} == {660500002}


class _BrokenLimiter:
    """A limiter whose backend is down after ``ok`` grants."""

    def __init__(self, ok: int) -> None:
        self.ok = ok

    async def acquire(self, key: object) -> None:
        await anyio.lowlevel.checkpoint()
        if self.ok <= 0:
            raise ZimError("the limiter's backend is unavailable")
        self.ok -= 1

    async def report_rate_limited(self, key: object) -> None:
        return None


@pytest.mark.anyio
async def test_a_failing_limiter_stops_the_run_with_the_report() -> None:
    api = FakeApi()
    plan = [MuteOp("alice", ConvType.PEER, ids("p", 50), True)]
    async with open_client(api, max_in_flight=1, limiter=_BrokenLimiter(ok=2)) as client:
        with pytest.raises(ZimError, match="backend is unavailable") as caught:
            await client.apply(plan)
    report = caught.value.report
    assert report is not None
    assert report.total == 50
    assert report.counts["succeeded"] == 20
    assert report.counts["not_attempted"] == 30
    assert len(api.sent) == 2
