"""The journal, the progress callback and the plan builders, in process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zim_async import (
    ConvType,
    JournalMismatchError,
    MuteOp,
    SqliteJournal,
    Status,
    ZimAuthError,
    ZimClient,
)
from zim_async.plans import QueryError, all_conversations_of, all_groups_of
from zim_async.testing import FakeZimServer, FaultKind

SILENCE = "SilenceConvNotification"


def sent_ids(server: FakeZimServer) -> list[str]:
    return [
        conv_id
        for record in server.requests
        if record.action == SILENCE and isinstance(record.body, dict)
        for conv_id in record.body["ConvIds"]
    ]


def journal_rows(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT conv_id, status FROM decided").fetchall())


@pytest.mark.anyio
async def test_rerun_sends_only_the_undecided_and_reports_the_whole_plan(
    server: FakeZimServer, client: ZimClient, tmp_path: Path
) -> None:
    server.register_users("alice", *(f"p{i}" for i in range(25)))
    server.state.mute("alice", 0, "p3")
    ids = [f"p{i}" for i in range(25)] + ["ghost"]
    path = tmp_path / "j.db"
    # The first request fails before being applied (HTTP 500) and is retried.
    server.script_faults(FaultKind.HTTP_500)
    first = await client.apply([MuteOp("alice", 0, ids, True)], journal=SqliteJournal(path))
    assert first.counts == {
        "succeeded": 24,
        "unchanged": 1,
        "failed": 1,
        "not_attempted": 0,
        "unknown": 0,
    }
    rows = journal_rows(path)
    assert len(rows) == 26
    assert rows["p3"] == "unchanged"
    assert rows["ghost"] == "failed"
    server.clear_requests()
    journal = SqliteJournal(path)
    again = await client.apply([MuteOp("alice", 0, ids, True)], journal=journal)
    assert sent_ids(server) == []
    assert journal.skipped == 26
    assert again.counts == first.counts
    assert {o.conv_id for o in again.failed} == {"ghost"}


@pytest.mark.anyio
async def test_unknown_ones_are_resent_and_end_unchanged(
    server: FakeZimServer, client: ZimClient, tmp_path: Path
) -> None:
    server.register_users("alice", "bob", "carol")
    path = tmp_path / "j.db"
    # The change is applied, then the connection breaks, on every attempt: unknown.
    server.script_faults(*[FaultKind.DROP] * 5)
    first = await client.apply(
        [MuteOp("alice", 0, ["bob", "carol"], True)], journal=SqliteJournal(path)
    )
    assert first.counts["unknown"] == 2
    assert journal_rows(path) == {}
    server.clear_requests()
    second = await client.apply(
        [MuteOp("alice", 0, ["bob", "carol"], True)], journal=SqliteJournal(path)
    )
    assert sorted(sent_ids(server)) == ["bob", "carol"]
    assert second.counts["unchanged"] == 2
    assert journal_rows(path) == {"bob": "unchanged", "carol": "unchanged"}


@pytest.mark.anyio
async def test_a_different_plan_is_refused_before_anything_is_sent(
    server: FakeZimServer, client: ZimClient, tmp_path: Path
) -> None:
    server.register_users("alice", "bob", "carol")
    path = tmp_path / "j.db"
    await client.apply([MuteOp("alice", 0, ["bob"], True)], journal=SqliteJournal(path))
    server.clear_requests()
    # Streamed fingerprint: op 0 differs.
    with pytest.raises(JournalMismatchError, match="op 0 differs"):
        await client.apply(iter([MuteOp("alice", 0, ["carol"], True)]), journal=SqliteJournal(path))
    # More ops than the finished journaled run had.
    more = [MuteOp("alice", 0, ["bob"], True), MuteOp("alice", 0, ["carol"], True)]
    with pytest.raises(JournalMismatchError, match="has more"):
        await client.apply(more, journal=SqliteJournal(path))
    # A plan id on a journal made without one (and vice versa).
    with pytest.raises(JournalMismatchError, match="another plan"):
        await client.apply(more, journal=SqliteJournal(path, plan_id="p2"))
    assert sent_ids(server) == []
    other = tmp_path / "k.db"
    await client.apply(more[:1], journal=SqliteJournal(other, plan_id="p1"))
    with pytest.raises(JournalMismatchError, match="'p1'"):
        await client.apply(more, journal=SqliteJournal(other, plan_id="p2"))
    assert sent_ids(server) == ["bob"]


@pytest.mark.anyio
async def test_failures_that_stopped_the_run_are_not_journaled(
    server: FakeZimServer, tmp_path: Path, anyio_backend: object
) -> None:
    import httpx

    from zim_async.testing import DEFAULT_APP_ID

    server.register_users("alice", "bob")
    path = tmp_path / "j.db"
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=server)) as http,
        ZimClient(
            DEFAULT_APP_ID, "wrong-secret", base_url="https://f.test", http_client=http, rate=None
        ) as bad,
    ):
        with pytest.raises(ZimAuthError) as caught:
            await bad.apply([MuteOp("alice", 0, ["bob"], True)], journal=SqliteJournal(path))
    assert caught.value.report is not None
    assert caught.value.report.counts["failed"] == 1
    assert journal_rows(path) == {}


@pytest.mark.anyio
async def test_progress_is_throttled_and_ends_with_the_totals(
    server: FakeZimServer, client: ZimClient
) -> None:
    server.register_users("alice", *(f"p{i}" for i in range(95)))
    calls: list[tuple[int, int | None, int]] = []
    ids = [f"p{i}" for i in range(100)]  # 5 unregistered peers fail
    report = await client.apply(
        [MuteOp("alice", 0, ids, True)], progress=lambda *a: calls.append(a)
    )
    assert calls[-1] == (100, 100, 5)
    assert report.counts["failed"] == 5
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    # Streamed ops: the total is unknown.
    streamed: list[tuple[int, int | None, int]] = []
    await client.apply(
        iter([MuteOp("alice", 0, ids, False)]), progress=lambda *a: streamed.append(a)
    )
    assert streamed[-1] == (100, None, 5)


@pytest.mark.anyio
async def test_stream_with_a_journal_replays_the_journaled_outcomes(
    server: FakeZimServer, client: ZimClient, tmp_path: Path
) -> None:
    server.register_users("alice", "bob", "carol")
    path = tmp_path / "j.db"
    await client.apply(
        [MuteOp("alice", 0, ["bob"], True)], journal=SqliteJournal(path, plan_id="x")
    )
    plan = [MuteOp("alice", 0, ["bob", "carol"], True)]
    async with SqliteJournal(path, plan_id="x") as journal:
        seen = {o.conv_id: o.status async for o in client.stream(plan, journal=journal)}
        assert journal.is_open  # the caller opened it, so the run left it open
        assert await journal.counts() == {"succeeded": 2}
    assert seen == {"bob": Status.SUCCEEDED, "carol": Status.SUCCEEDED}
    assert sent_ids(server) == ["bob", "carol"]  # bob once, in the first run


@pytest.mark.anyio
async def test_all_groups_of_pages_through_every_group(
    server: FakeZimServer, client: ZimClient
) -> None:
    groups = [f"g{i:03d}" for i in range(230)]
    for group in groups:
        server.create_group(group, ["alice"])
    ops = [op async for op in all_groups_of(client, "alice")]
    assert ops == [MuteOp("alice", ConvType.GROUP, groups, True)]
    pages = [r for r in server.requests if r.action == "QueryGroupsInfoOfUser"]
    assert len(pages) == 3
    assert all(isinstance(r.body, dict) and r.body["Limit"] == 100 for r in pages)
    report = await client.apply(all_groups_of(client, "alice"))
    assert report.counts["succeeded"] == 230
    assert server.muted("alice", 2) == set(groups)


@pytest.mark.anyio
async def test_all_conversations_of_splits_by_type(
    server: FakeZimServer, client: ZimClient
) -> None:
    peers = [f"p{i:03d}" for i in range(620)]
    server.register_users(*peers)
    for n, peer in enumerate(peers):
        server.add_conversation("alice", peer, update_time=1_000 + n)
    server.create_group("team", ["alice"])
    ops = [op async for op in all_conversations_of(client, "alice", enable=False)]
    # The list holds the 1000 most recent conversations: all 621 here, in two pages.
    assert [(op.conv_type, len(op.conv_ids), op.enable) for op in ops] == [
        (ConvType.PEER, 620, False),
        (ConvType.GROUP, 1, False),
    ]
    assert len([r for r in server.requests if r.action == "QueryConversationList"]) == 2


@pytest.mark.anyio
async def test_a_refused_query_raises_query_error(client: ZimClient) -> None:
    with pytest.raises(QueryError) as caught:
        _ = [op async for op in all_groups_of(client, "nobody")]
    assert caught.value.code == 660500002
