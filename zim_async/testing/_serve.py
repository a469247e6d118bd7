"""Serving the simulator over real sockets with uvicorn, in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

from ._faults import SimulatedDrop
from ._server import FakeZimServer

__all__ = ["serve_fake"]

_STARTUP_TIMEOUT = 10.0


class _HideDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for each simulated connection drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


class _Thread:
    """uvicorn on its own asyncio loop in a daemon thread.

    A thread works under any async backend of the caller (uvicorn itself needs asyncio)
    and keeps a blocked test loop from stalling the server. `FakeZimServer` guards its
    state with locks, so the test may seed and inspect it while it serves.
    """

    def __init__(self, app: FakeZimServer, host: str, port: int) -> None:
        import uvicorn  # a test extra: only needed when serving over sockets

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,  # leave the process's logging configuration alone
            access_log=False,
            timeout_graceful_shutdown=1,  # `late` answers must not hold up shutdown
        )
        self.server: Any = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="zim-fake-server", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # uvicorn exits with SystemExit when it cannot bind
            self.error = exc

    def start(self) -> int:
        """Start serving and return the bound port."""
        self.thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake ZIM server did not start: {self.error!r}")
            time.sleep(0.005)
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=_STARTUP_TIMEOUT)


@contextlib.asynccontextmanager
async def serve_fake(
    server: FakeZimServer | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> AsyncIterator[str]:
    """Serve ``server`` (or a new ``FakeZimServer(**options)``) over HTTP; yield its URL.

    ``port=0`` picks a free port. Works under asyncio and trio: uvicorn runs in a
    background thread with its own asyncio loop. Pass your own ``server`` to seed and
    inspect it. The URL is ``http://``, so a client must allow insecure HTTP.
    """
    if server is None:
        server = FakeZimServer(**options)
    elif options:
        raise TypeError("pass either a server or FakeZimServer options, not both")
    runner = _Thread(server, host, port)
    hide = _HideDrops()
    logging.getLogger("uvicorn.error").addFilter(hide)
    try:
        bound = await anyio.to_thread.run_sync(runner.start)
        try:
            yield f"http://{f'[{host}]' if ':' in host else host}:{bound}"
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(runner.stop)
    finally:
        logging.getLogger("uvicorn.error").removeFilter(hide)
