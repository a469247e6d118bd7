"""One worker process of the multi-process test: mutes peers of one user through a
ZimClient paced by a RedisLimiter, then prints its report's counts as JSON.

Usage: python mute_worker.py REDIS_URL BASE_URL USER COUNT PREFIX BACKEND START_AT

START_AT (Unix time) is when all workers begin, once each has started up: long-running
workers share a budget, and four interpreters importing their libraries at once would
otherwise load both cores during the first window and delay arrivals for that reason.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from zim_async import ConvType, ZimClient
from zim_async.redis import RedisLimiter
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET


async def main(
    redis_url: str, base_url: str, user: str, count: int, prefix: str, start_at: float
) -> None:
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
        await anyio.sleep(max(0.0, start_at - time.time()))
        report = await client.mute_conversations(user, ConvType.PEER, peers)
    print(json.dumps({"requests": report.requests, "late_slots": limiter.late_slots}))


if __name__ == "__main__":
    redis_url, base_url, user, count, prefix, backend, start_at = sys.argv[1:]
    anyio.run(main, redis_url, base_url, user, int(count), prefix, float(start_at), backend=backend)
