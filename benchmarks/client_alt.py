"""What users write instead of zim_async, in its own process: B2's alternatives, B3's raw loop.

    python -m benchmarks.client_alt KIND URL PLAN.jsonl RATE

``aiolimiter`` and ``pyrate`` follow their libraries' README recipes around the API
the way its docs show it (sign, POST, read ``Code``), over ``asyncio.gather`` of all
chunks. They count a chunk done when ``Code`` is 0, as the sample code does: the
ErrorList of a partial failure is not read, and nothing is retried. ``raw`` is B3's
floor: 16 workers POSTing signed requests and decoding the answers, no pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

import httpx

from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET

from ._measure import Meter
from .world import Key, read_plan

ACTION = "SilenceConvNotification"


def signed_params() -> dict[str, str]:
    """The six public parameters, as ZEGO's sample code builds them."""
    nonce = secrets.token_hex(8)
    timestamp = int(time.time())
    text = f"{DEFAULT_APP_ID}{nonce}{DEFAULT_SERVER_SECRET}{timestamp}"
    return {
        "Action": ACTION,
        "AppId": str(DEFAULT_APP_ID),
        "SignatureNonce": nonce,
        "Timestamp": str(timestamp),
        "SignatureVersion": "2.0",
        "Signature": hashlib.md5(text.encode()).hexdigest(),
    }


def body(user: str, ids: list[str]) -> dict[str, object]:
    return {"FromUserId": user, "ConvType": 0, "ConvIds": ids, "Enable": True}


def chunks(plan: Path) -> list[tuple[str, list[str]]]:
    return [
        (op.user, list(op.ids[i : i + 10]))
        for op in read_plan(plan)
        for i in range(0, len(op.ids), 10)
    ]


async def gather_all(calls: Iterable[Coroutine[Any, Any, None]]) -> str:
    """``asyncio.gather`` as such scripts use it: the first exception ends the script,
    which then knows only what it had recorded. Returns that exception, or ""."""
    try:
        await asyncio.gather(*calls)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return ""


async def with_aiolimiter(url: str, plan: Path, rate: float) -> dict[str, Any]:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(rate, 1)  # "rate requests per 1 second", as in its README
    done: list[Key] = []
    failed: list[Key] = []
    async with httpx.AsyncClient() as http:

        async def mute(user: str, ids: list[str]) -> None:
            async with limiter:
                response = await http.post(url, params=signed_params(), json=body(user, ids))
            answer = response.json()
            (done if answer["Code"] == 0 else failed).extend((user, c) for c in ids)

        work = chunks(plan)
        meter = Meter()
        crashed = await gather_all(mute(user, ids) for user, ids in work)
        return {
            **meter.result(),
            "requests": len(work),
            "crashed": crashed,
            "ok": done,
            "other": failed,
        }


async def with_pyrate(url: str, plan: Path, rate: float) -> dict[str, Any]:
    from pyrate_limiter import Duration, limiter_factory
    from pyrate_limiter.extras.httpx_limiter import AsyncRateLimiterTransport

    limiter = limiter_factory.create_inmemory_limiter(
        rate_per_duration=int(rate), duration=Duration.SECOND
    )
    done: list[Key] = []
    failed: list[Key] = []
    transport = AsyncRateLimiterTransport(limiter=limiter)
    async with httpx.AsyncClient(transport=transport) as http:

        async def mute(user: str, ids: list[str]) -> None:
            response = await http.post(url, params=signed_params(), json=body(user, ids))
            answer = response.json()
            (done if answer["Code"] == 0 else failed).extend((user, c) for c in ids)

        work = chunks(plan)
        meter = Meter()
        crashed = await gather_all(mute(user, ids) for user, ids in work)
        result = {
            **meter.result(),
            "requests": len(work),
            "crashed": crashed,
            "ok": done,
            "other": failed,
        }
    limiter.close()  # stops its leak thread
    return result


async def raw_loop(url: str, plan: Path, workers: int = 16) -> dict[str, Any]:
    queue: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
    work = chunks(plan)
    for item in work:
        queue.put_nowait(item)
    codes: list[int] = []
    limits = httpx.Limits(max_connections=workers + 4, max_keepalive_connections=workers)
    async with httpx.AsyncClient(limits=limits) as http:

        async def worker() -> None:
            while not queue.empty():
                user, ids = queue.get_nowait()
                response = await http.post(url, params=signed_params(), json=body(user, ids))
                codes.append(json.loads(response.content)["Code"])

        meter = Meter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return {**meter.result(), "requests": len(codes), "ok": [], "other": []}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["aiolimiter", "pyrate", "raw"])
    parser.add_argument("url")
    parser.add_argument("plan", type=Path)
    parser.add_argument("rate", type=float)
    args = parser.parse_args()
    if args.kind == "aiolimiter":
        result = asyncio.run(with_aiolimiter(args.url, args.plan, args.rate))
    elif args.kind == "pyrate":
        result = asyncio.run(with_pyrate(args.url, args.plan, args.rate))
    else:
        result = asyncio.run(raw_loop(args.url, args.plan))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
