"""Behaviour 5: one decision per conversation from the Code/ErrorList envelope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FakeApi, errors, ok, open_client, scripted
from zim_async import ConvType, MuteOp, MuteReport, Status
from zim_async._chunking import Batch
from zim_async._classify import classify_answer
from zim_async._codes import CodeClass, classify_code
from zim_async._model import ApiAnswer, ConvError

IDS = ["c1", "c2", "c3", "c4"]


async def run(answer: dict[str, Any], *, enable: bool = True, ids: list[str] = IDS) -> MuteReport:
    api = FakeApi(lambda sent: answer)
    async with open_client(api, max_attempts=2) as client:
        report = await client.apply([_op(ids, enable)])
    assert report.total == len(ids)
    return report


def _op(ids: list[str], enable: bool) -> MuteOp:
    return MuteOp("alice", ConvType.PEER, ids, enable)


def statuses(report: MuteReport) -> dict[str, tuple[Status, int | None]]:
    everything = (
        report.succeeded + report.unchanged + report.failed + report.not_attempted + report.unknown
    )
    return {o.conv_id: (o.status, o.code) for o in everything}


@pytest.mark.anyio
async def test_full_success() -> None:
    report = await run(ok())
    assert report.ok
    assert statuses(report) == dict.fromkeys(IDS, (Status.SUCCEEDED, None))


@pytest.mark.anyio
async def test_partial_success() -> None:
    report = await run(ok(ErrorList=errors(("c2", 660600024), ("c4", 660700015))))
    assert statuses(report) == {
        "c1": (Status.SUCCEEDED, None),
        "c2": (Status.FAILED, 660600024),
        "c3": (Status.SUCCEEDED, None),
        "c4": (Status.FAILED, 660700015),
    }
    assert not report.ok
    assert {f.conv_id: f.message for f in report.failed} == {
        "c2": "sub 660600024",
        "c4": "sub 660700015",
    }
    assert report.requests == 1  # permanent codes are not retried


@pytest.mark.anyio
async def test_all_failed_with_per_item_codes() -> None:
    items = errors(("c1", 660700015), ("c2", 660700015), ("c3", 660600001), ("c4", 660800030))
    report = await run(ok(Code=660700015, Message="all peers unregistered", ErrorList=items))
    assert statuses(report) == {
        "c1": (Status.FAILED, 660700015),
        "c2": (Status.FAILED, 660700015),
        "c3": (Status.FAILED, 660600001),
        "c4": (Status.FAILED, 660800030),
    }


@pytest.mark.anyio
async def test_whole_request_error_fails_every_id_with_code_and_message() -> None:
    report = await run(ok(Code=660600024, Message="not a member"), ids=["c1"])
    ((failure),) = report.failed
    assert (failure.code, failure.message) == (660600024, "not a member")
    report = await run(ok(Code=660600001, Message="no group"))
    assert statuses(report) == dict.fromkeys(IDS, (Status.FAILED, 660600001))
    assert {f.message for f in report.failed} == {"no group"}
    assert report.requests == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "enable", "status"),
    [
        (660800051, True, Status.UNCHANGED),
        (660800051, False, Status.FAILED),
        (660800052, False, Status.UNCHANGED),
        (660800052, True, Status.FAILED),
    ],
)
async def test_already_muted_and_unmuted(code: int, enable: bool, status: Status) -> None:
    as_sub_code = await run(ok(ErrorList=errors(("c2", code))), enable=enable)
    assert statuses(as_sub_code)["c2"] == (status, code)
    assert statuses(as_sub_code)["c1"] == (Status.SUCCEEDED, None)
    # As the top-level Code with every item listed (all already in that state)...
    listed = await run(ok(Code=code, ErrorList=errors(*((c, code) for c in IDS))), enable=enable)
    assert statuses(listed) == dict.fromkeys(IDS, (status, code))
    # ... and without an ErrorList.
    whole = await run(ok(Code=code), enable=enable)
    assert statuses(whole) == dict.fromkeys(IDS, (status, code))
    assert whole.ok is (status is Status.UNCHANGED)


@pytest.mark.anyio
async def test_error_list_naming_unknown_ids_or_an_id_twice() -> None:
    items = errors(("c2", 660600001), ("c2", 660700015), ("zz", 660600001), ("c3", 660800051))
    report = await run(ok(ErrorList=items))
    assert report.total == 4
    assert statuses(report) == {
        "c1": (Status.SUCCEEDED, None),
        "c2": (Status.FAILED, 660600001),  # the first mention counts
        "c3": (Status.UNCHANGED, 660800051),
        "c4": (Status.SUCCEEDED, None),
    }
    assert report.counts == {
        "succeeded": 2,
        "unchanged": 1,
        "failed": 1,
        "not_attempted": 0,
        "unknown": 0,
    }


@pytest.mark.anyio
async def test_code_nonzero_with_a_partial_error_list_fails_the_unnamed_with_the_code() -> None:
    report = await run(ok(Code=660600009, ErrorList=errors(("c1", 660600001))))
    assert statuses(report) == {
        "c1": (Status.FAILED, 660600001),
        "c2": (Status.FAILED, 660600009),
        "c3": (Status.FAILED, 660600009),
        "c4": (Status.FAILED, 660600009),
    }


@pytest.mark.anyio
async def test_an_unknown_code_is_permanent() -> None:
    report = await run(ok(Code=123456789))
    assert statuses(report) == dict.fromkeys(IDS, (Status.FAILED, 123456789))
    assert report.requests == 1
    assert report.retries == 0
    report = await run(ok(ErrorList=errors(("c1", 987))))
    assert statuses(report)["c1"] == (Status.FAILED, 987)
    assert report.requests == 1


@pytest.mark.anyio
async def test_a_transient_sub_code_retries_only_that_id() -> None:
    api = FakeApi(scripted(ok(ErrorList=errors(("c2", 660000001), ("c3", 660600001))), ok()))
    async with open_client(api) as client:
        report = await client.apply([_op(IDS, True)])
    assert [s.ids for s in api.sent] == [IDS, ["c2"]]
    assert statuses(report) == {
        "c1": (Status.SUCCEEDED, None),
        "c2": (Status.SUCCEEDED, None),
        "c3": (Status.FAILED, 660600001),
        "c4": (Status.SUCCEEDED, None),
    }
    assert report.retries == 1


def test_code_table() -> None:
    assert classify_code(0) is CodeClass.SUCCESS
    for code in (1, 660000001, 660000003, 100000012, 100000015):
        assert classify_code(code) is CodeClass.TRANSIENT
    for code in (7, 660300005):
        assert classify_code(code) is CodeClass.RATE_LIMITED
    for code in (3, 100000001, 100000005, 100000010, 100000014, 100000017):
        assert classify_code(code) is CodeClass.STOP
    assert classify_code(100000004) is CodeClass.SIGNATURE_EXPIRED
    assert classify_code(660000002) is CodeClass.INVALID_PARAMS
    assert classify_code(660500002) is CodeClass.USER_NOT_REGISTERED
    assert classify_code(660800030) is CodeClass.MUTE_LIST_FULL
    for code in (2, 660600001, 660700015, 424242, -1):
        assert classify_code(code) is CodeClass.PERMANENT


def test_classify_answer_puts_every_id_in_exactly_one_place() -> None:
    batch = Batch("alice", ConvType.GROUP, True, ("a", "b", "c", "d", "e"))
    answer = ApiAnswer(
        code=0,
        error_list=(
            ConvError("b", 660000001),
            ConvError("c", 660600001),
            ConvError("c", 0),
            ConvError("x", 660600001),
            ConvError("d", 7),
        ),
    )
    verdict = classify_answer(batch, answer)
    decided = [o.conv_id for o in verdict.decided]
    assert sorted(decided + list(verdict.retry)) == ["a", "b", "c", "d", "e"]
    assert set(verdict.retry) == {"b", "d"}
    assert verdict.rate_limited
