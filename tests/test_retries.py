"""Behaviour 6: retries, backoff, unreadable answers, splitting, re-signing."""

from __future__ import annotations

import itertools
import random

import anyio
import httpx
import pytest

from tests.conftest import Backend, FakeApi, Reply, Sent, errors, ok, open_client, scripted
from zim_async import (
    ConvType,
    MuteOp,
    MuteReport,
    Status,
    ZimAuthError,
    ZimProtocolError,
    ZimTransportError,
)

IDS = [f"c{i}" for i in range(6)]


def raising(exc: Exception) -> Reply:
    raise exc


async def mute(api: FakeApi, ids: list[str] = IDS, **options: object) -> MuteReport:
    options.setdefault("max_attempts", 3)
    async with open_client(api, **options) as client:
        report = await client.mute_conversations("alice", ConvType.PEER, ids)
    assert report.total == len(ids)
    return report


TRANSIENT_FAILURES: list[tuple[str, Reply | Exception]] = [
    ("connect", httpx.ConnectError("refused")),
    ("read-timeout", httpx.ReadTimeout("slow")),
    ("remote-closed", httpx.RemoteProtocolError("closed")),
    ("http-500", httpx.Response(500)),
    ("http-502", httpx.Response(502)),
    ("http-503", httpx.Response(503, text="<html>busy</html>")),
    ("http-429", httpx.Response(429)),
    ("http-408", httpx.Response(408)),
    ("code-1", ok(Code=1)),
    ("code-660000001", ok(Code=660000001)),
    ("code-660000003", ok(Code=660000003)),
    ("code-100000015", ok(Code=100000015)),
    ("code-7", ok(Code=7)),
    ("code-660300005", ok(Code=660300005)),
]


def handler_failing_then_ok(failure: Reply | Exception, times: int) -> FakeApi:
    def handler(sent: Sent) -> Reply:
        if len(api.sent) <= times:
            return raising(failure) if isinstance(failure, Exception) else failure
        return ok()

    api = FakeApi(handler)
    return api


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "failure"), TRANSIENT_FAILURES, ids=[n for n, _ in TRANSIENT_FAILURES]
)
async def test_transient_failures_are_retried(name: str, failure: Reply | Exception) -> None:
    api = handler_failing_then_ok(failure, 2)
    report = await mute(api)
    assert report.ok
    assert report.counts["succeeded"] == len(IDS)
    assert len(api.sent) == 3
    assert report.requests == 3
    assert report.retries == 2
    assert all(s.ids == IDS for s in api.sent)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (httpx.ConnectError("refused"), Status.FAILED, None),  # never reached the server
        (httpx.ReadTimeout("slow"), Status.UNKNOWN, None),  # may have been applied
        (httpx.Response(500), Status.UNKNOWN, 500),
        (httpx.Response(503), Status.UNKNOWN, 503),
        (httpx.Response(429), Status.FAILED, 429),
        (ok(Code=1), Status.FAILED, 1),
        (ok(Code=660000001), Status.FAILED, 660000001),
        (b"<html>502 Bad Gateway</html>", Status.UNKNOWN, None),
    ],
)
async def test_exhausted_retries(
    failure: Reply | Exception | bytes, status: Status, code: int | None
) -> None:
    def handler(sent: Sent) -> Reply:
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, bytes):
            return httpx.Response(200, content=failure, headers={"Content-Type": "text/html"})
        return failure

    api = FakeApi(handler)
    report = await mute(api, max_attempts=4)
    assert len(api.sent) == 4
    assert report.retries == 3
    assert report.counts[status.value] == len(IDS)
    outcomes = report.failed if status is Status.FAILED else report.unknown
    assert {o.code for o in outcomes} == {code}
    assert all("4 attempts" in o.message for o in outcomes)


@pytest.mark.anyio
async def test_one_maybe_applied_attempt_makes_the_give_up_unknown() -> None:
    api = FakeApi(scripted(httpx.Response(502), ok(Code=1), ok(Code=1)))
    report = await mute(api, max_attempts=3)
    assert report.counts["unknown"] == len(IDS)
    assert {o.code for o in report.unknown} == {1}


