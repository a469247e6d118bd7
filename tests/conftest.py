"""Shared fixtures and a small recording fake of the ZIM endpoint for the core tests.

Async tests run through anyio's pytest plugin on asyncio and on trio; the trio variant
uses a `MockClock` with ``autojump_threshold=0``, so every sleep (backoff, pacing,
timeouts) runs in virtual time. Modules whose tests sleep for real amounts of time
override ``anyio_backend`` with `trio_only`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import trio.testing

from zim_async import ZimClient

APP_ID = 12345
SECRET = "9193cc662a4c0ec135ec71fb57194b38"
BASE_URL = "https://zim.test"

Backend = tuple[str, dict[str, Any]]
#: What a fake handler returns: a JSON-able answer body, or a ready `httpx.Response`.
Reply = dict[str, Any] | httpx.Response
Handler = Callable[["Sent"], Reply | Awaitable[Reply]]


def trio_only() -> Backend:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "trio":
        return trio_only()  # a fresh virtual clock for every test
    return ("asyncio", {})


def ok(**extra: Any) -> dict[str, Any]:
    """A success answer; ``extra`` adds or overrides fields (``Code``, ``ErrorList``...)."""
    return {"Code": 0, "Message": "success", "RequestId": "343649807833778782", **extra}


def errors(*items: tuple[str, int]) -> list[dict[str, Any]]:
    """An ``ErrorList`` of ``(ConvId, SubCode)`` pairs."""
    return [{"ConvId": c, "SubCode": s, "SubMessage": f"sub {s}"} for c, s in items]


class Sent:
    """One request as the fake endpoint saw it."""

    def __init__(self, request: httpx.Request, at: float) -> None:
        self.request = request
        self.at = at  # anyio.current_time() when it arrived
        self.params = dict(request.url.params)
        self.body: dict[str, Any] = json.loads(request.content)

    @property
    def ids(self) -> list[str]:
        ids: list[str] = self.body["ConvIds"]
        return ids

    @property
    def user(self) -> str:
        user: str = self.body["FromUserId"]
        return user


def scripted(*replies: Reply) -> Handler:
    """Answer with ``replies`` in turn, then keep repeating the last one."""
    queue = list(replies)

    def handler(sent: Sent) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


class FakeApi:
    """An `httpx.MockTransport` handler that records requests and answers with ``handler``
    (default: full success)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler if handler is not None else (lambda sent: ok())
        self.sent: list[Sent] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        sent = Sent(request, anyio.current_time())
        self.sent.append(sent)
        reply = self.handler(sent)
        if not isinstance(reply, (dict, httpx.Response)):
            reply = await reply
        return reply if isinstance(reply, httpx.Response) else httpx.Response(200, json=reply)

    def ids_sent(self) -> list[str]:
        return [conv_id for sent in self.sent for conv_id in sent.ids]


@asynccontextmanager
async def open_client(api: FakeApi, **options: Any) -> AsyncIterator[ZimClient]:
    """An open client wired to ``api``; no pacing and a tiny backoff unless overridden."""
    options.setdefault("rate", None)
    options.setdefault("backoff_base", 0.001)
    options.setdefault("backoff_cap", 0.002)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(api)) as http,
        ZimClient(APP_ID, SECRET, base_url=BASE_URL, http_client=http, **options) as client,
    ):
        yield client
