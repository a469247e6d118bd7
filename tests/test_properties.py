"""Hypothesis properties: the chunker, and report conservation through the real client."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeApi, Reply, Sent, ok, open_client
from zim_async import ConvOutcome, ConvType, MuteOp, MuteReport, Status
from zim_async._chunking import chunk_ops, split_batch

USERS = ["alice", "bob", "c d"]
POOL = [f"id{i}" for i in range(30)]

ops_strategy = st.lists(
    st.builds(
        MuteOp,
        st.sampled_from(USERS),
        st.sampled_from([ConvType.PEER, ConvType.GROUP]),
        st.lists(st.sampled_from(POOL), min_size=1, max_size=35),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


@settings(deadline=None, max_examples=200)
@given(ops_strategy)
def test_chunker_keeps_every_id_once_in_order_without_mixing(ops: list[MuteOp]) -> None:
    batches = list(chunk_ops(ops))
    rebuilt: list[tuple[str, ConvType, bool, str]] = []
    for batch in batches:
        assert 1 <= len(batch.conv_ids) <= 10
        rebuilt += [(batch.from_user_id, batch.conv_type, batch.enable, c) for c in batch.conv_ids]
    expected = [(op.from_user_id, op.conv_type, op.enable, c) for op in ops for c in op.conv_ids]
    assert rebuilt == expected  # every ID exactly once, in order; the key is the op's
    assert len(batches) == sum(-(-len(op.conv_ids) // 10) for op in ops)
    for batch in batches:
        if len(batch.conv_ids) >= 2:
            first, second = split_batch(batch)
            assert first.conv_ids + second.conv_ids == batch.conv_ids
            assert first.conv_ids
            assert second.conv_ids


BEHAVIOURS = [
    "ok",
    "muted",
    "unmuted",
    "perm",
    "transient",
    "rate",
    "flaky",
    "unknown_extra",
    "dup",
]


def expected_status(behaviour: str, enable: bool) -> Status:
    if behaviour == "muted":
        return Status.UNCHANGED if enable else Status.FAILED
    if behaviour == "unmuted":
        return Status.FAILED if enable else Status.UNCHANGED
    if behaviour == "perm":
        return Status.FAILED
    return Status.SUCCEEDED


class Server:
    """Answers each ID according to its behaviour; transient ones fail once."""

    def __init__(self, behaviours: dict[str, str]) -> None:
        self.behaviours = behaviours
        self.seen: set[tuple[Any, ...]] = set()

    def first_time(self, *key: Any) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def __call__(self, sent: Sent) -> Reply:
        key = (sent.user, sent.body["ConvType"], sent.body["Enable"])
        kinds = {c: self.behaviours[c] for c in sent.ids}
        # Every flaky ID of the request fails once, together (a list, not a lazy any()).
        flaky = [self.first_time(*key, c, k) for c, k in kinds.items() if k == "flaky"]
        if any(flaky):
            return httpx.Response(503)
        items: list[dict[str, Any]] = []
        for conv_id, kind in kinds.items():
            sub = {
                "muted": 660800051,
                "unmuted": 660800052,
                "perm": 660600001,
            }.get(kind)
            if kind in ("transient", "rate") and self.first_time(*key, conv_id, kind):
                sub = 660000001 if kind == "transient" else 660300005
            if sub is not None:
                items.append({"ConvId": conv_id, "SubCode": sub, "SubMessage": kind})
            if kind == "unknown_extra":
                items.append({"ConvId": conv_id + "-not-sent", "SubCode": 660600001})
            if kind == "dup" and items:
                items.append(dict(items[0], SubCode=660600024))
        named = {i["ConvId"] for i in items}
        code = 0 if set(sent.ids) - named else items[0]["SubCode"]
        return ok(Code=code, ErrorList=items)


def everything(report: MuteReport) -> list[ConvOutcome]:
    return [
        *report.succeeded,
        *report.unchanged,
        *report.failed,
        *report.not_attempted,
        *report.unknown,
    ]


@pytest.mark.anyio
@settings(
    deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops_strategy, behaviours=st.lists(st.sampled_from(BEHAVIOURS), min_size=30, max_size=30))
async def test_every_input_conversation_ends_in_exactly_one_bucket(
    ops: list[MuteOp], behaviours: list[str]
) -> None:
    by_id = dict(zip(POOL, behaviours, strict=False))
    api = FakeApi(Server(by_id))
    async with open_client(api, max_attempts=3, max_in_flight=3) as client:
        report = await client.apply(ops)
    assert report.total == sum(len(op.conv_ids) for op in ops)
    assert sum(report.counts.values()) == report.total
    outcomes = everything(report)
    keys = Counter((o.from_user_id, o.conv_type, o.enable, o.conv_id) for o in outcomes)
    wanted = Counter(
        (op.from_user_id, op.conv_type, op.enable, c) for op in ops for c in op.conv_ids
    )
    assert keys == wanted
    for status in Status:
        bucket = getattr(report, status.value)
        assert len(bucket) == report.counts[status.value]
        assert all(o.status is status for o in bucket)
    for o in outcomes:
        assert o.status is expected_status(by_id[o.conv_id], o.enable), o
        # Only the IDs we sent are ever reported, never the server's inventions.
        assert not o.conv_id.endswith("-not-sent")
    assert report.requests == len(api.sent)
