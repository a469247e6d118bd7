"""End-to-end tests: the real client against the simulator over real sockets.

These run on real clocks (a virtual clock would jump past socket waits), on both
backends.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return (request.param, {})
