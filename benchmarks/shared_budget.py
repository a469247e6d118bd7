"""B6: four OS processes share one 20/s budget through `RedisLimiter`.

One simulator (``qps=20``, answers in 50 to 250 ms) over real sockets, one
``redis-server`` on a random loopback port, both started here; four worker processes
(two on asyncio, two on trio) each mute ``PEERS`` peers of their own user through one
Redis key. Measured at the simulator: the busiest one-second window, 660300005
answers, accepted req/s ÷ 20 after the first second (as in B1); measured at Redis
(``INFO commandstats`` before and after): commands and ``EVALSHA`` calls per request.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import anyio

from zim_async.testing import FakeZimServer, serve_fake

from ._common import ROOT, max_in_window
from ._redis_server import RedisServer
from .cap import JITTER, LATENCY, RATE_LIMITED, utilisation

PROCESSES = 4
PEERS = 500  # 50 requests of 10 per process (the per-user limit): 200, about 10 s at 20/s
RATE = 20.0


async def _run(redis: RedisServer, repeat: int) -> dict[str, Any]:
    server = FakeZimServer(qps=RATE, latency=LATENCY, jitter=JITTER, seed=repeat)
    users = [f"w{i}" for i in range(PROCESSES)]
    server.register_users(*users, *(f"p{i}" for i in range(PEERS)))
    prefix = f"bench:{uuid.uuid4().hex}"  # a fresh key: no cooldown left from a repeat
    outputs: list[dict[str, Any]] = []
    before = redis.command_calls()
    async with serve_fake(server) as url:

        async def worker(i: int) -> None:
            backend = ("asyncio", "trio")[i % 2]
            args = [redis.url, url, users[i], str(PEERS), prefix, backend]
            command = [sys.executable, "-m", "benchmarks.redis_worker", *args]
            done = await anyio.run_process(command, cwd=ROOT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"B6 worker {i} failed:\n{done.stderr.decode()[-3000:]}")
            outputs.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))

        async with anyio.create_task_group() as tg:
            for i in range(PROCESSES):
                tg.start_soon(worker, i)
    after = redis.command_calls()
    delta = {name: after[name] - before.get(name, 0) for name in after}
    delta["info"] = delta.get("info", 0) - 1  # the "after" INFO itself
    records = [r for r in server.requests if r.action == "SilenceConvNotification"]
    arrivals = sorted(r.arrival for r in records)
    start = arrivals[0]
    accepted = [r.arrival for r in records if r.code != RATE_LIMITED and r.arrival >= start + 1.0]
    requests = len(records)
    # Commands run inside a script are counted too: each script run reads TIME once,
    # so the TIME calls beyond the runs are the clients' own (clock calibration).
    scripts = delta.get("evalsha", 0) + delta.get("eval", 0)
    ran = scripts - delta.get("evalsha!", 0) - delta.get("eval!", 0)
    setup = delta.get("hello", 0) + delta.get("time", 0) - ran
    return {
        "requests": requests,
        "rate_limited": sum(r.code == RATE_LIMITED for r in records),
        "max_in_1s": max_in_window(arrivals, 1.0),
        "utilisation": utilisation(sorted(accepted), RATE),
        # Round trips per acquire: the script calls (a NOSCRIPT retry and its SCRIPT
        # LOAD included) over the requests that reached the simulator.
        "round_trips": (scripts + delta.get("script|load", 0)) / requests,
        "setup_per_process": setup / PROCESSES,
        "late_slots": sum(o["late_slots"] for o in outputs),
        "span_s": arrivals[-1] - arrivals[0],
        "all_muted": all(server.muted(u, 0) == {f"p{i}" for i in range(PEERS)} for u in users),
        "commands": {name: n for name, n in sorted(delta.items()) if n},
    }


def run(repeats: int) -> tuple[str, list[dict[str, Any]]]:
    """``repeats`` runs against one redis-server; returns its version and the rows."""
    with RedisServer() as redis:
        rows = [anyio.run(_run, redis, repeat) for repeat in range(repeats)]
        return redis.version(), rows
