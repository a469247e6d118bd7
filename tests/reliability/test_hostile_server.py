"""Hostile server: fuzzed answers through `httpx.MockTransport`.

Whatever comes back, a bulk run ends with every conversation reported exactly once
(or stops with `ZimAuthError` carrying such a report), a single call returns an answer
or raises a `ZimError`, nothing crashes, and answers are read no further than
``max_answer_bytes``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import httpx
import pytest
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zim_async import ConvType, MuteOp, Status, ZimAuthError, ZimClient, ZimError

from .conftest import SecretWatch
from .figures import Figures, scale
from .world import MARKER_APP_ID, MARKER_SECRET, key, outcomes

pytestmark = [pytest.mark.reliability]

EXAMPLES = scale(150, 1500)
MAX_BYTES = 4096
IDS = [f"c{i}" for i in range(25)]
_tried: Counter[str] = Counter()

codes = st.one_of(
    st.sampled_from([0, 1, 2, 3, 7, 660000002, 660300005, 660800051, 660800052, 100000004]),
    st.integers(-(2**40), 2**40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
item = st.one_of(
    st.fixed_dictionaries(
        {"ConvId": st.sampled_from([*IDS[:12], "never-sent", ""]), "SubCode": codes}
    ),
    st.fixed_dictionaries({"ConvId": json_values, "SubCode": json_values}),
    json_values,
)
envelope = st.fixed_dictionaries(
    {},
    optional={
        "Code": st.one_of(codes, json_values),
        "Message": json_values,
        "RequestId": json_values,
        "ErrorList": st.one_of(st.lists(item, max_size=12), json_values),
    },
)


@st.composite
def answers(draw: st.DrawFn) -> tuple[int, bytes, str]:
    """(HTTP status, body, label)."""
    kind = draw(st.sampled_from(["envelope", "named", "text", "html", "huge", "json"]))
    status = draw(st.sampled_from([200] * 8 + [500, 502, 429, 404]))
    if kind == "envelope":
        body = json.dumps(draw(envelope)).encode()
    elif kind == "named":  # a plausible answer naming IDs twice and IDs never sent
        named = draw(st.lists(st.sampled_from([*IDS, "never-sent"]), max_size=15))
        sub = draw(codes)
        errs = [{"ConvId": c, "SubCode": sub} for c in named]
        body = json.dumps({"Code": draw(codes), "ErrorList": errs}).encode()
    elif kind == "text":
        body = draw(st.binary(max_size=64))
    elif kind == "html":
        body = b"<html><body><h1>Welcome</h1></body></html>"
    elif kind == "huge":
        body = b'{"Code":0,"Message":"' + b"x" * (MAX_BYTES * 50) + b'"}'
    else:
        body = json.dumps(draw(json_values)).encode()
    return status, body, kind


class _Counted(httpx.AsyncByteStream):
    """A body streamed in 1 KiB chunks that counts how much of it was read.

    An iterator object, not an async generator: one left unfinished would be reported
    by trio when collected.
    """

    def __init__(self, body: bytes, tally: list[int]) -> None:
        self._body = body
        self._tally = tally
        self._at = 0

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> bytes:
        if self._at >= len(self._body):
            raise StopAsyncIteration
        chunk = self._body[self._at : self._at + 1024]
        self._at += len(chunk)
        self._tally[0] += len(chunk)
        return chunk


def _response(status: int, body: bytes, tally: list[int], *, announce: bool) -> httpx.Response:
    # Real servers announce the length; a chunked answer makes the client count itself.
    headers = {"Content-Length": str(len(body))} if announce else {}
    return httpx.Response(status, headers=headers, stream=_Counted(body, tally))


async def _scenario(script: list[tuple[int, bytes, str]], watch: SecretWatch) -> dict[str, int]:
    calls = 0
    read = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        status, body, _ = script[calls % len(script)]
        calls += 1
        return _response(status, body, read, announce=True)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        ZimClient(
            MARKER_APP_ID,
            MARKER_SECRET,
            base_url="https://zim.test",
            http_client=http,
            rate=None,
            max_attempts=3,
            backoff_base=0.01,
            max_answer_bytes=MAX_BYTES,
        ) as client,
    ):
        ops = [MuteOp("u1", ConvType.GROUP, IDS, True), MuteOp("u2", ConvType.PEER, IDS[:5], False)]
        stopped: ZimAuthError | None = None
        try:
            report = await client.apply(ops)
        except ZimAuthError as exc:  # a stop code or a 4xx: the run stops, with its report
            stopped = exc
        if stopped is not None:
            assert stopped.report is not None
            report = stopped.report
            watch.see(stopped)
        watch.see(report, report.to_dict())
        planned = Counter(
            (op.from_user_id, int(op.conv_type), c, op.enable) for op in ops for c in op.conv_ids
        )
        got = Counter(key(o) for o in outcomes(report))
        assert got == planned  # each exactly once: no ID counted twice, none invented
        assert report.total == sum(planned.values())
        try:
            answer = await client.silence_conv_notification("u3", ConvType.PEER, IDS[:3], True)
            watch.see(answer)
        except ZimError as exc:
            watch.see(exc)
    return {s.value: report.counts[s.value] for s in Status} | {"read": read[0], "calls": calls}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(answers(), min_size=1, max_size=6))
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_fuzzed_answers_never_lose_or_double_count(
    backend: str, script: list[tuple[int, bytes, str]], secret_watch: SecretWatch
) -> None:
    options: dict[str, Any] = (
        {"clock": trio.testing.MockClock(autojump_threshold=0)} if backend == "trio" else {}
    )
    counts = anyio.run(_scenario, script, secret_watch, backend=backend, backend_options=options)
    _tried[backend] += 1
    _tried["unknown"] += counts["unknown"]
    assert counts["read"] <= counts["calls"] * MAX_BYTES  # every answer capped


@pytest.mark.anyio
# asyncio only for the chunked case: stopping an httpx body iteration early leaves
# httpx's own async generators unfinished, which trio reports as a ResourceWarning.
@pytest.mark.parametrize(
    ("anyio_backend", "announce"), [("asyncio", True), ("asyncio", False), ("trio", True)]
)
async def test_a_huge_answer_is_read_only_up_to_the_cap(
    announce: bool, secret_watch: SecretWatch
) -> None:
    body = b'{"Code":0,"Message":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    read = [0]
    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(
                lambda request: _response(200, body, read, announce=announce)
            )
        ) as http,
        ZimClient(
            MARKER_APP_ID,
            MARKER_SECRET,
            base_url="https://zim.test",
            http_client=http,
            rate=None,
            max_attempts=1,
            max_answer_bytes=MAX_BYTES,
        ) as client,
    ):
        report = await client.mute_conversations("u1", ConvType.PEER, ["c1"])
    assert report.counts["unknown"] == 1  # it may have been applied before the flood
    assert read[0] <= MAX_BYTES + 1024  # one chunk past the cap at most, not 10 MiB
    secret_watch.see(report, *report.unknown)


@pytest.fixture(scope="module", autouse=True)
def _record(figures: Figures) -> Any:
    yield
    for backend in ("asyncio", "trio"):
        if _tried[backend]:
            figures.add(
                "hostile server",
                "fuzzed answer scripts (bad JSON, wrong types, huge, HTML, bad ErrorList;"
                f" {backend})",
                tried=_tried[backend],
                unit="scripts",
                lost=0,
            )
