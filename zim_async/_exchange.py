"""One attempt of one API call: post through the transport, parse, log.

Pacing is the caller's job (it must know when the request is about to leave, to tell
"never sent" from "maybe applied"); this module does the rest of an attempt.
"""

from __future__ import annotations

import logging

from ._chunking import Batch
from ._errors import ZimProtocolError
from ._model import ApiAnswer
from ._transport import Reply, Transport
from ._wire import parse_envelope, parse_silence_answer

__all__ = ["SILENCE_ACTION", "Exchange", "logger"]

SILENCE_ACTION = "SilenceConvNotification"
logger = logging.getLogger("zim_async")


class Exchange:
    """Posts requests of any action and parses `SilenceConvNotification` answers."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def silence(self, batch: Batch, attempt: int) -> ApiAnswer:
        """Send ``batch`` once. Raises the transport's errors or `ZimProtocolError`."""
        reply = await self.call(
            SILENCE_ACTION,
            batch.body(),
            user=batch.from_user_id,
            ids=len(batch.conv_ids),
            attempt=attempt,
            parse=False,
        )
        try:
            answer = parse_silence_answer(reply.data)
        except ZimProtocolError as exc:
            exc.maybe_applied = True
            raise
        return answer

    async def call(
        self,
        action: str,
        body: dict[str, object],
        *,
        user: str = "",
        ids: int = 0,
        attempt: int = 1,
        parse: bool = True,
    ) -> Reply:
        """Post one request of ``action``; log one DEBUG line for the attempt."""
        try:
            reply = await self._transport.post(action, body)
        except Exception as exc:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s user=%r ids=%d attempt=%d error=%s: %s",
                    action,
                    user,
                    ids,
                    attempt,
                    type(exc).__name__,
                    exc,
                )
            raise
        if logger.isEnabledFor(logging.DEBUG) or parse:
            try:
                code, _, request_id = parse_envelope(reply.data)
            except ZimProtocolError as exc:
                exc.maybe_applied = True
                logger.debug(
                    "%s user=%r ids=%d attempt=%d unreadable answer: %s",
                    action,
                    user,
                    ids,
                    attempt,
                    exc,
                )
                raise
            logger.debug(
                "%s user=%r ids=%d attempt=%d code=%d request_id=%s latency_ms=%.1f",
                action,
                user,
                ids,
                attempt,
                code,
                request_id,
                reply.latency_s * 1000,
            )
        return reply
