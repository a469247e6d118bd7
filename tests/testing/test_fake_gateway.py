"""The public query parameters and the signature, checked like the real gateway."""

from __future__ import annotations

import pytest

from zim_async._signing import signature
from zim_async.testing import DEFAULT_APP_ID, FakeZimServer, ManualClock

from .fake_zim_helpers import CONVS, GROUPS, SILENCE, Caller, caller_for

pytestmark = pytest.mark.anyio

BODY = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["bob"], "Enable": True}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Action": None}, 100000006),
        ({"Action": ""}, 100000006),
        ({"Action": "ConvPinned"}, 100000007),
        ({"AppId": None}, 100000001),
        ({"AppId": "12ab"}, 100000001),
        ({"AppId": "-5"}, 100000001),
        ({"AppId": "99999999999"}, 100000001),
        ({"Timestamp": None}, 100000002),
        ({"Timestamp": "16e9"}, 100000003),
        ({"Timestamp": "1.5"}, 100000003),
        ({"SignatureNonce": None}, 100000008),
        ({"Signature": None}, 100000009),
        ({"SignatureVersion": None}, 100000013),
        ({"SignatureVersion": "1.0"}, 100000014),
        ({"Signature": "0" * 32}, 100000005),
    ],
)
async def test_bad_public_parameter_gets_its_gateway_code(
    caller: Caller, server: FakeZimServer, overrides: dict[str, str | None], code: int
) -> None:
    answer = await caller.call(SILENCE, BODY, params=overrides)
    assert answer["Code"] == code
    assert isinstance(answer["RequestId"], str)
    assert "ErrorList" not in answer
    assert server.muted("alice", 0) == set()  # nothing was applied


async def test_valid_request_passes(caller: Caller) -> None:
    answer = await caller.call(SILENCE, BODY)
    assert answer["Code"] == 0
    assert int(answer["RequestId"]) > 2**53


async def test_unknown_app_id_is_refused_like_a_malformed_one(caller: Caller) -> None:
    answer = await caller.call(SILENCE, BODY, app_id=42, secret="whatever")
    assert answer["Code"] == 100000001


async def test_wrong_secret_is_an_invalid_signature(caller: Caller) -> None:
    answer = await caller.call(SILENCE, BODY, secret="not-the-secret")
    assert answer["Code"] == 100000005


async def test_signature_must_be_lower_case_hex(caller: Caller) -> None:
    params = caller.params(SILENCE)
    answer = await caller.call(SILENCE, BODY, params={"Signature": params["Signature"].upper()})
    assert answer["Code"] == 100000005


@pytest.mark.parametrize(
    ("skew", "code"), [(600, 0), (-600, 0), (601, 100000004), (-601, 100000004)]
)
async def test_timestamp_window_is_ten_minutes(caller: Caller, skew: int, code: int) -> None:
    wall = int(caller.server.wall_clock())
    answer = await caller.call(SILENCE, BODY, timestamp=wall + skew)
    assert answer["Code"] == code


async def test_expiry_uses_the_injected_wall_clock(anyio_backend: str) -> None:
    wall = ManualClock(1_700_000_000.0)
    server = FakeZimServer(wall_clock=wall)
    server.register_users("alice", "bob")
    async with caller_for(server) as caller:
        assert (await caller.call(SILENCE, BODY))["Code"] == 0
        stale = caller.params(SILENCE)
        wall.set(1_700_000_000.0 + 601)
        answer = await caller.call(SILENCE, BODY, params=stale)
    assert answer["Code"] == 100000004


async def test_each_app_has_its_own_secret(anyio_backend: str) -> None:
    server = FakeZimServer(apps={1: "secret-one", 2: "secret-two"})
    server.register_users("alice", "bob")
    async with caller_for(server) as caller:
        assert (
            await caller.call(
                GROUPS, {"FromUserId": "alice", "Limit": 1}, app_id=1, secret="secret-one"
            )
        )["Code"] == 0
        assert (
            await caller.call(
                GROUPS, {"FromUserId": "alice", "Limit": 1}, app_id=2, secret="secret-one"
            )
        )["Code"] == 100000005
        assert (
            await caller.call(GROUPS, {"FromUserId": "alice", "Limit": 1}, app_id=DEFAULT_APP_ID)
        )["Code"] == 100000001


async def test_signature_covers_exactly_appid_nonce_secret_timestamp(caller: Caller) -> None:
    # Any nonce string is accepted when it is the one that was signed.
    stamp = int(caller.server.wall_clock())
    sig = signature(DEFAULT_APP_ID, "nonce-x", "fake-secret-0123456789abcdef", stamp)
    params = {"SignatureNonce": "nonce-x", "Signature": sig, "Timestamp": str(stamp)}
    assert (await caller.call(CONVS, {"FromUserId": "alice"}, params=params))["Code"] == 0
    params["SignatureNonce"] = "nonce-y"  # same signature, other nonce
    assert (await caller.call(CONVS, {"FromUserId": "alice"}, params=params))["Code"] == 100000005


async def test_wrong_path_is_404_and_wrong_method_is_405(caller: Caller) -> None:
    query = caller.params(SILENCE)
    response = await caller.http.post("/v1/", params=query, json=BODY)
    assert response.status_code == 404
    response = await caller.http.get("/", params=query)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert [r.status for r in caller.server.requests] == [404, 405]
    assert caller.server.muted("alice", 0) == set()
