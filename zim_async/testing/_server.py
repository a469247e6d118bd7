"""`FakeZimServer`: the ASGI app that plays the ZIM server API."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl

import anyio
import attrs

from ._actions import envelope, handle_action, parse_body
from ._asgi import Receive, Scope, Send, read_body, respond, send_start, serve_lifespan
from ._faults import FaultKind, FaultPicker, FaultPlan, SimulatedDrop
from ._gateway import GatewayReject, RateWindows, check_public_params
from ._log import RequestRecord
from ._state import FakeState

__all__ = ["DEFAULT_APP_ID", "DEFAULT_SERVER_SECRET", "FakeZimServer"]

DEFAULT_APP_ID = 1234567890
DEFAULT_SERVER_SECRET = "fake-secret-0123456789abcdef"  # not a real credential
RATE_LIMITED = 660300005
_RAW_FAULTS: dict[FaultKind, tuple[int, bytes, bytes]] = {
    FaultKind.HTTP_500: (500, b"Internal Server Error", b"text/plain; charset=utf-8"),
    FaultKind.HTTP_502: (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"text/html"),
    FaultKind.MALFORMED_JSON: (200, b'{"Code":0,"Message":"succ', b"application/json"),
}
_FAULT_CODES = {
    FaultKind.CODE_1: 1,
    FaultKind.CODE_660000001: 660000001,
    FaultKind.CODE_660300005: RATE_LIMITED,
}


def _parse_query(raw: bytes) -> dict[str, str]:
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return dict(reversed(pairs))  # reversed, so that the first of repeated names wins


def _request_id(index: int) -> str:
    # Real RequestIds are decimal strings above 2**53; clients must keep them as text.
    return str(700_000_000_000_000_000 + index)


@attrs.frozen
class _Arrival:
    """What was decided synchronously when a request arrived."""

    index: int
    arrival: float
    query: dict[str, str]
    status: int
    early: dict[str, object] | None  # an answer given without running the Action
    action: str | None
    fault: FaultKind | None
    delay: float


class FakeZimServer:
    """A local, stateful stand-in for the ZIM server API (a plain ASGI app).

    Serves ``SilenceConvNotification``, ``QueryGroupsInfoOfUser`` and
    ``QueryConversationList`` at ``POST /``. Seed its state with `register_users`,
    `create_group`, `add_conversation` (or `state`), and read the request log in
    `requests`. It is thread-safe, so it can run in `serve_fake`'s background thread.
    """

    def __init__(
        self,
        *,
        apps: Mapping[int, str] | None = None,
        qps: float | None = 20,
        peer_mute_limit: int = 500,
        group_mute_limit: int = 1000,
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: FaultPlan | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if latency < 0 or jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        if qps is not None and qps <= 0:
            raise ValueError("qps must be positive, or None for no limit")
        self.apps: Mapping[int, str] = dict(
            {DEFAULT_APP_ID: DEFAULT_SERVER_SECRET} if apps is None else apps
        )
        self.state = FakeState(peer_mute_limit, group_mute_limit, wall_clock)
        self.latency = latency
        self.jitter = jitter
        self.faults = faults if faults is not None else FaultPlan()
        self.clock = clock
        self.wall_clock = wall_clock
        self._windows = RateWindows(qps)
        # Separate generators: turning latency on must not change which requests fail.
        self._faults = FaultPicker(self.faults, seed)
        self._latency_rng = random.Random(seed)
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._count = 0

    # -- seeding and inspection shortcuts (see `state` for more) ---------------------

    def register_users(self, *user_ids: str) -> None:
        self.state.register_users(*user_ids)

    def create_group(
        self, group_id: str, members: Iterable[str] = (), *, name: str = "", avatar: str = ""
    ) -> None:
        self.state.create_group(group_id, members, name=name, avatar=avatar)

    def add_conversation(
        self, user_id: str, peer_id: str, *, update_time: int | None = None, mutual: bool = True
    ) -> None:
        self.state.add_conversation(user_id, peer_id, update_time=update_time, mutual=mutual)

    def muted(self, user_id: str, conv_type: int) -> set[str]:
        return self.state.muted(user_id, conv_type)

    def script_faults(self, *kinds: FaultKind | str | None) -> None:
        """Queue faults for the next eligible requests (``None`` = no fault)."""
        with self._lock:
            self._faults.push(kinds)

    # -- the request log ---------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the log, in the order answers were decided."""
        with self._lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def arrivals(self, action: str | None = None) -> list[float]:
        """Sorted arrival times of all logged requests (of one Action if given)."""
        return sorted(r.arrival for r in self.requests if action is None or r.action == action)

    def codes(self, action: str | None = None) -> list[int | None]:
        """The answers' Codes in log order (``None`` for non-JSON answers)."""
        return [r.code for r in self.requests if action is None or r.action == action]

    def max_in_window(
        self, window: float = 1.0, action: str | None = None, *, admitted_only: bool = False
    ) -> int:
        """The most arrivals in any ``(t - window, t]``: the measure the QPS limit uses.

        With ``admitted_only``, requests refused with 660300005 by the window are left out.
        """
        times = sorted(
            r.arrival
            for r in self.requests
            if (action is None or r.action == action)
            and not (admitted_only and r.code == RATE_LIMITED and r.fault is None)
        )
        best, start = 0, 0
        for end, now in enumerate(times):
            while times[start] <= now - window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- ASGI --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"FakeZimServer serves HTTP only, not {scope['type']!r}")
        info = self._arrive(scope)
        raw = await read_body(receive)
        body: object = parse_body(raw) if raw else None
        if info.delay:
            await anyio.sleep(info.delay)
        answer = info.early
        if answer is None and info.fault is not None and not info.fault.applies_change:
            await self._fail(info, scope, body, send)
            return
        if answer is None and info.action is not None:
            answer = handle_action(info.action, body, self.state)  # applies the change
        answer = dict(answer or {})
        answer["RequestId"] = _request_id(info.index)
        self._record(info, scope, body, info.status, answer)
        payload = json.dumps(answer, separators=(",", ":")).encode()
        if info.status != 200:
            await respond(send, info.status, payload, b"application/json")
        elif info.fault is FaultKind.DROP:
            await send_start(send, 200, len(payload), b"application/json; charset=utf-8")
            await send(
                {
                    "type": "http.response.body",
                    "body": payload[: len(payload) // 2],
                    "more_body": True,
                }
            )
            raise SimulatedDrop("simulated connection drop after the change was applied")
        else:
            if info.fault is FaultKind.LATE and not await self._hold(receive):
                return  # the client gave up: nobody is left to answer
            await respond(send, 200, payload, b"application/json; charset=utf-8")

    async def _hold(self, receive: Receive) -> bool:
        """Wait ``late_delay``; return False as soon as the client disconnects.

        Returning early lets a server over sockets shut down without waiting for (or
        cancelling) answers nobody waits for any more.
        """
        gone = False
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                nonlocal gone
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone = True
                group.cancel_scope.cancel()

            group.start_soon(watch)
            await anyio.sleep(self.faults.late_delay)
            group.cancel_scope.cancel()
        return not gone

    def _arrive(self, scope: Scope) -> _Arrival:
        """Everything decided at arrival, atomically: clock, gateway, window, fault, delay."""
        query = _parse_query(scope.get("query_string", b""))
        with self._lock:
            index = self._count
            self._count += 1
            arrival = self.clock()
            delay = self.latency + (self._latency_rng.uniform(0, self.jitter) if self.jitter else 0)
            status, action, fault = 200, None, None
            early: dict[str, object] | None = None
            if scope.get("path") != "/":
                status, early = 404, {"error": "not found"}
            elif scope.get("method") != "POST":
                status, early = 405, {"error": "method not allowed; use POST"}
            else:
                try:
                    admitted = check_public_params(query, self.apps, self.wall_clock())
                except GatewayReject as reject:
                    early = envelope(reject.code, reject.message)
                else:
                    if self._windows.admit((admitted.app_id, admitted.action), arrival):
                        action = admitted.action
                        fault = self._faults.pick(action)
                    else:
                        early = envelope(RATE_LIMITED)
        return _Arrival(index, arrival, query, status, early, action, fault, delay)

    async def _fail(self, info: _Arrival, scope: Scope, body: object, send: Send) -> None:
        """Answer with a pre-apply fault; the state is not touched."""
        assert info.fault is not None
        code = _FAULT_CODES.get(info.fault)
        if code is not None:
            answer = envelope(code)
            answer["RequestId"] = _request_id(info.index)
            self._record(info, scope, body, 200, answer)
            await respond(send, 200, json.dumps(answer).encode(), b"application/json")
            return
        status, payload, ctype = _RAW_FAULTS[info.fault]
        self._record(info, scope, body, status, None)
        await respond(send, status, payload, ctype)

    def _record(
        self,
        info: _Arrival,
        scope: Scope,
        body: object,
        status: int,
        answer: Mapping[str, object] | None,
    ) -> None:
        record = RequestRecord(
            index=info.index,
            arrival=info.arrival,
            method=str(scope.get("method")),
            path=str(scope.get("path")),
            query=info.query,
            body=body,
            status=status,
            answer=answer,
            fault=info.fault,
            delay=info.delay,
        )
        with self._lock:
            self._records.append(record)
