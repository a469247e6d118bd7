"""The exceptions zim_async raises.

Everything the library raises on purpose derives from `ZimError`::

    ZimError
    ├── InvalidRequestError   (also a ValueError) bad input, raised before anything is sent
    ├── ZimAuthError          authentication / configuration failure; the run stopped
    ├── ZimProtocolError      an answer that cannot be understood
    └── ZimTransportError     the request could not be completed (network, timeout, HTTP status)

Errors of the HTTP layer (httpx) are mapped to ours in one place: `_transport.py`.
Bulk calls (`apply`, `mute_conversations`, ...) never raise for per-conversation
failures: those are outcomes in the `MuteReport`. They raise only when the whole run
cannot go on, and then the exception carries the partial report in ``report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import MuteReport

__all__ = [
    "InvalidRequestError",
    "ZimAuthError",
    "ZimError",
    "ZimProtocolError",
    "ZimTransportError",
]


class ZimError(Exception):
    """Base class of every error zim_async raises."""

    #: The report of the bulk run this error stopped, when there was one.
    report: MuteReport | None

    def __init__(self, message: str, *, report: MuteReport | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.report = report

    def __str__(self) -> str:
        return self.message


class InvalidRequestError(ZimError, ValueError):
    """Input that the API would refuse; raised before any request is sent.

    ``field`` names the offending field and ``value`` holds a truncated repr of the value.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: str | None = None,
        report: MuteReport | None = None,
    ) -> None:
        super().__init__(message, report=report)
        self.field = field
        self.value = value


class _CodedError(ZimError):
    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        maybe_applied: bool = False,
        report: MuteReport | None = None,
    ) -> None:
        super().__init__(message, report=report)
        self.code = code
        self.request_id = request_id
        #: True when the server may have applied the request although we have no answer.
        self.maybe_applied = maybe_applied


class ZimAuthError(_CodedError):
    """The server refused our credentials or configuration (AppId, signature, URL, ...).

    Every further request would fail the same way, so a bulk run stops at once;
    ``report`` holds what had been decided by then.
    """


class ZimProtocolError(_CodedError):
    """An answer that cannot be understood (not JSON, wrong shape, oversized)."""


class ZimTransportError(_CodedError):
    """The request did not complete: connection error, timeout or an HTTP error status."""
