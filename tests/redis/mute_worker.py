"""One worker process of the multi-process test: mutes peers of one user through a
ZimClient paced by a RedisLimiter, then prints its report's counts as JSON.

Usage: python mute_worker.py REDIS_URL BASE_URL USER COUNT PREFIX BACKEND
"""

from __future__ import annotations

import json
import sys

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
        report = await client.mute_conversations(user, ConvType.PEER, peers)
    print(json.dumps({"requests": report.requests, "late_slots": limiter.late_slots}))


if __name__ == "__main__":
    redis_url, base_url, user, count, prefix, backend = sys.argv[1:]
    anyio.run(main, redis_url, base_url, user, int(count), prefix, backend=backend)
