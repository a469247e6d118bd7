"""Where decided outcomes go: the report (always), the progress callback, the journal
and the stream's reader. One place, so that the runner only says "these are decided"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

from ._exchange import logger
from ._model import ConvOutcome
from ._report import ReportBuilder
from .journal import JournalError, SqliteJournal

__all__ = ["PROGRESS_INTERVAL", "Progress", "Sink", "Sinks"]

Sink = Callable[[ConvOutcome], Awaitable[None]]
#: ``progress(decided, total, failed)``: conversations decided so far, the plan's total
#: when known (else ``None``) and failures so far. Called from the outcome path at most
#: every `PROGRESS_INTERVAL` seconds and once at the end; it must return quickly.
Progress = Callable[[int, int | None, int], None]
PROGRESS_INTERVAL = 0.1


class Sinks:
    """The outcome sinks of one run."""

    __slots__ = (
        "_last_tick",
        "_progress",
        "_stream",
        "_total",
        "journal",
        "journal_failed",
        "report",
    )

    def __init__(
        self,
        report: ReportBuilder,
        *,
        stream: Sink | None = None,
        journal: SqliteJournal | None = None,
        progress: Progress | None = None,
        total: int | None = None,
    ) -> None:
        self.report = report
        self.journal = journal
        self.journal_failed = False
        self._stream = stream
        self._progress = progress
        self._total = total
        self._last_tick = -float("inf")

    def count(self, outcomes: Sequence[ConvOutcome]) -> None:
        """Count ``outcomes`` in the report. Synchronous, so the runner can do it in the
        same step as it forgets the IDs: a cancellation cannot come in between."""
        for outcome in outcomes:
            self.report.add(outcome)
        self.tick()

    async def deliver(
        self, outcomes: Sequence[ConvOutcome], *, record: bool = True
    ) -> JournalError | None:
        """Journal (when ``record``) and stream counted ``outcomes``; shielded, so an
        outcome in the report also reaches the journal and the reader. Returns the
        journal's error, after which nothing more is journaled (the run must stop)."""
        if not outcomes:
            return None
        error = None
        with anyio.CancelScope(shield=True):
            if record and self.journal is not None and not self.journal_failed:
                try:
                    await self.journal.record(outcomes)
                except JournalError as exc:
                    self.journal_failed = True
                    error = exc
            stream = self._stream
            if stream is not None:
                try:
                    for outcome in outcomes:
                        await stream(outcome)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    # The reader is gone (it closed early); the report still gets every
                    # outcome, so keep deciding without it.
                    self._stream = None
        return error

    def tick(self, *, final: bool = False) -> None:
        """Call the progress callback, at most every `PROGRESS_INTERVAL` unless ``final``."""
        if self._progress is None:
            return
        now = anyio.current_time()
        if not final and now - self._last_tick < PROGRESS_INTERVAL:
            return
        self._last_tick = now
        try:
            self._progress(self.report.decided, self._total, self.report.failed)
        except Exception:
            logger.exception("the progress callback failed; it will not be called again")
            self._progress = None
