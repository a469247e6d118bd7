"""Behaviours 8 and 9: the secret never leaks; one DEBUG line per attempt."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import APP_ID, BASE_URL, SECRET, FakeApi, Reply, Sent, errors, ok, open_client
from zim_async import ConvType, InvalidRequestError, MuteOp, ZimAuthError, ZimClient


def texts(*objects: object) -> list[str]:
    return [t for o in objects for t in (repr(o), str(o))]


@pytest.mark.anyio
async def test_the_secret_appears_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calls = 0

    def handler(sent: Sent) -> Reply:
        nonlocal calls
        calls += 1
        if sent.user == "stop":
            return ok(Code=100000005, Message="signature invalid")
        if calls % 4 == 1:
            raise httpx.ReadTimeout("slow")
        if calls % 4 == 2:
            return httpx.Response(200, content=b"<html>oops</html>")
        return ok(ErrorList=errors((sent.ids[0], 660600001)))

    api = FakeApi(handler)
    async with open_client(api, max_in_flight=2) as client:
        report = await client.apply(
            [MuteOp(f"u{n}", ConvType.PEER, [f"c{i}" for i in range(25)], True) for n in range(3)]
        )
        stream = client.stream([MuteOp("u9", 0, ["c1"], True)])
        outcomes = [o async for o in stream]
        with pytest.raises(ZimAuthError) as stopped:
            await client.mute_conversations("stop", 0, ["c1", "c2"])
        seen = texts(
            client, client.limiter, report, stream, stream.report, *outcomes, stopped.value
        )
        seen += texts(client._transport, client._exchange)
    assert report.retries > 0
    assert report.failed
    seen += texts(stopped.value.report, report.to_dict(), *report.failed)
    with pytest.raises(InvalidRequestError) as bad:
        ZimClient(0, SECRET)
    seen += texts(bad.value)
    seen += [record.getMessage() for record in caplog.records]
    seen += [str(record.args) for record in caplog.records]
    assert any(r.name == "zim_async" for r in caplog.records)
    leaks = [t for t in seen if SECRET in t]
    assert leaks == []


def test_a_refused_secret_is_not_echoed() -> None:
    with pytest.raises(InvalidRequestError) as info:
        ZimClient(APP_ID, b"the-secret-bytes")  # type: ignore[arg-type]
    assert "the-secret-bytes" not in str(info.value)
    assert "the-secret-bytes" not in repr(info.value)
    assert info.value.value is None or "the-secret" not in info.value.value


def test_tls_verification_stays_on() -> None:
    client = ZimClient(APP_ID, SECRET, rate=None, base_url=BASE_URL)
    transport: Any = client._http._transport  # httpx's default transport
    assert transport._pool._ssl_context.verify_mode.name == "CERT_REQUIRED"


LINE = re.compile(
    r"SilenceConvNotification user='(?P<user>[^']*)' ids=(?P<ids>\d+) attempt=(?P<attempt>\d+)"
    r" code=(?P<code>-?\d+) request_id=(?P<rid>\S+) latency_ms=(?P<lat>\d+\.\d)"
)


@pytest.mark.anyio
async def test_one_debug_line_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zim_async")
    answers = iter([ok(Code=1, RequestId="r1"), ok(Code=0, RequestId="r2")])
    api = FakeApi(lambda sent: next(answers) if sent.user == "alice" else ok(RequestId="r3"))
    async with open_client(api) as client:
        await client.mute_conversations("alice", ConvType.GROUP, ["g1", "g2", "g3"])
        await client.silence_conv_notification("bob", 0, ["c1"], False)
    records = [r for r in caplog.records if r.name == "zim_async"]
    assert len(records) == len(api.sent) == 3
    assert all(r.levelno == logging.DEBUG for r in records)
    fields = [LINE.fullmatch(r.getMessage()) for r in records]
    assert all(fields), [r.getMessage() for r in records]
    parsed = [(m["user"], m["ids"], m["attempt"], m["code"], m["rid"]) for m in fields if m]
    assert parsed == [
        ("alice", "3", "1", "1", "r1"),
        ("alice", "3", "2", "0", "r2"),
        ("bob", "1", "1", "0", "r3"),
    ]


@pytest.mark.anyio
async def test_failed_attempts_are_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zim_async")
    replies: Iterator[Reply] = iter(
        [httpx.Response(503), httpx.Response(200, content=b"nope"), ok()]
    )
    api = FakeApi(lambda sent: next(replies))
    async with open_client(api) as client:
        await client.mute_conversations("alice", ConvType.GROUP, ["g1"])
    messages = [r.getMessage() for r in caplog.records if r.name == "zim_async"]
    assert len(messages) == 3
    assert all("SilenceConvNotification user='alice' ids=1 attempt=" in m for m in messages)
    assert [m.split("attempt=")[1][0] for m in messages] == ["1", "2", "3"]


@pytest.mark.anyio
async def test_nothing_is_logged_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zim_async")
    async with open_client(FakeApi()) as client:
        await client.mute_conversations("alice", ConvType.GROUP, ["g1"])
    assert [r for r in caplog.records if r.name.startswith("zim_async")] == []


@pytest.mark.anyio
async def test_the_library_adds_no_handlers() -> None:
    root_before = list(logging.getLogger().handlers)
    async with open_client(FakeApi()) as client:
        await client.mute_conversations("alice", ConvType.GROUP, ["g1"])
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("zim_async") and isinstance(logger, logging.Logger):
            assert logger.handlers == [], name
    assert logging.getLogger().handlers == root_before
    assert logging.getLogger("zim_async").propagate
