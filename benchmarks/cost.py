"""B3: client CPU per request, zim_async against a raw httpx loop, pacing off.

Both clients run in their own process against the same kind of local simulator (no
rate limit, no latency), with 16 requests in flight; CPU time is the client process's
own, from the first request to the last answer.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from zim_async.testing import FakeZimServer, serve_fake

from ._common import ROOT
from .world import seed

CONVERSATIONS = 15_000  # 1,500 requests


async def _run(kind: str, repeat: int, profile: Path | None, conversations: int) -> dict[str, Any]:
    server = FakeZimServer(qps=None, seed=repeat)
    world = seed(server, conversations, seed=repeat)
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.jsonl"
        world.write(plan)
        async with serve_fake(server) as url:
            if kind == "zim":
                command = ["benchmarks.client_zim", url, str(plan), "none"]
                if profile is not None:
                    command += ["--profile", str(profile)]
            else:
                command = ["benchmarks.client_alt", "raw", url, str(plan), "0"]
            done = await anyio.run_process([sys.executable, "-m", *command], cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"B3 {kind} failed:\n{done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    requests = len(server.requests)
    return {
        "cpu_per_request_ms": result["cpu_s"] / requests * 1000,
        "requests_per_s": requests / result["elapsed_s"],
        "requests": requests,
    }


def run(
    kind: str, repeat: int, profile: Path | None = None, *, conversations: int = CONVERSATIONS
) -> dict[str, Any]:
    """One client run on a fresh simulator; with ``profile``, under pyinstrument."""
    return anyio.run(_run, kind, repeat, profile, conversations)
