"""Fixtures of the reliability campaign: backends, the secret watch and the figures.

Every test here runs with DEBUG logging on and the marker app's secret in use; the
`SecretWatch` fails the test if the marker shows up in any log line or in any object
or text the test hands it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import trio.testing

from .figures import Figures
from .world import MARKER_SECRET


def _virtual() -> tuple[str, dict[str, Any]]:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """asyncio on its real clock, trio on a virtual one (sleeps cost nothing)."""
    return _virtual() if request.param == "trio" else ("asyncio", {})


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(f"{record.name}: {text}")


class SecretWatch:
    """Collects every text a test produced; `check` fails if the marker is in any."""

    def __init__(self, handler: _Keep) -> None:
        self._handler = handler
        self.texts: list[str] = []

    def see(self, *objects: object) -> None:
        for obj in objects:
            if isinstance(obj, (str, bytes)):
                self.texts.append(obj if isinstance(obj, str) else obj.decode("utf-8", "replace"))
            else:
                self.texts += [repr(obj), str(obj)]
            if isinstance(obj, BaseException):
                self.texts.append("".join(traceback.format_exception(obj)))

    @property
    def log_lines(self) -> list[str]:
        return self._handler.lines

    def check(self) -> None:
        leaks = [t[:200] for t in (*self.texts, *self._handler.lines) if MARKER_SECRET in t]
        assert leaks == [], f"the marker secret leaked {len(leaks)} times"


@pytest.fixture(autouse=True)
def secret_watch() -> Iterator[SecretWatch]:
    """DEBUG logging on every logger for the test; the marker must appear nowhere."""
    handler = _Keep()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    watch = SecretWatch(handler)
    try:
        yield watch
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    watch.check()


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    """The campaign's figures; written to ``$ZIM_SOAK_REPORT`` at the end of the session."""
    yield _FIGURES
    _FIGURES.write()
