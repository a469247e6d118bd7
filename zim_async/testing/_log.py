"""The request log's record type."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._faults import FaultKind

__all__ = ["RequestRecord"]


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One request as the simulator saw and answered it."""

    index: int
    #: Arrival time on the server's (monotonic) ``clock``, read before the body.
    arrival: float
    method: str
    path: str
    #: Query parameters (first value of each name).
    query: Mapping[str, str]
    #: The parsed JSON body; the raw text when it was not JSON.
    body: object
    status: int
    #: The JSON answer, or ``None`` for non-JSON answers (HTTP errors, malformed JSON).
    answer: Mapping[str, object] | None
    fault: FaultKind | None
    #: Simulated latency applied before answering, in seconds.
    delay: float

    @property
    def action(self) -> str | None:
        return self.query.get("Action")

    @property
    def code(self) -> int | None:
        """The answer's ``Code``, when the answer was JSON."""
        code = None if self.answer is None else self.answer.get("Code")
        return code if isinstance(code, int) else None
