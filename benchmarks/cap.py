"""B1 and B2: a whole plan against the simulator over real sockets, at the API's cap.

The simulator (uvicorn in a thread of this process) counts arrivals in sliding
one-second windows and refuses with 660300005 above ``rate``; the client runs in its
own process, as it would in production: sharing this interpreter's GIL would add tens
of milliseconds of arrival jitter that no real network path has.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import attrs

from zim_async.testing import FakeZimServer, serve_fake

from ._common import ROOT, max_in_window
from .world import audit, seed

RATE_LIMITED = 660300005
LATENCY, JITTER = 0.05, 0.2  # answers take 50-250 ms


@attrs.frozen(kw_only=True)
class Variant:
    """One row of the B1/B2 table."""

    label: str
    kind: str  # "zim", "aiolimiter" or "pyrate"
    rate: float
    conversations: int
    guard: float | None = None  # None: the limiter's default
    in_flight: int = 16
    shards: int = 1  # >1: the client's HTTP pool split in that many (see _sharded.py)

    def command(self, url: str, plan: Path) -> list[str]:
        python = [sys.executable, "-m"]
        if self.kind != "zim":
            return [*python, "benchmarks.client_alt", self.kind, url, str(plan), str(self.rate)]
        command = [*python, "benchmarks.client_zim", url, str(plan), str(self.rate)]
        command += ["--in-flight", str(self.in_flight), "--shards", str(self.shards)]
        if self.guard is not None:
            command += ["--guard", str(self.guard)]
        return command

    @property
    def minimum_s(self) -> float:
        """The least wall time any client can take: requests at the cap, one answer wait."""
        requests = math.ceil(self.conversations / 10)
        return (requests - 1) / self.rate + LATENCY


def utilisation(accepted: list[float], rate: float) -> float:
    """Accepted requests/s over ``rate``: ``(len - 1) / (last - first) / rate``."""
    if len(accepted) < 2 or accepted[-1] <= accepted[0]:
        return math.nan
    return (len(accepted) - 1) / (accepted[-1] - accepted[0]) / rate


async def _run(variant: Variant, repeat: int) -> dict[str, Any]:
    server = FakeZimServer(qps=variant.rate, latency=LATENCY, jitter=JITTER, seed=repeat)
    world = seed(server, variant.conversations, seed=repeat)
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.jsonl"
        world.write(plan)
        async with serve_fake(server) as url:
            cpu0 = time.process_time()  # this process is the simulator's now
            done = await anyio.run_process(variant.command(url, plan), cwd=ROOT, check=False)
            server_cpu = time.process_time() - cpu0
    if done.returncode != 0:
        raise RuntimeError(f"{variant.label} failed:\n{done.stderr.decode()[-3000:]}")
    client = json.loads(done.stdout.decode().strip().splitlines()[-1])
    records = server.requests
    arrivals = sorted(r.arrival for r in records)
    start = arrivals[0]
    # Issue 3's measure: accepted arrivals after the first second (the pacer's start-up
    # is not the steady rate), (count - 1) over the time from the first to the last.
    accepted = sorted(
        r.arrival for r in records if r.code != RATE_LIMITED and r.arrival >= start + 1.0
    )
    truth = audit(
        world,
        server,
        (tuple(k) for k in client["ok"]),
        (tuple(k) for k in client["other"]),
    )
    return {
        "requests": len(records),
        "rate_limited": sum(r.code == RATE_LIMITED for r in records),
        "max_in_1s": max_in_window(arrivals, 1.0),
        "utilisation": utilisation(accepted, variant.rate),
        "wall_ratio": client["elapsed_s"] / variant.minimum_s,
        "elapsed_s": client["elapsed_s"],
        "cpu_s": client["cpu_s"],
        "peak_rss_mb": client["peak_rss_mb"],
        "server_cpu_s": server_cpu,
        **truth,
        "timeline": [
            (round(r.arrival - start, 6), r.code == RATE_LIMITED)
            for r in sorted(records, key=lambda r: r.arrival)
        ],
    }


def run(variant: Variant, repeat: int) -> dict[str, Any]:
    """One repeat of one variant, on a fresh simulator."""
    return anyio.run(_run, variant, repeat)
