"""arq worker whose mute jobs share the 20 calls/s budget with the web app through Redis.

Run: arq redis_arq_worker.WorkerSettings   (see docs/redis.md)
Enqueue: await pool.enqueue_job("mute_groups", "alice", ["g1", "g2"])
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any, ClassVar

from arq.connections import RedisSettings

from zim_async import ConvType, ZimClient
from zim_async.redis import RedisLimiter

REDIS_URL = os.environ.get("ZIM_REDIS_URL", "redis://127.0.0.1:6379/0")


async def startup(ctx: dict[str, Any]) -> None:
    stack = AsyncExitStack()
    limiter = await stack.enter_async_context(
        RedisLimiter.from_url(REDIS_URL, on_redis_error="local")
    )
    ctx["zim"] = await stack.enter_async_context(ZimClient.from_env(limiter=limiter))
    ctx["zim_stack"] = stack


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["zim_stack"].aclose()


async def mute_groups(ctx: dict[str, Any], user_id: str, group_ids: list[str]) -> dict[str, Any]:
    report = await ctx["zim"].mute_conversations(user_id, ConvType.GROUP, group_ids)
    return report.to_dict()


class WorkerSettings:
    functions: ClassVar[list[Any]] = [mute_groups]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    max_jobs = 16
