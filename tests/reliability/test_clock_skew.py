"""Clock skew: a client clock 11 minutes off gets 100000004, and the error says so."""

from __future__ import annotations

import time

import httpx
import pytest

from zim_async import ConvType, MuteOp, Status, ZimAuthError, ZimClient
from zim_async._exchange import Exchange
from zim_async._transport import Transport

from .conftest import SecretWatch
from .figures import Figures
from .world import MARKER_APP_ID, MARKER_SECRET, new_server

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

ELEVEN_MINUTES = 11 * 60


def _client(server: object, http: httpx.AsyncClient, skew: float, via: str) -> ZimClient:
    client = ZimClient(
        MARKER_APP_ID, MARKER_SECRET, base_url="https://zim.test", http_client=http, rate=None
    )
    if via == "client clock":
        # The transport signs with its `clock`; give it one that is off by `skew`.
        transport = Transport(
            http,
            base_url="https://zim.test",
            app_id=MARKER_APP_ID,
            server_secret=MARKER_SECRET,
            timeout=10.0,
            clock=lambda: time.time() + skew,
        )
        client._exchange = Exchange(transport)
    return client


@pytest.mark.parametrize("via", ["client clock", "server clock"])
@pytest.mark.parametrize("direction", [-1, 1])
async def test_eleven_minutes_off_stops_with_a_clock_message(
    via: str, direction: int, secret_watch: SecretWatch, figures: Figures
) -> None:
    skew = direction * ELEVEN_MINUTES
    server = new_server(
        qps=None,
        wall_clock=(lambda: time.time() - skew) if via == "server clock" else time.time,
    )
    server.register_users("alice", *(f"p{i}" for i in range(30)))
    peers = [f"p{i}" for i in range(30)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server)) as http:
        client = _client(server, http, skew if via == "client clock" else 0.0, via)
        async with client:
            with pytest.raises(ZimAuthError) as bulk:
                await client.apply([MuteOp("alice", ConvType.PEER, peers, True)])
            with pytest.raises(ZimAuthError) as single:
                await client.silence_conv_notification("alice", ConvType.PEER, ["p1"], True)
            with pytest.raises(ZimAuthError) as call:
                await client.call("QueryConversationList", {"FromUserId": "alice", "Limit": 10})
    codes = [r.code for r in server.requests]
    assert set(codes) == {100000004}
    for error in (bulk.value, single.value):
        assert "clock" in str(error), str(error)
        assert error.code == 100000004
    assert call.value.code == 100000004
    report = bulk.value.report
    assert report is not None
    assert report.total == 30
    # Nothing applied; the refused request's IDs failed with the code, the rest unsent.
    assert server.muted("alice", 0) == set()
    assert {o.status for o in report.failed} <= {Status.FAILED}
    assert all(o.code == 100000004 for o in report.failed)
    assert report.counts["succeeded"] == report.counts["unknown"] == 0
    secret_watch.see(bulk.value, single.value, call.value, report, report.to_dict())
    figures.add(
        "clock skew",
        "client clock 11 minutes off (either way, skewed client or server clock)",
        tried=1,
        unit="runs",
        lost=0,
    )


async def test_nine_minutes_off_is_still_accepted(secret_watch: SecretWatch) -> None:
    server = new_server(qps=None)
    server.register_users("alice", "p1")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=server)) as http,
        _client(server, http, -9 * 60, "client clock") as client,
    ):
        report = await client.mute_conversations("alice", ConvType.PEER, ["p1"])
    assert report.counts["succeeded"] == 1
    assert server.muted("alice", 0) == {"p1"}
