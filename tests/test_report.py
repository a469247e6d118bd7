"""`MuteReport.to_dict()` and the package's public names."""

from __future__ import annotations

import json

import httpx
import pytest

import zim_async
from tests.conftest import FakeApi, Reply, Sent, errors, ok, open_client
from zim_async import ConvType, MuteOp, MuteReport, Status

COUNT_KEYS = {"succeeded", "unchanged", "failed", "not_attempted", "unknown"}
ROW_KEYS = {"from_user_id", "conv_type", "conv_id", "enable", "code", "message"}


@pytest.mark.anyio
async def test_to_dict_is_json_ready_with_the_documented_keys() -> None:
    def handler(sent: Sent) -> Reply:
        if sent.user == "timeout":
            raise httpx.ReadTimeout("slow")
        return ok(ErrorList=errors(("g1", 660600001), ("g2", 660800051)))

    api = FakeApi(handler)
    plan = [
        MuteOp("alice", ConvType.GROUP, ["g0", "g1", "g2"], True),
        MuteOp("timeout", ConvType.PEER, ["p1"], False),
    ]
    async with open_client(api, max_attempts=2) as client:
        report = await client.apply(plan)
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert {
        "total",
        "counts",
        "failures",
        "requests",
        "retries",
        "rate_limited",
        "elapsed_s",
    } <= set(data)
    assert data["total"] == 4
    assert set(data["counts"]) == COUNT_KEYS
    assert data["counts"] == {
        "succeeded": 1,
        "unchanged": 1,
        "failed": 1,
        "not_attempted": 0,
        "unknown": 1,
    }
    (failure,) = data["failures"]
    assert set(failure) == ROW_KEYS
    assert failure == {
        "from_user_id": "alice",
        "conv_type": 2,
        "conv_id": "g1",
        "enable": True,
        "code": 660600001,
        "message": "sub 660600001",
    }
    assert type(failure["conv_type"]) is int
    assert [row["conv_id"] for row in data["unknown"]] == ["p1"]
    assert data["requests"] == 3
    assert data["retries"] == 1
    assert data["rate_limited"] == 0
    assert isinstance(data["elapsed_s"], float)
    assert data["elapsed_s"] >= 0
    assert data["ok"] is False


def test_an_empty_report() -> None:
    report = MuteReport()
    assert report.total == 0
    assert report.ok
    assert report.to_dict()["counts"] == dict.fromkeys(COUNT_KEYS, 0)
    assert json.dumps(report.to_dict())


def test_outcome_to_dict() -> None:
    from zim_async import ConvOutcome

    outcome = ConvOutcome(
        from_user_id="a",
        conv_type=ConvType.PEER,
        conv_id="b",
        enable=False,
        status=Status.FAILED,
        code=2,
    )
    assert json.loads(json.dumps(outcome.to_dict()))["conv_type"] == 0


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: SCREAMING_CASE constants, then CamelCase classes, then the rest.
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_public_and_importable() -> None:
    names = zim_async.__all__
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert not name.startswith("_") or (name.startswith("__") and name.endswith("__"))
        assert getattr(zim_async, name) is not None
    namespace: dict[str, object] = {}
    exec("from zim_async import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(names)
    # The public contract is all there.
    contract = {
        "ZimClient", "MuteOp", "MuteReport", "ConvOutcome", "ConvType", "ZimError",
        "InvalidRequestError", "ZimAuthError", "ZimProtocolError", "Limiter",
    }  # fmt: skip
    assert contract <= set(names)
    assert isinstance(zim_async.__version__, str)
    assert zim_async.__version__
