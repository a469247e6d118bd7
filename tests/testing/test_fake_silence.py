"""SilenceConvNotification: body rules, per-conversation codes and the answer envelope."""

from __future__ import annotations

from typing import Any

import pytest

from zim_async.testing import FakeZimServer

from .fake_zim_helpers import SILENCE, Caller, caller_for

pytestmark = pytest.mark.anyio

GOOD: dict[str, Any] = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["bob"], "Enable": True}


def body_with(**changes: object) -> dict[str, object]:
    body: dict[str, object] = dict(GOOD)
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        body_with(FromUserId=...),
        body_with(FromUserId=7),
        body_with(FromUserId=""),
        body_with(FromUserId="a" * 33),
        body_with(FromUserId="al*ce"),
        body_with(ConvType=...),
        body_with(ConvType=1),
        body_with(ConvType="0"),
        body_with(ConvType=True),
        body_with(ConvType=0.0),
        body_with(ConvIds=...),
        body_with(ConvIds=[]),
        body_with(ConvIds="bob"),
        body_with(ConvIds=[f"u{i}" for i in range(11)]),
        body_with(ConvIds=["bob", 3]),
        body_with(ConvIds=["bob", ""]),
        body_with(ConvIds=["x" * 33]),
        body_with(Enable=...),
        body_with(Enable=1),
        body_with(Enable="true"),
        ["not", "an", "object"],
    ],
)
async def test_bad_body_is_660000002_without_error_list(
    caller: Caller, server: FakeZimServer, body: object
) -> None:
    answer = await caller.call(SILENCE, body)
    assert answer["Code"] == 660000002
    assert "ErrorList" not in answer
    assert server.muted("alice", 0) == set()


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe"])
async def test_unparsable_body_is_660000002(caller: Caller, content: bytes) -> None:
    answer = await caller.call(SILENCE, content=content)
    assert answer["Code"] == 660000002


async def test_ten_ids_and_32_characters_are_allowed(caller: Caller, server: FakeZimServer) -> None:
    ids = [f"{i:02d}" + "p" * 30 for i in range(10)]
    server.register_users(*ids)
    answer = await caller.silence("alice", 0, ids)
    assert answer["Code"] == 0
    assert server.muted("alice", 0) == set(ids)


async def test_unregistered_from_user_fails_whole_request(caller: Caller) -> None:
    answer = await caller.silence("zoe", 0, ["bob"])
    assert answer["Code"] == 660500002
    assert "ErrorList" not in answer


async def test_mute_then_unmute_changes_state(caller: Caller, server: FakeZimServer) -> None:
    answer = await caller.silence("alice", 0, ["bob", "carol"])
    assert answer == {
        "Code": 0,
        "Message": "success",
        "RequestId": answer["RequestId"],
        "ErrorList": [],
    }
    assert server.muted("alice", 0) == {"bob", "carol"}
    assert server.muted("bob", 0) == set()  # per user
    assert (await caller.silence("alice", 0, ["bob"], enable=False))["Code"] == 0
    assert server.muted("alice", 0) == {"carol"}


async def test_group_mute_needs_existing_group_and_membership(
    caller: Caller, server: FakeZimServer
) -> None:
    answer = await caller.silence("alice", 2, ["g1", "g2", "nope"])
    assert answer["Code"] == 0  # g1 succeeded
    assert answer["ErrorList"] == [
        {"ConvId": "g2", "SubCode": 660600024, "SubMessage": answer["ErrorList"][0]["SubMessage"]},
        {
            "ConvId": "nope",
            "SubCode": 660600001,
            "SubMessage": answer["ErrorList"][1]["SubMessage"],
        },
    ]
    assert server.muted("alice", 2) == {"g1"}
    assert server.muted("alice", 0) == set()  # peer and group lists are separate


async def test_partial_success_with_unregistered_peer(
    caller: Caller, server: FakeZimServer
) -> None:
    answer = await caller.silence("alice", 0, ["ghost", "bob"])
    assert answer["Code"] == 0
    assert [(e["ConvId"], e["SubCode"]) for e in answer["ErrorList"]] == [("ghost", 660700015)]
    assert server.muted("alice", 0) == {"bob"}