UNREADABLE: list[httpx.Response] = [
    httpx.Response(200, content=b"not json"),
    httpx.Response(
        200, content=b"<html><body>gateway</body></html>", headers={"Content-Type": "text/html"}
    ),
    httpx.Response(200, content=b"\xff\xfe\x00garbage"),
    httpx.Response(200, json=[1, 2, 3]),
    httpx.Response(200, json={"Message": "no code"}),
    httpx.Response(200, json={"Code": "0"}),
    httpx.Response(200, json={"Code": True}),
    httpx.Response(200, json={"Code": None}),
    httpx.Response(200, json={"Code": 0.5}),
    httpx.Response(200, json={"Code": 0, "ErrorList": "c1"}),
    httpx.Response(200, json={"Code": 0, "ErrorList": [["c1", 1]]}),
    httpx.Response(200, json={"Code": 0, "ErrorList": [{"ConvId": 5, "SubCode": 1}]}),
    httpx.Response(200, json={"Code": 0, "ErrorList": [{"ConvId": "c1", "SubCode": "x"}]}),
    httpx.Response(200, json={"Code": 0, "ErrorList": [{"ConvId": "c1"}]}),
    httpx.Response(200, content=b""),
]


@pytest.mark.anyio
@pytest.mark.parametrize("answer", UNREADABLE, ids=[str(i) for i in range(len(UNREADABLE))])
async def test_unreadable_answers_are_retried_then_unknown(answer: httpx.Response) -> None:
    api = FakeApi(lambda sent: answer)
    report = await mute(api, max_attempts=3)
    assert len(api.sent) == 3
    assert report.counts["unknown"] == len(IDS)
    recovering = FakeApi(scripted(answer, ok()))
    assert (await mute(recovering)).ok


@pytest.mark.anyio
async def test_unreadable_answers_in_a_single_call_raise_protocol_error() -> None:
    api = FakeApi(lambda sent: httpx.Response(200, content=b"<html>"))
    async with open_client(api, max_attempts=2) as client:
        with pytest.raises(ZimProtocolError):
            await client.silence_conv_notification("alice", 0, ["c1"], True)
    assert len(api.sent) == 2


@pytest.mark.anyio
async def test_single_call_retries_transport_errors_then_raises() -> None:
    api = FakeApi(lambda sent: raising(httpx.ConnectError("refused")))
    async with open_client(api, max_attempts=3) as client:
        with pytest.raises(ZimTransportError):
            await client.silence_conv_notification("alice", 0, ["c1"], True)
    assert len(api.sent) == 3
    api = FakeApi(scripted(httpx.Response(503), ok(Code=1), ok()))
    async with open_client(api, max_attempts=3) as client:
        answer = await client.silence_conv_notification("alice", 0, ["c1"], True)
    assert answer.ok
    assert len(api.sent) == 3


@pytest.mark.anyio
async def test_only_undecided_ids_are_resent() -> None:
    api = FakeApi(
        scripted(
            ok(ErrorList=errors(("c1", 660000001), ("c2", 660600001), ("c4", 1))),
            ok(ErrorList=errors(("c4", 660000001))),
            ok(),
        )
    )
    report = await mute(api)
    assert [s.ids for s in api.sent] == [IDS, ["c1", "c4"], ["c4"]]
    assert report.counts == {
        "succeeded": 5,
        "unchanged": 0,
        "failed": 1,
        "not_attempted": 0,
        "unknown": 0,
    }
    assert report.retries == 2


@pytest.mark.anyio
async def test_split_isolates_the_bad_ids() -> None:
    bad = {"c3", "c8"}

    def handler(sent: Sent) -> Reply:
        return ok(Code=660000002, Message="bad input") if bad & set(sent.ids) else ok()

    api = FakeApi(handler)
    ids = [f"c{i}" for i in range(10)]
    report = await mute(api, ids, max_attempts=1)  # halves are not retries
    assert sorted(f.conv_id for f in report.failed) == ["c3", "c8"]
    assert {f.code for f in report.failed} == {660000002}
    assert report.counts["succeeded"] == 8
    assert report.retries == 0
    assert sorted(api.ids_sent()) != []
    assert next(s.ids for s in api.sent) == ids
    assert all(len(s.ids) <= 5 for s in api.sent[1:])
    assert ["c3"] in [s.ids for s in api.sent]
    assert ["c8"] in [s.ids for s in api.sent]


