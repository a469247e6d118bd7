"""`ZimClient`: the facade users hold. Configuration and the public calls; the work
happens in the runner, the transport and the limiter."""

from __future__ import annotations

import math
import os
import random
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc
import httpx

from ._backoff import retry_delay
from ._chunking import Batch
from ._codes import CodeClass, classify_code, describe_code
from ._errors import InvalidRequestError, ZimAuthError, ZimProtocolError, ZimTransportError
from ._exchange import SILENCE_ACTION, Exchange
from ._intake import check_ops
from ._limiter import Limiter, LimitKey, UnlimitedLimiter, shared_limiter
from ._model import ApiAnswer, ConvType
from ._ops import MuteOp
from ._report import MuteReport, ReportBuilder
from ._runner import BulkRunner, RunOptions
from ._sinks import Progress, Sink, Sinks
from ._stream import OutcomeStream
from ._transport import Transport
from ._validate import MAX_CONV_IDS_PER_REQUEST, check_app_id, check_server_secret, short_repr
from ._wire import parse_envelope
from .journal import SqliteJournal

__all__ = ["DEFAULT_BASE_URL", "ZimClient"]

_T = TypeVar("_T")

DEFAULT_BASE_URL = "https://zim-api.zego.im"
_RATE_LIMITED_SINGLE = 20


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kind)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidRequestError(
            f"{name}={short_repr(value)}: must be a positive {'int' if integer else 'number'}",
            field=name,
            value=short_repr(value),
        )