async def test_all_peers_unregistered_is_code_660700015_with_error_list(caller: Caller) -> None:
    answer = await caller.silence("alice", 0, ["ghost1", "ghost2"])
    assert answer["Code"] == 660700015
    assert [(e["ConvId"], e["SubCode"]) for e in answer["ErrorList"]] == [
        ("ghost1", 660700015),
        ("ghost2", 660700015),
    ]


async def test_all_failed_takes_the_first_sub_code(caller: Caller, server: FakeZimServer) -> None:
    server.state.mute("alice", 0, "bob")
    answer = await caller.silence("alice", 0, ["bob", "ghost"])
    assert answer["Code"] == 660800051
    assert [(e["ConvId"], e["SubCode"]) for e in answer["ErrorList"]] == [
        ("bob", 660800051),
        ("ghost", 660700015),
    ]


async def test_already_muted_and_already_unmuted(caller: Caller, server: FakeZimServer) -> None:
    await caller.silence("alice", 2, ["g1"])
    again = await caller.silence("alice", 2, ["g1"])
    assert again["Code"] == 660800051
    assert again["ErrorList"][0]["SubCode"] == 660800051
    unmute = await caller.silence("bob", 2, ["g1"], enable=False)
    assert unmute["Code"] == 660800052
    assert unmute["ErrorList"][0]["SubCode"] == 660800052
    assert server.muted("alice", 2) == {"g1"}


async def test_duplicates_are_handled_once(caller: Caller, server: FakeZimServer) -> None:
    answer = await caller.silence("alice", 0, ["bob", "bob", "ghost", "ghost"])
    assert answer["Code"] == 0
    assert [e["ConvId"] for e in answer["ErrorList"]] == ["ghost"]
    assert server.muted("alice", 0) == {"bob"}
    # Ten IDs with duplicates: the raw array length counts for the limit of 10.
    assert (await caller.silence("alice", 0, ["carol"] * 11))["Code"] == 660000002


@pytest.mark.parametrize("conv_type", [0, 2])
async def test_mute_list_full(anyio_backend: str, conv_type: int) -> None:
    # Each limit is set alone, so the test also shows which option governs which type.
    if conv_type == 0:
        server = FakeZimServer(peer_mute_limit=2)
    else:
        server = FakeZimServer(group_mute_limit=2)
    server.register_users("alice", "p1", "p2", "p3")
    for group in ("g1", "g2", "g3"):
        server.create_group(group, ["alice"])
    ids = ["p1", "p2", "p3"] if conv_type == 0 else ["g1", "g2", "g3"]
    async with caller_for(server) as caller:
        answer = await caller.silence("alice", conv_type, ids)
        assert answer["Code"] == 0
        assert [(e["ConvId"], e["SubCode"]) for e in answer["ErrorList"]] == [(ids[2], 660800030)]
        assert server.muted("alice", conv_type) == set(ids[:2])
        # Full: a further mute fails alone; unmuting one makes room again.
        assert (await caller.silence("alice", conv_type, ids[2:]))["Code"] == 660800030
        assert (await caller.silence("alice", conv_type, ids[:1], enable=False))["Code"] == 0
        assert (await caller.silence("alice", conv_type, ids[2:]))["Code"] == 0
    assert server.muted("alice", conv_type) == set(ids[1:])


async def test_default_peer_limit_is_500(caller: Caller, server: FakeZimServer) -> None:
    server.state.mute("alice", 0, *(f"x{i}" for i in range(499)))
    assert (await caller.silence("alice", 0, ["bob", "carol"]))["ErrorList"] == [
        {"ConvId": "carol", "SubCode": 660800030, "SubMessage": "mute list is full"}
    ]


async def test_unknown_body_fields_are_ignored(caller: Caller) -> None:
    answer = await caller.call(SILENCE, body_with(Extra={"x": 1}))
    assert answer["Code"] == 0
