"""Behaviour 1: signing and the shape of a request on the wire."""

from __future__ import annotations

import hashlib
import json
import re
import time

import httpx
import pytest
import respx

from tests.conftest import APP_ID, BASE_URL, SECRET, FakeApi, ok, open_client, scripted
from zim_async import ConvType, LimitKey, ZimClient
from zim_async._signing import make_nonce, public_params, signature

PUBLIC = {"Action", "AppId", "SignatureNonce", "Timestamp", "SignatureVersion", "Signature"}


def verifies(params: dict[str, str]) -> bool:
    text = f"{params['AppId']}{params['SignatureNonce']}{SECRET}{params['Timestamp']}"
    return params["Signature"] == hashlib.md5(text.encode()).hexdigest()


def test_documented_test_vector() -> None:
    assert (
        signature(12345, "4fd24687296dd9f3", "9193cc662a4c0ec135ec71fb57194b38", 1615186943)
        == "43e5cfcca828314675f91b001390566a"
    )


def test_nonce_is_16_hex_chars_and_random() -> None:
    nonces = {make_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[0-9a-f]{16}", n) for n in nonces)


def test_public_params() -> None:
    params = public_params("SilenceConvNotification", 12345, SECRET, timestamp=7, nonce="ab" * 8)
    assert params == {
        "Action": "SilenceConvNotification",
        "AppId": "12345",
        "SignatureNonce": "ab" * 8,
        "Timestamp": "7",
        "SignatureVersion": "2.0",
        "Signature": signature(12345, "ab" * 8, SECRET, 7),
    }


@pytest.mark.anyio
async def test_wire_shape_with_respx() -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{BASE_URL}/").mock(return_value=httpx.Response(200, json=ok()))
        async with (
            httpx.AsyncClient() as http,
            ZimClient(APP_ID, SECRET, base_url=BASE_URL, rate=None, http_client=http) as client,
        ):
            before = int(time.time())
            answer = await client.silence_conv_notification(
                "alice", ConvType.GROUP, ["g1", "g2"], True
            )
            after = int(time.time())
    assert answer.ok
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.scheme == "https"
    assert request.url.host == "zim.test"
    assert request.url.path == "/"
    params = dict(request.url.params)
    assert set(params) == PUBLIC
    assert params["Action"] == "SilenceConvNotification"
    assert params["AppId"] == str(APP_ID)
    assert re.fullmatch(r"[0-9a-f]{16}", params["SignatureNonce"])
    assert before <= int(params["Timestamp"]) <= after
    assert params["SignatureVersion"] == "2.0"
    assert verifies(params)
    assert request.headers["Content-Type"] == "application/json"
    assert SECRET not in str(request.url)
    assert SECRET.encode() not in request.content
    assert json.loads(request.content) == {
        "FromUserId": "alice",
        "ConvType": 2,
        "ConvIds": ["g1", "g2"],
        "Enable": True,
    }


@pytest.mark.anyio
async def test_body_of_an_unmute_of_peers() -> None:
    api = FakeApi()
    async with open_client(api) as client:
        await client.unmute_conversations("bob", ConvType.PEER, ["carol"])
    (sent,) = api.sent
    assert sent.body == {"FromUserId": "bob", "ConvType": 0, "ConvIds": ["carol"], "Enable": False}
    assert type(sent.body["ConvType"]) is int
    assert type(sent.body["Enable"]) is bool


@pytest.mark.anyio
async def test_every_attempt_is_signed_afresh() -> None:
    """Retries (transport error, busy code, 5xx, expired signature) each get a new nonce
    and the current time, and each signature verifies."""
    api = FakeApi(scripted(httpx.Response(503), ok(Code=1), ok(Code=100000004), ok()))
    clock = [1_700_000_000.0]

    def now() -> float:
        clock[0] += 1.0
        return clock[0]

    async with open_client(api, max_attempts=5) as client:
        client._transport._clock = now  # the wall-clock seam
        report = await client.mute_conversations("alice", ConvType.PEER, ["bob"])
    assert report.counts["succeeded"] == 1
    assert len(api.sent) == 4
    nonces = [s.params["SignatureNonce"] for s in api.sent]
    stamps = [int(s.params["Timestamp"]) for s in api.sent]
    assert len(set(nonces)) == 4
    assert stamps == sorted(set(stamps))
    assert all(verifies(s.params) for s in api.sent)


class ClockAdvancingLimiter:
    """A limiter whose every wait lasts 15 minutes of wall-clock time."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.after_wait: list[int] = []

    async def acquire(self, key: LimitKey) -> None:
        self.clock[0] += 900.0
        self.after_wait.append(int(self.clock[0]))

    async def report_rate_limited(self, key: LimitKey) -> None:
        return None


@pytest.mark.anyio
async def test_signed_after_the_limiter_wait() -> None:
    """A request that waited in the limiter is signed with the time after the wait (a
    timestamp taken before would be 15 minutes stale, past the server's 10)."""
    clock = [1_700_000_000.0]
    limiter = ClockAdvancingLimiter(clock)
    api = FakeApi(scripted(ok(Code=1), ok()))
    async with open_client(api, limiter=limiter) as client:
        client._transport._clock = lambda: clock[0]
        await client.mute_conversations("alice", ConvType.PEER, ["bob"])
        await client.silence_conv_notification("alice", ConvType.PEER, ["bob"], False)
    stamps = [int(s.params["Timestamp"]) for s in api.sent]
    assert stamps == limiter.after_wait
    assert len(stamps) == 3
