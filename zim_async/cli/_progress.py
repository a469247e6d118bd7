"""The progress bar on stderr (rich): decided/total, requests/s, ETA, failures so far.

`ProgressBar` is the `Progress` callback given to ``stream``: it only records numbers;
rich redraws from its own thread, so the runner's outcome path never waits on the
terminal.
"""

from __future__ import annotations

import time
from types import TracebackType

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["ProgressBar", "RequestCounter"]


class RequestCounter:
    """Counts HTTP requests through an httpx event hook (every action, every attempt)."""

    def __init__(self) -> None:
        self.count = 0
        self.started = time.monotonic()

    async def __call__(self, request: httpx.Request) -> None:
        self.count += 1

    def per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.count / elapsed if elapsed > 0 else 0.0


class _RequestsColumn(ProgressColumn):
    def __init__(self, counter: RequestCounter) -> None:
        super().__init__()
        self._counter = counter

    def render(self, task: Task) -> Text:
        return Text(f"{self._counter.per_second():5.1f} req/s", style="cyan")


class ProgressBar:
    """A rich progress bar; call it with (decided, total or None, failed)."""

    def __init__(
        self, console: Console, counter: RequestCounter, total: int | None, label: str
    ) -> None:
        self._total = total
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("conversations"),
            _RequestsColumn(counter),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=8,
        )
        self._task = self._progress.add_task(label, total=total, failed=0)

    def __call__(self, decided: int, total: int | None, failed: int) -> None:
        self._progress.update(
            self._task, completed=decided, total=total or self._total, failed=failed
        )

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
