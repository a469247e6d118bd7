"""FastAPI endpoint that mutes conversations, paced by the budget shared through Redis.

Run: uvicorn redis_fastapi_app:app --port 8001   (see docs/redis.md)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import BaseModel

from zim_async import ConvType, ZimClient
from zim_async.redis import RedisLimiter

REDIS_URL = os.environ.get("ZIM_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One limiter and one client per worker process, opened for the app's lifetime.
    async with (
        RedisLimiter.from_url(REDIS_URL, on_redis_error="local") as limiter,
        ZimClient.from_env(limiter=limiter) as client,
    ):
        app.state.zim = client
        yield


app = FastAPI(lifespan=lifespan)


class MuteRequest(BaseModel):
    user_id: str
    group_ids: list[str]


@app.post("/mute")
async def mute(body: MuteRequest, request: Request) -> dict[str, object]:
    client: ZimClient = request.app.state.zim
    report = await client.mute_conversations(body.user_id, ConvType.GROUP, body.group_ids)
    return report.to_dict()
