"""Helpers for the simulator's tests: signed requests over plain httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from zim_async._signing import public_params
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer

SILENCE = "SilenceConvNotification"
GROUPS = "QueryGroupsInfoOfUser"
CONVS = "QueryConversationList"
NONCE = "0123456789abcdef"


class Caller:
    """Sends signed POSTs to a simulator; every part of a request can be overridden."""

    def __init__(self, server: FakeZimServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http

    def params(
        self,
        action: str,
        *,
        app_id: int = DEFAULT_APP_ID,
        secret: str = DEFAULT_SERVER_SECRET,
        timestamp: int | None = None,
        nonce: str = NONCE,
    ) -> dict[str, str]:
        stamp = int(self.server.wall_clock()) if timestamp is None else timestamp
        return public_params(action, app_id, secret, timestamp=stamp, nonce=nonce)

    async def post(
        self,
        action: str,
        body: object = None,
        *,
        params: Mapping[str, str | None] | None = None,
        content: bytes | None = None,
        **sign: Any,
    ) -> httpx.Response:
        """POST ``body`` as JSON; ``params`` overrides query values (``None`` drops one)."""
        query: dict[str, str] = self.params(action, **sign)
        for name, value in (params or {}).items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        if content is not None:
            return await self.http.post("/", params=query, content=content)
        return await self.http.post("/", params=query, json=body)

    async def call(self, action: str, body: object = None, **kwargs: Any) -> dict[str, Any]:
        """POST and return the JSON answer (asserting HTTP 200)."""
        response = await self.post(action, body, **kwargs)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def silence(
        self, user: str, conv_type: int, conv_ids: list[str], enable: bool = True
    ) -> dict[str, Any]:
        body = {"FromUserId": user, "ConvType": conv_type, "ConvIds": conv_ids, "Enable": enable}
        return await self.call(SILENCE, body)


@asynccontextmanager
async def caller_for(
    server: FakeZimServer, base_url: str = "https://fake-zim.test"
) -> AsyncIterator[Caller]:
    """A `Caller` talking to ``server`` in process."""
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield Caller(server, http)
