"""The bulk runner: ops in, one outcome per conversation out.

    ops -> producer (check, chunk) -> [work stream] -> max_in_flight workers
        workers: limiter -> exchange -> classify -> outcomes | retry (after backoff) | split
    every outcome -> sinks: report (always), progress, journal, stream (see _sinks.py)

Memory is bounded: the producer pulls ops only while fewer than ``max_pending`` batches
are alive, so a million IDs never become a hundred thousand tasks or pending requests.
Every batch the producer creates stays in ``_live`` until each of its IDs has been
decided; when the run stops early, whatever is still alive is reported `unknown` (it
may have reached the server) or `not_attempted`. Nothing is lost.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from contextlib import aclosing

import anyio
import attrs

from ._backoff import retry_delay
from ._chunking import Batch, chunk_op, split_batch
from ._classify import classify_answer
from ._codes import MUTE_LIST_FULL, SIGNATURE_EXPIRED, USER_NOT_REGISTERED, describe_code
from ._errors import (
    InvalidRequestError,
    ZimAuthError,
    ZimError,
    ZimProtocolError,
    ZimTransportError,
)
from ._exchange import SILENCE_ACTION, Exchange
from ._intake import Ops, check_op, check_ops, pull
from ._limiter import Limiter, LimitKey
from ._model import ConvOutcome, Status
from ._ops import MuteOp
from ._report import MuteReport
from ._sinks import Sinks

__all__ = ["BulkRunner", "RunOptions"]

# Rate-limit answers are not the request's fault, so they do not use attempts up; past
# this many for one batch they do, so that a server that never stops refusing ends the run.
_FREE_RATE_LIMITED = 20


@attrs.frozen(kw_only=True)
class RunOptions:
    max_in_flight: int
    max_attempts: int
    backoff_base: float
    backoff_cap: float

    @property
    def max_pending(self) -> int:
        # Enough queued work to keep every worker busy while others sleep in backoff.
        return self.max_in_flight * 4


class _Work:
    """One batch on its way; its IDs shrink as they are decided."""

    __slots__ = (
        "attempts",
        "batch",
        "holds_token",
        "in_flight",
        "maybe_applied",
        "rate_limited",
        "resigned",
        "sends",
    )

    def __init__(self, batch: Batch, *, holds_token: bool) -> None:
        self.batch = batch
        self.attempts = 0  # attempts that count against max_attempts
        self.sends = 0
        self.rate_limited = 0
        self.holds_token = holds_token
        self.in_flight = False
        self.maybe_applied = False
        self.resigned = False


class BulkRunner:
    """Runs one bulk job. Create one per run; not reusable."""

    def __init__(
        self,
        *,
        app_id: int,
        exchange: Exchange,
        limiter: Limiter,
        options: RunOptions,
        rng: random.Random,
        sinks: Sinks,
    ) -> None:
        self._key = LimitKey(app_id, SILENCE_ACTION)
        self._journal = sinks.journal
        self._journal_owned = False  # opened by this run, so closed by it
        self._pulled_all = False
        self._exchange = exchange
        self._limiter = limiter
        self._options = options
        self._rng = rng
        self._sinks = sinks
        self._report = sinks.report
        self._live: set[_Work] = set()
        self._producing = True
        self._send, self._receive = anyio.create_memory_object_stream[_Work](options.max_in_flight)
        self._tokens = anyio.Semaphore(options.max_pending)
        self._tg: anyio.abc.TaskGroup | None = None
        self._stop: ZimError | None = None
        self._input_error: BaseException | None = None
        self._rest: Iterable[object] = ()
        self._unsent: Iterable[Batch] = ()  # batches of the op being chunked, not yet sent
        self._dead_users: set[str] = set()
        self._full_lists: set[tuple[str, int]] = set()
        # Batches waiting for a limiter slot, so that a short-circuit can call them off
        # before they take one (a cancelled acquire consumes nothing).
        self._waiting: dict[anyio.CancelScope, Batch] = {}

    async def run(self, ops: Ops) -> MuteReport:
        """Run to the end; raise `ZimAuthError` / `InvalidRequestError` with the report."""
        started = anyio.current_time()
        if isinstance(ops, Sequence):
            try:
                check_ops(ops)
            except InvalidRequestError:
                # Refused before anything started: close the work stream now, or anyio
                # reports it (ResourceWarning) when the garbage collector finds it open.
                self._send.close()
                self._receive.close()
                raise
        if self._journal is not None:
            self._journal_owned = not self._journal.is_open
            try:
                await self._journal.open()  # checks the plan fingerprint
            except BaseException:
                self._send.close()
                self._receive.close()
                raise
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._produce, ops)
                for _ in range(self._options.max_in_flight):
                    tg.start_soon(self._worker, self._receive.clone())
                self._receive.close()
        finally:
            with anyio.CancelScope(shield=True):
                await self._settle_leftovers()
                await self._end_hooks()
        report = self._report.build(anyio.current_time() - started)
        error = self._stop or self._input_error
        if isinstance(error, ZimError):
            error.report = report
            raise error
        if error is not None:
            raise error
        return report

    # -- producer ---------------------------------------------------------------------

    async def _produce(self, ops: Ops) -> None:
        if isinstance(ops, Sequence):
            self._rest = iter(ops)
            ops = self._rest
        index = 0
        try:
            # Closed as soon as we stop pulling (bad op, stop, cancellation): an abandoned
            # async generator is finalised by the garbage collector, which trio reports as
            # a ResourceWarning and asyncio may do outside the event loop.
            async with aclosing(pull(ops)) as pulled:
                async for op in pulled:
                    checked = check_op(op, index)
                    index += 1
                    self._unsent = chunk_op(checked)
                    if self._journal is not None:
                        self._unsent = await self._skip_journaled(checked, index - 1)
                    for batch in self._unsent:
                        # Alive before the first await, so that a cancellation cannot lose it.
                        work = _Work(batch, holds_token=False)
                        self._live.add(work)
                        await self._tokens.acquire()
                        work.holds_token = True
                        await self._send.send(work)
            self._pulled_all = True
        except Exception as exc:  # a bad op or a failing user iterator: stop pulling
            self._input_error = exc
        finally:
            self._producing = False
            self._close_if_done()

    # -- workers ----------------------------------------------------------------------

    async def _worker(self, receive: anyio.abc.ObjectReceiveStream[_Work]) -> None:
        async with receive:
            async for work in receive:
                await self._process(work)

    async def _process(self, work: _Work) -> None:
        batch = work.batch
        # A doomed batch must not take a slot: checked before the wait, and a refusal
        # that comes back during the wait calls the wait off (see _process's verdicts).
        if await self._blocked(work):
            return
        with anyio.CancelScope() as waiting:
            self._waiting[waiting] = batch
            try:
                await self._limiter.acquire(self._key)
            except ZimError as exc:
                # The limiter itself failed (e.g. its Redis is down under the "fail"
                # policy): nothing can be paced, so stop the run with its report.
                self._stop_run(exc)
                return
            finally:
                del self._waiting[waiting]
        if waiting.cancelled_caught:
            await self._blocked(work)
            return
        if work.sends:
            self._report.retries += 1
        work.sends += 1
        work.attempts += 1
        work.in_flight = True
        self._report.requests += 1
        try:
            answer = await self._exchange.silence(batch, work.attempts)
        except ZimAuthError as exc:
            work.in_flight = False
            await self._decide(work, batch.conv_ids, Status.FAILED, exc.code, exc.message)
            self._stop_run(exc)
            return
        except (ZimTransportError, ZimProtocolError) as exc:
            work.in_flight = False
            work.maybe_applied |= exc.maybe_applied
            await self._retry_or_give_up(work, exc.code, exc.message)
            return
        work.in_flight = False
        verdict = classify_answer(batch, answer)
        if verdict.user_not_registered:
            self._dead_users.add(batch.from_user_id)
        if verdict.mute_list_full:
            self._full_lists.add((batch.from_user_id, int(batch.conv_type)))
        if verdict.user_not_registered or verdict.mute_list_full:
            for scope, queued in list(self._waiting.items()):
                if self._short_circuit(queued) is not None:
                    scope.cancel()
        if verdict.split:
            await self._split(work)
            return
        await self._emit(work, verdict.decided, verdict.retry)
        if verdict.stop is not None:
            self._stop_run(
                ZimAuthError(
                    f"the server refused our credentials or configuration: code {verdict.stop}"
                    f" ({describe_code(verdict.stop)})",
                    code=verdict.stop,
                    request_id=answer.request_id,
                )
            )
            await self._give_up(work, Status.NOT_ATTEMPTED, None, "the run stopped")
            return
        if not verdict.retry:
            self._finish(work)
        elif verdict.rate_limited:
            # Not the request's fault: no attempt used; the shared gate sets the pace.
            self._report.rate_limited += 1
            work.rate_limited += 1
            if work.rate_limited <= _FREE_RATE_LIMITED:
                work.attempts -= 1
            elif work.attempts >= self._options.max_attempts:
                await self._retry_or_give_up(work, verdict.retry_code, verdict.retry_message)
                return
            await self._limiter.report_rate_limited(self._key)
            self._requeue(work, 0.0)
        elif verdict.resign and not work.resigned:
            work.resigned = True
            work.attempts -= 1
            self._requeue(work, 0.0)
        elif verdict.resign:
            error = ZimAuthError(
                f"the server says our timestamps are expired (code {SIGNATURE_EXPIRED}) twice"
                " in a row: the local clock is off by more than 10 minutes; fix the clock (NTP)",
                code=SIGNATURE_EXPIRED,
                request_id=answer.request_id,
            )
            await self._give_up(work, Status.FAILED, SIGNATURE_EXPIRED, error.message)
            self._stop_run(error)
        else:
            await self._retry_or_give_up(work, verdict.retry_code, verdict.retry_message)

    async def _blocked(self, work: _Work) -> bool:
        blocked = self._short_circuit(work.batch)
        if blocked is not None:
            code, message = blocked
            await self._decide(work, work.batch.conv_ids, Status.FAILED, code, message)
        return blocked is not None

    def _short_circuit(self, batch: Batch) -> tuple[int, str] | None:
        if batch.from_user_id in self._dead_users:
            return USER_NOT_REGISTERED, "FromUserId is not registered (not sent)"
        if batch.enable and (batch.from_user_id, int(batch.conv_type)) in self._full_lists:
            return MUTE_LIST_FULL, "the user's mute list is full (not sent)"
        return None

    async def _retry_or_give_up(self, work: _Work, code: int | None, message: str) -> None:
        if work.attempts >= self._options.max_attempts:
            # Unknown when any attempt may have been applied: the report must not guess.
            status = Status.UNKNOWN if work.maybe_applied else Status.FAILED
            await self._give_up(
                work, status, code, f"gave up after {work.attempts} attempts: {message}"
            )
            return
        opts = self._options
        delay = retry_delay(
            work.attempts, base=opts.backoff_base, cap=opts.backoff_cap, rng=self._rng
        )
        self._requeue(work, delay)

    async def _split(self, work: _Work) -> None:
        first, second = split_batch(work.batch)
        work.batch = first
        work.attempts = work.sends = 0
        other = _Work(second, holds_token=False)
        other.maybe_applied = work.maybe_applied
        self._live.add(other)
        self._requeue(work, 0.0)
        self._requeue(other, 0.0)

    def _requeue(self, work: _Work, delay: float) -> None:
        assert self._tg is not None
        self._tg.start_soon(self._send_later, work, delay)

    async def _send_later(self, work: _Work, delay: float) -> None:
        if delay > 0:
            await anyio.sleep(delay)
        await self._send.send(work)

    # -- outcomes ---------------------------------------------------------------------

    async def _decide(
        self, work: _Work, ids: Sequence[str], status: Status, code: int | None, message: str
    ) -> None:
        batch = work.batch
        outcomes = tuple(batch.outcome(conv_id, status, code, message) for conv_id in ids)
        await self._emit(work, outcomes, ())

    async def _give_up(self, work: _Work, status: Status, code: int | None, message: str) -> None:
        await self._decide(work, work.batch.conv_ids, status, code, message)
        self._finish(work)

    async def _emit(
        self, work: _Work, outcomes: Sequence[ConvOutcome], remaining: tuple[str, ...]
    ) -> None:
        # Update the work and the report before any await: a cancellation in the sinks
        # must not leave an ID both reported and still pending.
        work.batch = work.batch.with_ids(remaining)
        if not remaining:
            self._finish(work)
        self._sinks.count(outcomes)
        error = await self._sinks.deliver(outcomes)
        if error is not None:
            self._stop_run(error)  # without its journal the run would not be resumable

    def _finish(self, work: _Work) -> None:
        if work in self._live:
            self._live.discard(work)
            if work.holds_token:
                self._tokens.release()
        self._close_if_done()

    def _close_if_done(self) -> None:
        if not self._producing and not self._live:
            self._send.close()

    def _stop_run(self, error: ZimError) -> None:
        if self._stop is None:
            self._stop = error
        assert self._tg is not None
        self._tg.cancel_scope.cancel()

    async def _settle_leftovers(self) -> None:
        """Report whatever is still alive after the run ended early."""
        self._send.close()
        reason = self._stop.message if self._stop is not None else "the run was cancelled"
        for work in list(self._live):
            status = (
                Status.UNKNOWN if (work.in_flight or work.maybe_applied) else Status.NOT_ATTEMPTED
            )
            await self._decide(work, work.batch.conv_ids, status, None, reason)
            self._finish(work)
        # The rest of the op being chunked was pulled, so it is accounted for; a list input
        # is known in full, so what was never pulled of it is not attempted either, whether
        # the run stopped or was cancelled (the report must still count the whole list).
        rest = (b for op in self._rest if isinstance(op, MuteOp) for b in chunk_op(op))
        for batches in (self._unsent, rest):
            for batch in batches:
                await self._decide(
                    _Work(batch, holds_token=False),
                    batch.conv_ids,
                    Status.NOT_ATTEMPTED,
                    None,
                    reason,
                )

    # -- journal and progress -----------------------------------------------------------

    async def _skip_journaled(self, op: MuteOp, index: int) -> Iterable[Batch]:
        """The batches of ``op`` left to send; journaled outcomes go to the report."""
        assert self._journal is not None
        done = await self._journal.admit(index, op)
        if not done:
            return chunk_op(op)
        decided = {outcome.conv_id for outcome in done}
        rest = tuple(conv_id for conv_id in op.conv_ids if conv_id not in decided)
        # Report and narrow before any await, so that a cancellation loses nothing.
        self._unsent = chunk_op(attrs.evolve(op, conv_ids=rest)) if rest else iter(())
        self._sinks.count(done)
        await self._sinks.deliver(done, record=False)  # journaled already
        return self._unsent

    async def _end_hooks(self) -> None:
        self._sinks.tick(final=True)
        journal = self._journal
        if journal is None:
            return
        try:
            if self._pulled_all and self._stop is None and not self._sinks.journal_failed:
                await journal.finish()
        finally:
            if self._journal_owned:
                await journal.close()
