"""Behaviours 4 and 10: batching, bounded concurrency and memory, streaming; on both
backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
import trio

from tests.conftest import Backend, FakeApi, Reply, Sent, errors, ok, open_client, trio_only
from zim_async import ConvOutcome, ConvType, MuteOp, MuteReport, Status, ZimAuthError


def live_tasks(backend: str) -> int:
    if backend == "asyncio":
        return len(asyncio.all_tasks())
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count, stack = 0, [root]
    while stack:
        task = stack.pop()
        count += 1
        stack.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return count


@pytest.mark.anyio
async def test_batches_of_at_most_10_never_mixed() -> None:
    api = FakeApi()
    plan = [
        MuteOp("alice", ConvType.PEER, [f"p{i}" for i in range(23)], True),
        MuteOp("alice", ConvType.GROUP, [f"g{i}" for i in range(11)], True),
        MuteOp("alice", ConvType.PEER, [f"q{i}" for i in range(4)], False),
        MuteOp("bob", ConvType.PEER, [f"p{i}" for i in range(10)], True),
    ]
    async with open_client(api, max_in_flight=3) as client:
        report = await client.apply(plan)
    assert report.total == 48
    assert report.ok
    assert all(1 <= len(s.ids) <= 10 for s in api.sent)
    sent_keys: dict[tuple[str, int, bool], list[str]] = {}
    for s in api.sent:
        key = (s.user, s.body["ConvType"], s.body["Enable"])
        sent_keys.setdefault(key, []).extend(s.ids)
    # Each request came from one op: its IDs all belong to that op's (user, type, enable).
    assert {k: sorted(v) for k, v in sent_keys.items()} == {
        (op.from_user_id, int(op.conv_type), op.enable): sorted(op.conv_ids) for op in plan
    }
    assert len(api.sent) == 3 + 2 + 1 + 1


@pytest.mark.anyio
async def test_concurrency_is_bounded_by_max_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def handler(sent: Sent) -> dict[str, object]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return ok()

    api = FakeApi(handler)
    async with open_client(api, max_in_flight=5) as client:
        report = await client.mute_conversations("alice", 0, [f"c{i}" for i in range(300)])
    assert report.requests == 30
    assert report.ok
    assert peak == 5


@pytest.mark.anyio
async def test_a_huge_lazy_input_is_pulled_only_as_work_completes(anyio_backend: Backend) -> None:
    """20,000 IDs in 2,000 ops: the runner never pulls far ahead of the answers, and the
    number of tasks stays bounded by the pool, not by the input."""
    max_in_flight = 4
    pulled = 0
    answered = 0
    ahead: list[int] = []
    tasks: list[int] = []
    backend = anyio_backend[0]

    def handler(sent: Sent) -> dict[str, object]:
        nonlocal answered
        answered += 1
        if answered % 50 == 0:
            tasks.append(live_tasks(backend))
        return ok()

    def plan() -> Iterator[MuteOp]:
        nonlocal pulled
        for n in range(2_000):
            ahead.append(pulled - answered)
            pulled += 1
            yield MuteOp(f"user{n}", ConvType.PEER, [f"c{n}-{i}" for i in range(10)], True)

    async with open_client(FakeApi(handler), max_in_flight=max_in_flight) as client:
        baseline = live_tasks(backend)
        report = await client.apply(plan())
    assert report.total == 20_000
    assert report.ok
    assert max(ahead) <= 4 * max_in_flight + 2
    assert max(tasks) - baseline <= 4 * max_in_flight + max_in_flight + 4


@pytest.mark.anyio
async def test_stream_of_a_million_ids_stays_lazy() -> None:
    """Reading a few outcomes of a 1,000,000-ID stream pulls only a few ops."""
    pulled = 0

    def plan() -> Iterator[MuteOp]:
        nonlocal pulled
        for n in range(100_000):
            pulled += 1
            yield MuteOp(f"user{n}", ConvType.GROUP, [f"g{i}" for i in range(10)], False)

    api = FakeApi()
    async with open_client(api, max_in_flight=4) as client:
        seen = 0
        async with client.stream(plan(), buffer=16) as outcomes:
            async for _ in outcomes:
                seen += 1
                if seen == 500:
                    break
    assert pulled <= seen // 10 + 4 * 4 + 16 // 10 + 4
    assert len(api.sent) <= pulled


@pytest.mark.anyio
async def test_stream_yields_outcomes_as_they_are_decided() -> None:
    """The first batch's outcomes arrive while the second request is still waiting for
    its answer: the stream does not wait for the end of the run."""
    first_seen = anyio.Event()

    async def handler(sent: Sent) -> dict[str, object]:
        if sent.ids[0] != "c0":
            with anyio.fail_after(5):
                await first_seen.wait()
            return ok(ErrorList=errors((sent.ids[0], 660600001)))
        return ok()

    plan = [MuteOp("alice", ConvType.PEER, [f"c{i}" for i in range(25)], True)]
    got: list[ConvOutcome] = []
    async with open_client(FakeApi(handler), max_in_flight=1) as client:
        stream = client.stream(plan)
        async for outcome in stream:
            got.append(outcome)
            first_seen.set()
        report = stream.report
    assert [o.conv_id for o in got[:10]] == [f"c{i}" for i in range(10)]
    assert sorted(o.conv_id for o in got) == sorted(f"c{i}" for i in range(25))
    assert isinstance(report, MuteReport)
    assert report.total == len(got) == 25
    assert report.counts == {s.value: sum(o.status is s for o in got) for s in Status}
    assert report.counts["failed"] == 2
    assert sorted(f.conv_id for f in report.failed) == ["c10", "c20"]
    assert report.requests == 3


@pytest.mark.anyio
async def test_stream_needs_an_open_client() -> None:
    from tests.conftest import APP_ID, SECRET
    from zim_async import ZimClient

    client = ZimClient(APP_ID, SECRET, rate=None)
    with pytest.raises(RuntimeError, match="async with"):
        client.stream([MuteOp("a", 0, ["b"], True)])
    await client.aclose()


async def collect(stream: AsyncIterator[ConvOutcome], into: list[ConvOutcome]) -> None:
    async for outcome in stream:
        into.append(outcome)


@pytest.mark.anyio
async def test_stream_raises_the_run_error_after_its_outcomes() -> None:
    api = FakeApi(lambda sent: ok() if sent.ids[0] == "c0" else ok(Code=100000005))
    got: list[ConvOutcome] = []
    async with open_client(api, max_in_flight=1) as client:
        stream = client.stream([MuteOp("alice", 0, [f"c{i}" for i in range(30)], True)])
        with pytest.raises(ZimAuthError) as info:
            await collect(stream, got)
    assert len(got) == 30
    assert info.value.report is not None
    assert info.value.report.total == 30
    assert stream.report.counts == info.value.report.counts


@pytest.mark.anyio
async def test_bulk_paths_on_this_backend(anyio_backend: Backend) -> None:
    api = FakeApi(lambda sent: ok(ErrorList=errors(("g1", 660800051))))
    async with open_client(api) as client:
        muted = await client.mute_conversations("alice", ConvType.GROUP, ["g0", "g1"])
        unmuted = await client.unmute_conversations("alice", ConvType.GROUP, ["g0", "g1"])
        applied = await client.apply([MuteOp("bob", 2, ["g1", "g2"], True)])
        streamed = [o async for o in client.stream([MuteOp("carol", 2, ["g1"], True)])]
    assert muted.counts["succeeded"] == 1
    assert muted.counts["unchanged"] == 1
    assert unmuted.counts["failed"] == 1  # "already muted" contradicts an unmute
    assert applied.counts["unchanged"] == 1
    assert [o.status for o in streamed] == [Status.UNCHANGED]


@pytest.mark.parametrize("anyio_backend", [pytest.param(trio_only(), id="trio")])
@pytest.mark.anyio
async def test_batches_waiting_in_backoff_still_count_against_the_bound() -> None:
    """Batches sleeping before a retry hold their place: the producer does not pull new
    ops while ``4 * max_in_flight`` batches are alive."""
    pulled = 0
    finished: set[str] = set()
    ahead: list[int] = []

    def handler(sent: Sent) -> Reply:
        if sent.user in finished or len(api.sent) % 3 == 0:
            finished.add(sent.user)
            return ok()
        return ok(Code=1)  # retried after a (virtual) backoff

    def plan() -> Iterator[MuteOp]:
        nonlocal pulled
        for n in range(300):
            ahead.append(pulled - len(finished))
            pulled += 1
            yield MuteOp(f"user{n}", ConvType.PEER, [f"c{i}" for i in range(10)], True)

    api = FakeApi(handler)
    options = {"max_in_flight": 2, "max_attempts": 50, "backoff_base": 1.0, "backoff_cap": 4.0}
    async with open_client(api, **options) as client:
        report = await client.apply(plan())
    assert report.ok
    assert report.retries > 100
    assert max(ahead) <= 4 * 2 + 1


@pytest.mark.anyio
async def test_leaving_a_stream_early_still_accounts_for_what_was_pulled() -> None:
    async def handler(sent: Sent) -> Reply:
        await anyio.sleep(0.05 if sent.ids[0] == "c0" else 10.0)
        return ok()

    api = FakeApi(handler)
    plan = [MuteOp("alice", ConvType.PEER, [f"c{i}" for i in range(40)], True)]
    async with open_client(api, max_in_flight=4) as client:
        async with client.stream(plan) as stream:
            async for _ in stream:
                break  # the first batch is decided; three others are in flight
        await anyio.sleep(0.01)  # let the cancelled job settle
        report = stream.report
    # Every pulled conversation has one outcome: the reader's leaving must not cut the
    # settling short (the stream it would deliver to is closed).
    assert report.total == 40
    assert report.counts["succeeded"] == 10
    assert report.counts["unknown"] == 30  # sent, answer never read
