"""Fixtures for the simulator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from zim_async.testing import FakeZimServer, ManualClock
from zim_async.testing.pytest_plugin import zim_fake_server

from .fake_zim_helpers import Caller, caller_for

__all__ = ["zim_fake_server"]  # re-exported so the plugin's fixture is tested as shipped


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def wall() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def server(clock: ManualClock, wall: ManualClock) -> FakeZimServer:
    """A server whose clocks only move when the test advances them."""
    fake = FakeZimServer(clock=clock, wall_clock=wall)
    fake.register_users("alice", "bob", "carol", "dave")
    fake.create_group("g1", ["alice", "bob"], name="Group one", avatar="https://a.test/1.png")
    fake.create_group("g2", ["bob"])
    return fake


@pytest.fixture
async def caller(server: FakeZimServer, anyio_backend: str) -> AsyncIterator[Caller]:
    async with caller_for(server) as made:
        yield made
