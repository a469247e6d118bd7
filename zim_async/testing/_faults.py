"""Fault injection: which requests fail, and how. Deterministic for a given seed."""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Iterable

import attrs
import httpx

__all__ = ["FaultKind", "FaultPlan", "SimulatedDrop"]


class FaultKind(str, enum.Enum):
    """The ways the simulator can make a request fail."""

    HTTP_500 = "http_500"
    """HTTP 500 with a plain-text body; nothing is applied."""
    HTTP_502 = "http_502"
    """HTTP 502 with an HTML body, as a proxy would answer; nothing is applied."""
    LATE = "late"
    """The change is applied, then the answer is held back for ``late_delay`` seconds."""
    DROP = "drop"
    """The change is applied, then the connection breaks half-way through the answer."""
    MALFORMED_JSON = "malformed_json"
    """HTTP 200 with a truncated JSON body; nothing is applied."""
    CODE_1 = "code_1"
    """Code 1 (server busy); nothing is applied."""
    CODE_660000001 = "code_660000001"
    """Code 660000001 (general business error); nothing is applied."""
    CODE_660300005 = "code_660300005"
    """Code 660300005 (rate limited) although the window had room; nothing is applied."""

    @property
    def applies_change(self) -> bool:
        """True for the faults that change the state before failing."""
        return self in (FaultKind.LATE, FaultKind.DROP)


def _to_kinds(values: Iterable[FaultKind | str]) -> tuple[FaultKind, ...]:
    return tuple(FaultKind(value) for value in values)


def _to_script(values: Iterable[FaultKind | str | None]) -> tuple[FaultKind | None, ...]:
    return tuple(None if value is None else FaultKind(value) for value in values)


def _to_actions(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


@attrs.frozen(kw_only=True)
class FaultPlan:
    """Which requests fail.

    The ``script`` is consumed first, one entry per eligible request (``None`` = no
    fault for that one). After it runs out, each eligible request fails with
    probability ``rate``, the kind drawn uniformly from ``kinds``. Eligible requests are
    those that pass the gateway checks and the rate window and whose Action is in
    ``actions`` (all Actions when ``None``).
    """

    rate: float = attrs.field(
        default=0.0,
        validator=attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0)),
    )
    kinds: tuple[FaultKind, ...] = attrs.field(
        default=tuple(FaultKind), converter=_to_kinds, validator=attrs.validators.min_len(1)
    )
    script: tuple[FaultKind | None, ...] = attrs.field(default=(), converter=_to_script)
    actions: frozenset[str] | None = attrs.field(default=None, converter=_to_actions)
    #: How long a ``late`` answer is held back, in seconds.
    late_delay: float = attrs.field(default=30.0, validator=attrs.validators.ge(0.0))


class SimulatedDrop(httpx.RemoteProtocolError):
    """Raised by the app to break a connection mid-answer (the ``drop`` fault).

    Over a socket the server then closes the connection, so the client sees an
    incomplete body (`httpx.RemoteProtocolError`). In process (``httpx.ASGITransport``)
    this exception itself reaches the caller; it derives from the same class so that a
    client handles both cases alike.
    """


class FaultPicker:
    """Draws the fault of each eligible request, in arrival order. Not thread-safe."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._rng = random.Random(seed)
        self._script: deque[FaultKind | None] = deque(plan.script)

    def push(self, kinds: Iterable[FaultKind | str | None]) -> None:
        self._script.extend(_to_script(kinds))

    def pick(self, action: str) -> FaultKind | None:
        if self.plan.actions is not None and action not in self.plan.actions:
            return None
        if self._script:
            return self._script.popleft()
        # Always draw both numbers so that request N gets the same kind whatever the rate.
        hit = self._rng.random() < self.plan.rate
        kind = self.plan.kinds[self._rng.randrange(len(self.plan.kinds))]
        return kind if hit else None
