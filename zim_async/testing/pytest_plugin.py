"""pytest fixtures for testing code that uses zim_async against the simulator.

Enabled by the ``pytest11`` entry point of the package, or explicitly with
``pytest_plugins = ["zim_async.testing.pytest_plugin"]`` in a root ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from zim_async import ZimClient

from ._server import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer

__all__ = ["FAKE_BASE_URL", "zim_client", "zim_fake_server"]

#: The base URL the in-process client uses; nothing resolves or connects to it.
FAKE_BASE_URL = "https://fake-zim.test"


@pytest.fixture
def zim_fake_server() -> FakeZimServer:
    """A fresh simulator with the default fake app, default limits and no faults."""
    return FakeZimServer()


@pytest.fixture
async def zim_client(
    zim_fake_server: FakeZimServer, anyio_backend: object
) -> AsyncIterator[ZimClient]:
    """An open ``ZimClient`` wired to ``zim_fake_server`` in process (no sockets).

    Run by anyio's pytest plugin: use it from tests marked ``@pytest.mark.anyio``.
    """
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=zim_fake_server), base_url=FAKE_BASE_URL
    )
    # The client does not close an http_client it was given; the outer `with` does.
    async with (
        http,
        ZimClient(
            DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, base_url=FAKE_BASE_URL, http_client=http
        ) as client,
    ):
        yield client
