"""B4: ``client.stream()`` over many conversation IDs through an in-memory transport.

    python -m benchmarks.scale IDS

Run in its own process so that ``ru_maxrss`` is this run's peak alone. The input is a
generator of ops (1,000 IDs each), so nothing but the client holds the plan; every
request is answered with success by ``httpx.MockTransport``; pacing is off.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import anyio
import httpx

from zim_async import ConvType, MuteOp, ZimClient
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET

from ._measure import Meter

PER_OP = 1000
SUCCESS = b'{"Code":0,"Message":"success","RequestId":"700000000000000001","ErrorList":[]}'


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=SUCCESS, headers={"Content-Type": "application/json"})


def ops(ids: int) -> Iterator[MuteOp]:
    for n in range(ids // PER_OP):
        yield MuteOp(f"user{n}", ConvType.GROUP, (f"g{n}-{i}" for i in range(PER_OP)), True)


async def run(ids: int) -> dict[str, object]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    seen = 0
    async with ZimClient(
        DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, rate=None, http_client=http
    ) as client:
        meter = Meter()
        async with client.stream(ops(ids)) as outcomes:
            async for _ in outcomes:
                seen += 1
        measured = meter.result()
        report = outcomes.report
    await http.aclose()
    return {**measured, "ids": ids, "outcomes": seen, "requests": report.requests}


if __name__ == "__main__":
    print(json.dumps(anyio.run(run, int(sys.argv[1]))))
