"""Behaviour 2: input is checked before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import APP_ID, SECRET, FakeApi, open_client
from zim_async import ConvType, InvalidRequestError, MuteOp, ZimClient, ZimError

LONG = "x" * 200


def check_error(info: pytest.ExceptionInfo[InvalidRequestError], field: str, shown: str) -> None:
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ZimError)
    assert error.field == field
    assert field in str(error)
    assert error.value is not None
    assert shown in error.value
    assert error.value in str(error)
    assert len(error.value) <= 48  # a huge value is truncated, not echoed in full


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        ("", "''"),
        ("a" * 33, "'aaaa"),
        (LONG, "'xxxx"),
        ("al*ce", "'al*ce'"),
        ("al'ce", "al'ce"),
        ("é", "'é'"),
        ("tab\there", "tab\\there"),
        ("new\nline", "new\\nline"),
        ("nul\x00", "nul\\x00"),
        (7, "7"),
        (None, "None"),
        (b"alice", "b'alice'"),
    ],
)
def test_from_user_id_rules(user: Any, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        MuteOp(user, ConvType.PEER, ["c"], True)
    check_error(info, "from_user_id", shown)


@pytest.mark.parametrize("user", ["a", "A" * 32, "0123", "!#$%&()+-:;<=.>?@[]^_ {}|~"])
def test_from_user_id_accepts_the_documented_set(user: str) -> None:
    assert MuteOp(user, ConvType.PEER, ["c"], True).from_user_id == user


@pytest.mark.parametrize(
    ("conv_type", "shown"),
    [(True, "True"), (False, "False"), (1, "1"), (3, "3"), (-1, "-1"), (2.0, "2.0"), ("0", "'0'")],
)
def test_conv_type_rules(conv_type: Any, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        MuteOp("alice", conv_type, ["c"], True)
    check_error(info, "conv_type", shown)


def test_conv_type_accepts_the_two_types() -> None:
    assert MuteOp("a", 0, ["c"], True).conv_type is ConvType.PEER
    assert MuteOp("a", 2, ["c"], True).conv_type is ConvType.GROUP
    assert MuteOp("a", ConvType.GROUP, ["c"], True).conv_type is ConvType.GROUP


@pytest.mark.parametrize(
    ("conv_ids", "shown"),
    [
        ("g1", "'g1'"),  # a str is an iterable of characters: refused
        (b"g1", "b'g1'"),
        ([], "[]"),
        ((), "()"),
        (iter(()), "iterator"),
        ([""], "''"),
        (["ok", "c" * 33], "'cccc"),
        (["ok", LONG], "..."),
        (["a\nb"], "'a\\nb'"),
        (["a\x7fb"], "'a\\x7fb'"),
        (["ok", 5], "5"),
        (["ok", None], "None"),
        (5, "5"),
    ],
)
def test_conv_ids_rules(conv_ids: Any, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        MuteOp("alice", ConvType.GROUP, conv_ids, True)
    check_error(info, "conv_ids", shown)


def test_conv_ids_accept_any_iterable_and_drop_duplicates() -> None:
    op = MuteOp("a", ConvType.GROUP, (c for c in ["g2", "g1", "g2", "g3", "g1"]), True)
    assert op.conv_ids == ("g2", "g1", "g3")
    assert MuteOp("a", ConvType.GROUP, ["x" * 32], True).conv_ids == ("x" * 32,)


@pytest.mark.parametrize(
    ("enable", "shown"), [(1, "1"), (0, "0"), ("true", "'true'"), (None, "None")]
)
def test_enable_must_be_a_real_bool(enable: Any, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        MuteOp("alice", ConvType.GROUP, ["g"], enable)
    check_error(info, "enable", shown)


@pytest.mark.anyio
async def test_single_call_validates_and_sends_nothing() -> None:
    api = FakeApi()
    async with open_client(api) as client:
        with pytest.raises(InvalidRequestError, match="conv_ids"):
            await client.silence_conv_notification("alice", 0, [f"c{i}" for i in range(11)], True)
        with pytest.raises(InvalidRequestError, match="enable"):
            await client.silence_conv_notification("alice", 0, ["c"], 1)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="conv_type"):
            await client.mute_conversations("alice", True, ["c"])
        with pytest.raises(InvalidRequestError, match="from_user_id"):
            await client.unmute_conversations("a b*", 0, ["c"])
    assert api.sent == []


@pytest.mark.anyio
async def test_apply_checks_a_whole_list_before_sending_anything() -> None:
    api = FakeApi()
    good = [MuteOp("alice", ConvType.PEER, [f"c{i}" for i in range(30)], True)] * 5
    bad: list[Any] = [*good, ("alice", 0, ["c"], True)]
    async with open_client(api) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.apply(bad)
        with pytest.raises(InvalidRequestError):
            client.stream(bad)
    assert info.value.field == "ops[5]"
    assert "tuple" in str(info.value)
    assert api.sent == []


@pytest.mark.anyio
async def test_apply_with_an_iterator_stops_at_the_first_bad_op() -> None:
    """Started work finishes, nothing after the bad op is pulled, and the error carries
    the report of what was done."""
    api = FakeApi()
    pulled: list[int] = []

    def ops() -> Iterator[MuteOp]:
        for n in range(3):
            pulled.append(n)
            yield MuteOp(f"user{n}", ConvType.GROUP, [f"g{i}" for i in range(15)], True)
        pulled.append(3)
        yield MuteOp("user3", ConvType.GROUP, ["g1", "bad\x00id"], True)
        pulled.append(4)  # never reached
        yield MuteOp("user4", ConvType.GROUP, ["g1"], True)

    async with open_client(api) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.apply(ops())
    assert pulled == [0, 1, 2, 3]
    report = info.value.report
    assert report is not None
    assert report.total == 45
    assert report.counts["succeeded"] == 45
    assert sorted(set(api.ids_sent())) == sorted({f"g{i}" for i in range(15)})
    assert {s.user for s in api.sent} == {"user0", "user1", "user2"}
    assert report.requests == len(api.sent) == 6


@pytest.mark.anyio
async def test_apply_with_an_async_iterator_yielding_a_non_op() -> None:
    api = FakeApi()

    async def ops() -> AsyncIterator[Any]:
        yield MuteOp("alice", ConvType.PEER, ["bob"], True)
        yield {"from_user_id": "alice"}

    async with open_client(api) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.apply(ops())
    assert info.value.field == "ops[1]"
    assert info.value.report is not None
    assert info.value.report.counts["succeeded"] == 1
    assert api.ids_sent() == ["bob"]


@pytest.mark.anyio
async def test_duplicates_are_sent_once_and_counted_once() -> None:
    api = FakeApi()
    ids = [f"c{i % 7}" for i in range(40)]
    async with open_client(api) as client:
        report = await client.mute_conversations("alice", ConvType.PEER, ids)
    assert sorted(api.ids_sent()) == sorted(f"c{i}" for i in range(7))
    assert report.total == 7
    assert report.counts["succeeded"] == 7
    assert len(api.sent) == 1


@pytest.mark.parametrize("app_id", [0, -1, 2**32, True, False, "1", 1.0, None])
def test_client_refuses_a_bad_app_id(app_id: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(app_id, SECRET, rate=None)
    assert info.value.field == "app_id"


def test_client_accepts_the_uint32_range() -> None:
    assert ZimClient(1, SECRET, rate=None).app_id == 1
    assert ZimClient(2**32 - 1, SECRET, rate=None).app_id == 2**32 - 1


@pytest.mark.parametrize("secret", ["", "   ", None, b"secret"])
def test_client_refuses_an_empty_secret(secret: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(APP_ID, secret, rate=None)
    assert info.value.field == "server_secret"


@pytest.mark.parametrize("url", ["http://zim.test", "ftp://zim.test", "zim.test", "https://"])
def test_client_refuses_insecure_or_bad_urls(url: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(APP_ID, SECRET, rate=None, base_url=url)
    assert info.value.field == "base_url"


def test_client_allows_http_only_when_asked() -> None:
    client = ZimClient(
        APP_ID, SECRET, rate=None, base_url="http://127.0.0.1:8080", allow_insecure_http=True
    )
    assert "http://127.0.0.1:8080" in repr(client)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("rate", 0),
        ("rate", -1.0),
        ("rate", float("nan")),
        ("rate", float("inf")),
        ("rate", True),
        ("rate", "20"),
        ("max_in_flight", 0),
        ("max_in_flight", -3),
        ("max_in_flight", 1.5),
        ("max_in_flight", True),
        ("max_attempts", 0),
        ("timeout", 0),
        ("timeout", -1),
    ],
)
def test_client_refuses_bad_options(option: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(APP_ID, SECRET, **{option: value})
    assert info.value.field == option


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIM_APP_ID", "4242")
    monkeypatch.setenv("ZIM_SERVER_SECRET", SECRET)
    monkeypatch.setenv("ZIM_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(InvalidRequestError, match="http"):
        ZimClient.from_env(rate=None)
    monkeypatch.setenv("ZIM_ALLOW_INSECURE_HTTP", "1")
    assert ZimClient.from_env(rate=None).app_id == 4242
    monkeypatch.setenv("ZIM_APP_ID", "not-a-number")
    with pytest.raises(InvalidRequestError, match="ZIM_APP_ID"):
        ZimClient.from_env(rate=None)
    monkeypatch.setenv("ZIM_APP_ID", "4242")
    monkeypatch.delenv("ZIM_SERVER_SECRET")
    with pytest.raises(InvalidRequestError, match="ZIM_SERVER_SECRET"):
        ZimClient.from_env(rate=None)