class ZimClient:
    """Client of the ZIM server API.

    Example:
        ```python
        async with ZimClient(app_id, server_secret) as client:
            report = await client.mute_conversations("alice", ConvType.GROUP, group_ids)
        ```

    ``rate`` requests per second per action are shared by every client of the same
    ``app_id`` in the process (``rate=None`` turns pacing off); pass ``limiter`` to use
    your own, e.g. one shared across processes. ``max_in_flight`` bounds the concurrent
    requests of a bulk run; 16 sustains 20 requests/s at 500 ms latency.
    """

    def __init__(
        self,
        app_id: int,
        server_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate: float | None = 20.0,
        max_in_flight: int = 16,
        timeout: float = 10.0,
        max_attempts: int = 5,
        limiter: Limiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_answer_bytes: int = 1 << 20,
        seed: int | None = None,
    ) -> None:
        self._app_id = check_app_id(app_id)
        self._secret = check_server_secret(server_secret)
        if rate is not None:
            _positive("rate", rate)
        for name, value in (
            ("timeout", timeout),
            ("backoff_base", backoff_base),
            ("backoff_cap", backoff_cap),
        ):
            _positive(name, value)
        for name, value in (
            ("max_in_flight", max_in_flight),
            ("max_attempts", max_attempts),
            ("max_answer_bytes", max_answer_bytes),
        ):
            _positive(name, value, integer=True)
        url = httpx.URL(base_url)
        if url.scheme not in ("https", "http") or not url.host:
            raise InvalidRequestError(
                f"base_url={short_repr(base_url)}: must be an https:// URL",
                field="base_url",
                value=short_repr(base_url),
            )
        if url.scheme == "http" and not allow_insecure_http:
            raise InvalidRequestError(
                f"base_url={short_repr(base_url)}: plain http would expose signed requests;"
                " use https, or pass allow_insecure_http=True for a local test server",
                field="base_url",
                value=short_repr(base_url),
            )
        self._base_url = str(url)
        self._rate = rate
        self._timeout = float(timeout)
        if limiter is not None:
            self._limiter: Limiter = limiter
        elif rate is None:
            self._limiter = UnlimitedLimiter()
        else:
            self._limiter = shared_limiter(self._app_id, float(rate))
        self._options = RunOptions(
            max_in_flight=max_in_flight,
            max_attempts=max_attempts,
            backoff_base=float(backoff_base),
            backoff_cap=float(backoff_cap),
        )
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else httpx.AsyncClient(
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(
                    max_connections=max_in_flight + 4, max_keepalive_connections=max_in_flight
                ),
            )
        )
        self._transport = Transport(
            self._http,
            base_url=self._base_url,
            app_id=self._app_id,
            server_secret=self._secret,
            timeout=self._timeout,
            max_answer_bytes=max_answer_bytes,
        )
        self._exchange = Exchange(self._transport)
        self._rng = random.Random(seed)
        self._tg: anyio.abc.TaskGroup | None = None
        self._closed = False

    @classmethod
    def from_env(cls, **options: Any) -> ZimClient:
        """A client configured from ``ZIM_APP_ID``, ``ZIM_SERVER_SECRET`` and, optionally,
        ``ZIM_BASE_URL`` and ``ZIM_ALLOW_INSECURE_HTTP=1``; keyword options are passed on."""
        raw_id = os.environ.get("ZIM_APP_ID", "")
        try:
            app_id = int(raw_id)
        except ValueError:
            raise InvalidRequestError(
                f"ZIM_APP_ID={short_repr(raw_id)}: must be the numeric AppId",
                field="ZIM_APP_ID",
                value=short_repr(raw_id),
            ) from None
        secret = os.environ.get("ZIM_SERVER_SECRET", "")
        if not secret:
            raise InvalidRequestError("ZIM_SERVER_SECRET is not set", field="ZIM_SERVER_SECRET")
        options.setdefault("base_url", os.environ.get("ZIM_BASE_URL") or DEFAULT_BASE_URL)
        options.setdefault("allow_insecure_http", os.environ.get("ZIM_ALLOW_INSECURE_HTTP") == "1")
        return cls(app_id, secret, **options)

    def __repr__(self) -> str:
        # Never the secret.
        return (
            f"<ZimClient app_id={self._app_id} base_url={self._base_url!r} rate={self._rate}"
            f" max_in_flight={self._options.max_in_flight}>"
        )

    @property
    def app_id(self) -> int:
        """The AppId requests are signed for."""
        return self._app_id

    @property
    def limiter(self) -> Limiter:
        """The limiter pacing this client's requests."""
        return self._limiter

    async def __aenter__(self) -> ZimClient:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        try:
            if tg is not None:
                tg.cancel_scope.cancel()  # streams left open end with the client
                # The body's exception is not the task group's business: given to it, it
                # would come out wrapped in an ExceptionGroup, and `except ZimAuthError`
                # around `async with ZimClient(...)` would no longer catch it.
                await tg.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if not self._closed:
            self._closed = True
            if self._owns_http:
                await self._http.aclose()

    # -- one call ---------------------------------------------------------------------

    async def silence_conv_notification(
        self, from_user_id: str, conv_type: ConvType | int, conv_ids: Iterable[str], enable: bool
    ) -> ApiAnswer:
        """Exactly one `SilenceConvNotification` call (1-10 IDs), retried when transient.

        Returns the parsed answer, partial failures included. Raises `ZimAuthError` for
        credential/configuration codes, and the last `ZimTransportError` /
        `ZimProtocolError` when every attempt failed that way.
        """
        op = MuteOp(from_user_id, conv_type, conv_ids, enable)
        if len(op.conv_ids) > MAX_CONV_IDS_PER_REQUEST:
            raise InvalidRequestError(
                f"conv_ids: {len(op.conv_ids)} IDs; one call takes at most"
                f" {MAX_CONV_IDS_PER_REQUEST} (use mute_conversations / apply for more)",
                field="conv_ids",
                value=f"{len(op.conv_ids)} IDs",
            )
        batch = Batch(op.from_user_id, op.conv_type, op.enable, op.conv_ids)

        def envelope(answer: ApiAnswer) -> tuple[int, str, str, bool]:
            # With an ErrorList the answer speaks per conversation: the caller reads it.
            return answer.code, answer.message, answer.request_id, not answer.error_list

        return await self._retrying(
            LimitKey(self._app_id, SILENCE_ACTION),
            lambda attempt: self._exchange.silence(batch, attempt),
            envelope,
        )

    async def call(self, action: str, body: Mapping[str, object]) -> dict[str, Any]:
        """One call of any server API ``action`` (POST, JSON ``body``): the decoded answer.

        Paced under the action's own `LimitKey` (each action has its own budget) and
        retried like `silence_conv_notification`: network errors, 5xx, transient and
        rate-limit codes. The answer is returned whatever its ``Code``: check it. Raises
        `ZimAuthError` for credential/configuration codes, and the last
        `ZimTransportError` / `ZimProtocolError` when every attempt failed that way.
        """
        if not isinstance(action, str) or not action.isalnum():
            raise InvalidRequestError(
                f"action={short_repr(action)}: must be an Action name such as"
                " 'QueryConversationList'",
                field="action",
                value=short_repr(action),
            )

        async def send(attempt: int) -> dict[str, Any]:
            return (await self._exchange.call(action, dict(body), attempt=attempt)).data

        def envelope(data: dict[str, Any]) -> tuple[int, str, str, bool]:
            return (*parse_envelope(data), True)

        return await self._retrying(LimitKey(self._app_id, action), send, envelope)

    async def _retrying(
        self,
        key: LimitKey,
        send: Callable[[int], Awaitable[_T]],
        envelope: Callable[[_T], tuple[int, str, str, bool]],
    ) -> _T:
        """Pace, send and retry one call; ``envelope`` gives (code, message, request id,
        whether the code speaks for the whole request) of an answer."""
        attempts = sends = rate_limited = 0
        resigned = False
        while True:
            await self._limiter.acquire(key)
            sends += 1
            try:
                answer = await send(sends)
            except (ZimTransportError, ZimProtocolError):
                attempts += 1
                if attempts >= self._options.max_attempts:
                    raise
                await self._backoff(attempts)
                continue
            code, message, request_id, whole = envelope(answer)
            kind = classify_code(code) if whole else CodeClass.PERMANENT
            if kind is CodeClass.STOP:
                raise ZimAuthError(
                    f"{key.action}: code {code} ({describe_code(code)}): {message}",
                    code=code,
                    request_id=request_id,
                )
            if kind is CodeClass.SIGNATURE_EXPIRED:
                if resigned:
                    raise ZimAuthError(
                        f"{key.action}: the server says our timestamps are expired (code"
                        f" {code}) twice in a row: the local clock is off by more than 10"
                        " minutes; fix the clock (NTP)",
                        code=code,
                        request_id=request_id,
                    )
                resigned = True
            elif kind is CodeClass.RATE_LIMITED and rate_limited < _RATE_LIMITED_SINGLE:
                # Not the request's fault: no attempt used; the shared gate sets the pace.
                rate_limited += 1
                await self._limiter.report_rate_limited(key)
            elif kind in (CodeClass.TRANSIENT, CodeClass.RATE_LIMITED):
                attempts += 1
                if attempts >= self._options.max_attempts:
                    return answer
                await self._backoff(attempts)
            else:
                return answer

    async def _backoff(self, attempts: int) -> None:
        opts = self._options
        await anyio.sleep(
            retry_delay(attempts, base=opts.backoff_base, cap=opts.backoff_cap, rng=self._rng)
        )

    # -- bulk -------------------------------------------------------------------------

    def _runner(
        self,
        report: ReportBuilder,
        sink: Sink | None,
        ops: object = (),
        journal: SqliteJournal | None = None,
        progress: Progress | None = None,
    ) -> BulkRunner:
        total = None
        if isinstance(ops, Sequence):  # a list is known in full: its total too
            total = sum(len(op.conv_ids) for op in ops if isinstance(op, MuteOp))
        return BulkRunner(
            app_id=self._app_id,
            exchange=self._exchange,
            limiter=self._limiter,
            options=self._options,
            rng=self._rng,
            sinks=Sinks(report, stream=sink, journal=journal, progress=progress, total=total),
        )

    async def apply(
        self,
        ops: Iterable[MuteOp] | AsyncIterable[MuteOp],
        *,
        journal: SqliteJournal | None = None,
        progress: Progress | None = None,
    ) -> MuteReport:
        """Run any number of ops (a list, an iterator or an async iterator of `MuteOp`)
        and return one report. A list is checked in full before anything is sent.

        ``journal`` makes the run resumable (see `SqliteJournal`); ``progress`` is called
        with (decided, total or ``None``, failed) at most every 0.1 s and at the end.
        """
        runner = self._runner(ReportBuilder(), None, ops, journal, progress)
        return await runner.run(ops)

    async def mute_conversations(
        self, from_user_id: str, conv_type: ConvType | int, conv_ids: Iterable[str]
    ) -> MuteReport:
        """Mute any number of conversations of one user."""
        return await self.apply([MuteOp(from_user_id, conv_type, conv_ids, True)])

    async def unmute_conversations(
        self, from_user_id: str, conv_type: ConvType | int, conv_ids: Iterable[str]
    ) -> MuteReport:
        """Unmute any number of conversations of one user."""
        return await self.apply([MuteOp(from_user_id, conv_type, conv_ids, False)])

    def stream(
        self,
        ops: Iterable[MuteOp] | AsyncIterable[MuteOp],
        *,
        buffer: int = 256,
        journal: SqliteJournal | None = None,
        progress: Progress | None = None,
    ) -> OutcomeStream:
        """Outcomes one by one, as they are decided, with bounded memory.

        Needs an open client (``async with``). The returned iterator's ``report`` is
        the running report (counts, failures), final once the iterator is exhausted.
        ``journal`` and ``progress`` work as in `apply`; outcomes replayed from the
        journal are streamed too.
        """
        if self._tg is None:
            raise RuntimeError("stream() needs an open client: use 'async with ZimClient(...)'")
        if isinstance(ops, Sequence):
            check_ops(ops)
        report = ReportBuilder(keep_successes=False)
        send, receive = anyio.create_memory_object_stream[Any](buffer)
        runner = self._runner(report, send.send, ops, journal, progress)
        return OutcomeStream._start(self._tg, runner, ops, report, send, receive)
