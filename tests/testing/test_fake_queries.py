"""QueryGroupsInfoOfUser and QueryConversationList: paging and body rules."""

from __future__ import annotations

from typing import Any

import pytest

from zim_async.testing import FakeZimServer

from .fake_zim_helpers import CONVS, GROUPS, Caller

pytestmark = pytest.mark.anyio


async def all_group_pages(caller: Caller, user: str, limit: int) -> list[dict[str, Any]]:
    pages, token = [], ""
    while True:
        page = await caller.call(GROUPS, {"FromUserId": user, "Limit": limit, "Next": token})
        assert page["Code"] == 0
        pages.append(page)
        token = page["NextRsp"]
        assert isinstance(token, str)
        if token == "0":
            return pages
        assert len(pages) < 50, "paging does not end"


async def test_groups_of_user_page_by_page(caller: Caller, server: FakeZimServer) -> None:
    for i in range(5):
        server.create_group(f"h{i}", ["carol"], name=f"H{i}")
    pages = await all_group_pages(caller, "carol", 2)
    assert [len(p["GroupInfoList"]) for p in pages] == [2, 2, 1]
    assert all(p["HasJoinGroupNum"] == 5 for p in pages)
    ids = [g["GroupId"] for p in pages for g in p["GroupInfoList"]]
    assert ids == [f"h{i}" for i in range(5)]


async def test_group_info_fields(caller: Caller) -> None:
    page = await caller.call(GROUPS, {"FromUserId": "alice", "Limit": 100})  # Next optional
    assert page["NextRsp"] == "0"
    assert page["GroupInfoList"] == [
        {"GroupId": "g1", "GroupName": "Group one", "GroupAvatar": "https://a.test/1.png"}
    ]


async def test_exact_multiple_of_limit_ends_with_zero(
    caller: Caller, server: FakeZimServer
) -> None:
    server.create_group("g3", ["bob"])
    pages = await all_group_pages(caller, "bob", 3)  # bob is in g1, g2, g3
    assert [len(p["GroupInfoList"]) for p in pages] == [3]


async def test_user_without_groups(caller: Caller) -> None:
    page = await caller.call(GROUPS, {"FromUserId": "dave", "Limit": 10, "Next": ""})
    assert (page["Code"], page["NextRsp"], page["HasJoinGroupNum"], page["GroupInfoList"]) == (
        0,
        "0",
        0,
        [],
    )


@pytest.mark.parametrize(
    "body",
    [
        {"FromUserId": "alice"},
        {"FromUserId": "alice", "Limit": 0},
        {"FromUserId": "alice", "Limit": 101},
        {"FromUserId": "alice", "Limit": "2"},
        {"FromUserId": "alice", "Limit": 2, "Next": 0},
        {"FromUserId": "alice", "Limit": 2, "Next": "abc"},
        {"Limit": 2},
    ],
)
async def test_groups_bad_body(caller: Caller, body: dict[str, object]) -> None:
    assert (await caller.call(GROUPS, body))["Code"] == 660000002


async def test_queries_need_a_registered_user(caller: Caller) -> None:
    assert (await caller.call(GROUPS, {"FromUserId": "zoe", "Limit": 1}))["Code"] == 660500002
    assert (await caller.call(CONVS, {"FromUserId": "zoe"}))["Code"] == 660500002


async def all_conv_pages(caller: Caller, user: str, limit: object) -> list[dict[str, Any]]:
    pages, token = [], 0
    while True:
        page = await caller.call(CONVS, {"FromUserId": user, "Limit": limit, "Next": token})
        assert page["Code"] == 0
        pages.append(page)
        token = page["Next"]
        if token == 0:
            return pages
        assert len(pages) < 50, "paging does not end"


async def test_conversation_list_pages_oldest_first(caller: Caller, server: FakeZimServer) -> None:
    server.add_conversation("alice", "bob", update_time=3000)
    server.add_conversation("alice", "carol", update_time=1000)
    server.add_conversation("alice", "dave", update_time=2000, mutual=False)
    pages = await all_conv_pages(caller, "alice", 2)
    assert [p["TotalCount"] for p in pages] == [4, 4]  # 3 peers + group g1
    items = [item for p in pages for item in p["List"]]
    peers = [i for i in items if "ConvType" not in i]  # peers carry no ConvType
    assert [(i["ConvId"], i["UpdateTime"]) for i in peers] == [
        ("carol", 1000),
        ("dave", 2000),
        ("bob", 3000),
    ]
    groups = [i for i in items if "ConvType" in i]
    assert groups == [{"ConvId": "g1", "ConvType": 2, "UpdateTime": 1_700_000_000_000}]
    assert [i["UpdateTime"] for i in items] == sorted(i["UpdateTime"] for i in items)
    # mutual=False: dave has no conversation with alice.
    dave = await caller.call(CONVS, {"FromUserId": "dave"})
    assert (dave["TotalCount"], dave["Next"], dave["List"]) == (0, 0, [])


@pytest.mark.parametrize(
    ("limit", "page_size"), [(0, 100), (-3, 100), (501, 500), (1000, 500), (7, 7)]
)
async def test_conversation_limit_is_coerced(
    caller: Caller, server: FakeZimServer, limit: int, page_size: int
) -> None:
    for i in range(600):
        server.add_conversation("dave", f"peer{i}", update_time=i, mutual=False)
    page = await caller.call(CONVS, {"FromUserId": "dave", "Limit": limit, "Next": 0})
    assert len(page["List"]) == page_size
    assert page["TotalCount"] == 600
    assert page["Next"] != 0


async def test_conversation_limit_defaults_to_100(caller: Caller, server: FakeZimServer) -> None:
    for i in range(150):
        server.add_conversation("dave", f"peer{i}", update_time=i, mutual=False)
    pages = await all_conv_pages(caller, "dave", 100)
    first = await caller.call(CONVS, {"FromUserId": "dave"})
    assert len(first["List"]) == 100 == len(pages[0]["List"])
    assert [len(p["List"]) for p in pages] == [100, 50]


async def test_conversation_list_keeps_the_1000_most_recent(
    caller: Caller, server: FakeZimServer
) -> None:
    for i in range(1005):
        server.add_conversation("dave", f"peer{i}", update_time=i, mutual=False)
    pages = await all_conv_pages(caller, "dave", 500)
    ids = [item["ConvId"] for p in pages for item in p["List"]]
    assert len(ids) == 1000
    assert ids[0] == "peer5"
    assert ids[-1] == "peer1004"


@pytest.mark.parametrize(
    "body",
    [
        {"FromUserId": "alice", "Limit": "10"},
        {"FromUserId": "alice", "Next": -1},
        {"FromUserId": "alice", "Next": "0"},
        {"FromUserId": "alice", "Limit": True},
        {"FromUserId": ""},
    ],
)
async def test_conversation_bad_body(caller: Caller, body: dict[str, object]) -> None:
    assert (await caller.call(CONVS, body))["Code"] == 660000002
