"""`MuteReport`: the one answer of a bulk run. Pure: built from outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ._model import ConvOutcome, Status

__all__ = ["MuteReport", "ReportBuilder"]


@attrs.frozen(kw_only=True)
class MuteReport:
    """Where every conversation of a run ended up, and what the run cost.

    Each input conversation (after de-duplication within its op) is in exactly one of
    ``succeeded``, ``unchanged``, ``failed``, ``not_attempted`` and ``unknown``. The
    running report of `ZimClient.stream` keeps only counts for the first two, so that
    its memory stays bounded; ``counts`` is always complete.
    """

    succeeded: tuple[ConvOutcome, ...] = ()
    unchanged: tuple[ConvOutcome, ...] = ()
    failed: tuple[ConvOutcome, ...] = ()
    not_attempted: tuple[ConvOutcome, ...] = ()
    unknown: tuple[ConvOutcome, ...] = ()
    counts: dict[str, int] = attrs.field(factory=lambda: {s.value: 0 for s in Status})
    #: Requests sent (every attempt).
    requests: int = 0
    #: Requests sent again after a transient failure (the halves of a split are not retries).
    retries: int = 0
    #: Rate-limit answers seen (Code 7 / 660300005).
    rate_limited: int = 0
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        """The number of conversations in the run."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when every conversation is now in the wanted state."""
        return (
            self.counts[Status.SUCCEEDED.value] + self.counts[Status.UNCHANGED.value] == self.total
        )

    @property
    def failures(self) -> tuple[ConvOutcome, ...]:
        """The failed conversations (same as ``failed``)."""
        return self.failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (``conv_type`` as the API's number)."""

        def rows(outcomes: Iterable[ConvOutcome]) -> list[dict[str, object]]:
            return [
                {
                    "from_user_id": o.from_user_id,
                    "conv_type": int(o.conv_type),
                    "conv_id": o.conv_id,
                    "enable": o.enable,
                    "code": o.code,
                    "message": o.message,
                }
                for o in outcomes
            ]

        return {
            "ok": self.ok,
            "total": self.total,
            "counts": dict(self.counts),
            "failures": rows(self.failed),
            "unknown": rows(self.unknown),
            "not_attempted": rows(self.not_attempted),
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "elapsed_s": round(self.elapsed_s, 6),
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return (
            f"<MuteReport total={self.total} {counts} requests={self.requests}"
            f" retries={self.retries} rate_limited={self.rate_limited}"
            f" elapsed_s={self.elapsed_s:.3f}>"
        )


class ReportBuilder:
    """Collects outcomes and request counters into a `MuteReport`."""

    __slots__ = ("_counts", "_keep_successes", "_lists", "rate_limited", "requests", "retries")

    def __init__(self, *, keep_successes: bool = True) -> None:
        self._keep_successes = keep_successes
        self._lists: dict[Status, list[ConvOutcome]] = {s: [] for s in Status}
        self._counts: dict[str, int] = {s.value: 0 for s in Status}
        self.requests = 0
        self.retries = 0
        self.rate_limited = 0

    def add(self, outcome: ConvOutcome) -> None:
        self._counts[outcome.status.value] += 1
        if self._keep_successes or outcome.status not in (Status.SUCCEEDED, Status.UNCHANGED):
            self._lists[outcome.status].append(outcome)

    @property
    def decided(self) -> int:
        return sum(self._counts.values())

    @property
    def failed(self) -> int:
        return self._counts[Status.FAILED.value]

    def build(self, elapsed_s: float) -> MuteReport:
        lists = self._lists
        return MuteReport(
            succeeded=tuple(lists[Status.SUCCEEDED]),
            unchanged=tuple(lists[Status.UNCHANGED]),
            failed=tuple(lists[Status.FAILED]),
            not_attempted=tuple(lists[Status.NOT_ATTEMPTED]),
            unknown=tuple(lists[Status.UNKNOWN]),
            counts=dict(self._counts),
            requests=self.requests,
            retries=self.retries,
            rate_limited=self.rate_limited,
            elapsed_s=elapsed_s,
        )
