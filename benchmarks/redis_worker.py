"""One of B6's four processes: ``python -m benchmarks.redis_worker``.

    python -m benchmarks.redis_worker REDIS_URL BASE_URL USER COUNT PREFIX BACKEND

Mutes ``COUNT`` peers of ``USER`` through a ZimClient paced by a `RedisLimiter` shared
with the other processes; prints one JSON line (requests, late slots, wall time).
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from zim_async import ConvType, ZimClient
from zim_async.redis import RedisLimiter
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET


async def main(redis_url: str, base_url: str, user: str, count: int, prefix: str) -> None:
    peers = [f"p{i}" for i in range(count)]
    async with (
        RedisLimiter.from_url(redis_url, prefix=prefix) as limiter,
        ZimClient(
            DEFAULT_APP_ID,
            DEFAULT_SERVER_SECRET,
            base_url=base_url,
            allow_insecure_http=True,
            limiter=limiter,
        ) as client,
    ):
        started = time.perf_counter()
        report = await client.mute_conversations(user, ConvType.PEER, peers)
        elapsed = time.perf_counter() - started
    result = {
        "requests": report.requests,
        "rate_limited": report.rate_limited,
        "late_slots": limiter.late_slots,
        "elapsed_s": elapsed,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    redis_url, base_url, user, count, prefix, backend = sys.argv[1:]
    anyio.run(main, redis_url, base_url, user, int(count), prefix, backend=backend)