@pytest.mark.anyio
async def test_a_single_id_with_660000002_fails_without_splitting() -> None:
    api = FakeApi(lambda sent: ok(Code=660000002))
    report = await mute(api, ["c1"])
    assert report.counts["failed"] == 1
    assert len(api.sent) == 1


@pytest.mark.anyio
async def test_660000002_with_an_error_list_is_not_split() -> None:
    api = FakeApi(lambda sent: ok(Code=660000002, ErrorList=errors(("c1", 660000002))))
    report = await mute(api)
    assert len(api.sent) == 1
    assert report.counts["failed"] == len(IDS)


@pytest.mark.anyio
async def test_expired_signature_is_resigned_once() -> None:
    api = FakeApi(scripted(ok(Code=100000004), ok()))
    report = await mute(api, max_attempts=1)
    assert report.ok
    assert len(api.sent) == 2
    first, second = (s.params for s in api.sent)
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert first["Signature"] != second["Signature"]


@pytest.mark.anyio
async def test_expired_signature_twice_stops_the_run_blaming_the_clock() -> None:
    api = FakeApi(lambda sent: ok(Code=100000004))
    with anyio.fail_after(10), pytest.raises(ZimAuthError, match="clock") as info:
        await mute(api, max_attempts=5)  # re-signing forever would time out
    assert info.value.code == 100000004
    assert len(api.sent) == 2
    report = info.value.report
    assert report is not None
    assert report.total == len(IDS)
    assert {o.code for o in report.failed} == {100000004}
    async with open_client(api, max_attempts=5) as client:
        with pytest.raises(ZimAuthError, match="clock"):
            await client.silence_conv_notification("alice", 0, ["c1"], True)


class TestBackoffInVirtualTime:
    """Backoff sleeps, measured with trio's MockClock."""

    @pytest.fixture
    def anyio_backend(self) -> Backend:
        from tests.conftest import trio_only

        return trio_only()

    @pytest.mark.anyio
    async def test_exponential_backoff_with_full_jitter(self) -> None:
        api = FakeApi(lambda sent: ok(Code=1))
        seed, base, cap = 1234, 0.5, 3.0
        started = anyio.current_time()
        report = await mute(
            api, ["c1"], max_attempts=6, backoff_base=base, backoff_cap=cap, seed=seed
        )
        assert report.counts["failed"] == 1
        times = [s.at - started for s in api.sent]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        ceilings = [min(cap, base * 2**k) for k in range(5)]
        rng = random.Random(seed)
        assert gaps == pytest.approx([rng.uniform(0, c) for c in ceilings])
        assert all(0 <= g <= c for g, c in zip(gaps, ceilings, strict=False))
        assert sum(gaps) > 0

    @pytest.mark.anyio
    async def test_a_timeout_is_retried_and_ends_unknown(self) -> None:
        async def slow(sent: Sent) -> Reply:
            await anyio.sleep(60)
            return ok()

        api = FakeApi(slow)
        started = anyio.current_time()
        report = await mute(api, ["c1"], timeout=5.0, max_attempts=2)
        assert report.counts["unknown"] == 1
        assert len(api.sent) == 2
        assert 10.0 <= anyio.current_time() - started < 60

    @pytest.mark.anyio
    async def test_a_slow_first_attempt_then_success(self) -> None:
        async def handler(sent: Sent) -> Reply:
            if len(api.sent) == 1:
                await anyio.sleep(60)
            return ok()

        api = FakeApi(handler)
        report = await mute(api, timeout=5.0)
        assert report.ok
        assert report.retries == 1


@pytest.mark.anyio
async def test_retries_and_splits_in_one_plan(anyio_backend: Backend) -> None:
    """Many users at once: each batch retried on its own, the report adds up."""

    def handler(sent: Sent) -> Reply:
        if sent.user == "u1" and len([s for s in api.sent if s.user == "u1"]) == 1:
            return httpx.Response(503)
        if sent.user == "u2" and "c2" in sent.ids:
            return ok(Code=660000002)
        return ok()

    api = FakeApi(handler)
    plan = [MuteOp(f"u{n}", 0, [f"c{i}" for i in range(4)], True) for n in range(4)]
    async with open_client(api) as client:
        report = await client.apply(plan)
    assert report.total == 16
    assert [(f.from_user_id, f.conv_id) for f in report.failed] == [("u2", "c2")]
    assert report.retries == 1
