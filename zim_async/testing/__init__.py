"""A faithful local simulator of the ZIM server API, for testing code that uses zim_async.

`FakeZimServer` is a plain ASGI app: use it in process through
``httpx.ASGITransport`` or over sockets with `serve_fake`. The pytest fixtures live in
``zim_async.testing.pytest_plugin``. See ``docs/testing.md``.
"""

from __future__ import annotations

from ._clock import ManualClock
from ._faults import FaultKind, FaultPlan, SimulatedDrop
from ._log import RequestRecord
from ._serve import serve_fake
from ._server import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer
from ._state import Conversation, FakeState, GroupInfo

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_SERVER_SECRET",
    "Conversation",
    "FakeState",
    "FakeZimServer",
    "FaultKind",
    "FaultPlan",
    "GroupInfo",
    "ManualClock",
    "RequestRecord",
    "SimulatedDrop",
    "serve_fake",
]
