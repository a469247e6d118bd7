"""Fixtures of the command-line tests.

The library tests (journal, plans, progress) run in process on asyncio and on trio,
with the trio run on a virtual clock. The command-line tests run ``zim-async`` as a
real subprocess against the simulator served over real sockets, so they need a real
clock; they run on asyncio only: the backend of the test process changes nothing in
the subprocess under test, and each extra run would add seconds of real time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import attrs
import httpx
import pytest
import trio.testing

from zim_async import ZimClient
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer

Backend = tuple[str, dict[str, Any]]
FAKE_URL = "https://fake-zim.test"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "trio":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return ("asyncio", {})


@pytest.fixture
def server() -> FakeZimServer:
    """An unpaced simulator (the client's own pacing is tested elsewhere)."""
    return FakeZimServer(qps=None)


@pytest.fixture
async def client(server: FakeZimServer, anyio_backend: Backend) -> AsyncIterator[ZimClient]:
    """An open client wired to ``server`` in process, unpaced."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url=FAKE_URL)
    async with (
        http,
        ZimClient(
            DEFAULT_APP_ID,
            DEFAULT_SERVER_SECRET,
            base_url=FAKE_URL,
            http_client=http,
            rate=None,
            backoff_base=0.001,
            backoff_cap=0.002,
        ) as zim,
    ):
        yield zim


@attrs.frozen
class Result:
    rc: int
    stdout: str
    stderr: str


def cli_env(url: str, **extra: str) -> dict[str, str]:
    """The subprocess environment: the fake app's credentials, nothing inherited of ZIM_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIM_")}
    env.update(
        ZIM_APP_ID=str(DEFAULT_APP_ID),
        ZIM_SERVER_SECRET=DEFAULT_SERVER_SECRET,
        ZIM_BASE_URL=url,
        ZIM_ALLOW_INSECURE_HTTP="1",
        COLUMNS="120",
    )
    env.update(extra)
    return env


async def run_cli(
    *args: str, env: Mapping[str, str], stdin: bytes | None = None, limit_s: float = 60
) -> Result:
    """Run ``python -m zim_async.cli ARGS`` to the end."""
    with anyio.fail_after(limit_s):
        done = await anyio.run_process(
            [sys.executable, "-m", "zim_async.cli", *args], input=stdin, env=env, check=False
        )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())
