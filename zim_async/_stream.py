"""`OutcomeStream`: the async iterator `ZimClient.stream` returns."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._model import ConvOutcome
from ._ops import MuteOp
from ._report import MuteReport, ReportBuilder

if TYPE_CHECKING:
    from ._runner import BulkRunner

__all__ = ["OutcomeStream"]


class OutcomeStream:
    """Per-conversation outcomes of a running bulk job, in the order they are decided.

    Use it as an async iterator, ideally inside ``async with`` so that leaving early
    stops the job (``aclose()`` does the same); errors of the run (`ZimAuthError`,
    `InvalidRequestError`) are raised by the iteration once the outcomes before them
    have been delivered.
    """

    __slots__ = (
        "_builder",
        "_done",
        "_error",
        "_final",
        "_receive",
        "_running",
        "_scope",
        "_started",
    )

    def __init__(self, builder: ReportBuilder, receive: MemoryObjectReceiveStream[Any]) -> None:
        self._builder = builder
        self._receive = receive
        self._scope = anyio.CancelScope()
        self._error: BaseException | None = None
        self._final: MuteReport | None = None
        self._started = anyio.current_time()
        self._running = False
        self._done = anyio.Event()  # set once the job has settled its report

    @classmethod
    def _start(
        cls,
        tg: anyio.abc.TaskGroup,
        runner: BulkRunner,
        ops: Iterable[MuteOp] | AsyncIterable[MuteOp],
        builder: ReportBuilder,
        send: MemoryObjectSendStream[Any],
        receive: MemoryObjectReceiveStream[Any],
    ) -> OutcomeStream:
        stream = cls(builder, receive)
        tg.start_soon(stream._run, runner, ops, send)
        return stream

    async def _run(
        self,
        runner: BulkRunner,
        ops: Iterable[MuteOp] | AsyncIterable[MuteOp],
        send: MemoryObjectSendStream[Any],
    ) -> None:
        self._running = True
        try:
            async with send:
                with self._scope:
                    try:
                        self._final = await runner.run(ops)
                    except (
                        Exception
                    ) as exc:  # delivered to the consumer, not to the client's task group
                        self._error = exc
        finally:
            self._done.set()

    @property
    def report(self) -> MuteReport:
        """The running report; final once the iteration has ended."""
        if self._final is not None:
            return self._final
        return self._builder.build(anyio.current_time() - self._started)

    def __aiter__(self) -> OutcomeStream:
        return self

    async def __anext__(self) -> ConvOutcome:
        try:
            outcome: ConvOutcome = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            # Exhausted: release the stream now. A plain ``async for`` never calls aclose(),
            # and anyio warns (ResourceWarning) about a stream left to the garbage collector.
            self._receive.close()
            if self._error is not None:
                error, self._error = self._error, None
                raise error from None
            raise StopAsyncIteration from None
        return outcome

    async def aclose(self) -> None:
        """Stop the job; what was not decided is reported unknown or not attempted.

        Returns once the job has settled, so that ``report`` then counts every conversation.
        """
        self._scope.cancel()
        self._receive.close()
        if self._running:
            # Shielded: leaving early under a cancelled scope must still give the full
            # report. The settling is quick: the job's waits are all cancelled.
            with anyio.CancelScope(shield=True):
                await self._done.wait()

    async def __aenter__(self) -> OutcomeStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<OutcomeStream {self.report!r}>"
