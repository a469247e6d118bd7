"""The pytest plugin's server fixture, and properties of the rate window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer
from zim_async.testing._gateway import RateWindows

from .fake_zim_helpers import CONVS, caller_for


@pytest.mark.anyio
async def test_fixture_gives_a_fresh_default_server(
    zim_fake_server: FakeZimServer, anyio_backend: str
) -> None:
    assert dict(zim_fake_server.apps) == {DEFAULT_APP_ID: DEFAULT_SERVER_SECRET}
    assert zim_fake_server.requests == []  # fresh for each test (and each backend)
    zim_fake_server.register_users("alice")
    async with caller_for(zim_fake_server) as caller:
        codes = [(await caller.call(CONVS, {"FromUserId": "alice"}))["Code"] for _ in range(21)]
    assert codes == [0] * 20 + [660300005]  # the documented default: 20 per second


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.3), min_size=1, max_size=120),
    qps=st.integers(min_value=1, max_value=25),
)
def test_window_admits_exactly_what_fits(gaps: list[float], qps: int) -> None:
    windows = RateWindows(qps)
    now = 0.0
    admitted: list[float] = []
    for gap in gaps:
        now += gap
        in_window = [t for t in admitted if t > now - 1.0]
        fits = len(in_window) < qps
        assert windows.admit((1, CONVS), now) is fits
        if fits:
            admitted.append(now)
    # Nothing admitted ever exceeds qps in any one-second window.
    for t in admitted:
        assert len([u for u in admitted if t - 1.0 < u <= t]) <= qps
