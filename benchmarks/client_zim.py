"""The zim_async client of B1-B3, in its own process: ``python -m benchmarks.client_zim``.

    python -m benchmarks.client_zim URL PLAN.jsonl RATE [--guard G] [--in-flight N]
                                    [--shards K] [--profile OUT.txt]

``RATE`` is requests per second or ``none``. Prints one JSON line: the meter, the
report's counts, and which conversations the report calls done and not done.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio
import httpx

from zim_async import ConvType, LocalLimiter, MuteOp, ZimClient
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET

from ._measure import Meter
from ._sharded import ShardedTransport
from .world import read_plan


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ops = [MuteOp(op.user, ConvType.PEER, op.ids, True) for op in read_plan(args.plan)]
    rate = None if args.rate == "none" else float(args.rate)
    limiter = None
    if rate is not None and args.guard is not None:
        limiter = LocalLimiter(rate, guard=args.guard)
    http = None
    if args.shards > 1:
        per = -(-(args.in_flight + 4) // args.shards)
        http = httpx.AsyncClient(transport=ShardedTransport(args.shards, per), timeout=10.0)
    async with ZimClient(
        DEFAULT_APP_ID,
        DEFAULT_SERVER_SECRET,
        base_url=args.url,
        allow_insecure_http=True,
        rate=rate,
        limiter=limiter,
        max_in_flight=args.in_flight,
        http_client=http,
    ) as client:
        meter = Meter()
        report = await client.apply(ops)
        measured = meter.result()
    if http is not None:
        await http.aclose()
    done = [*report.succeeded, *report.unchanged]
    other = [*report.failed, *report.unknown, *report.not_attempted]
    return {
        **measured,
        "requests": report.requests,
        "rate_limited": report.rate_limited,
        "counts": report.counts,
        "ok": [(o.from_user_id, o.conv_id) for o in done],
        "other": [(o.from_user_id, o.conv_id) for o in other],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("plan", type=Path)
    parser.add_argument("rate")
    parser.add_argument("--guard", type=float, default=None)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.profile is None:
        result = anyio.run(run, args)
    else:
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as profiler:
            result = anyio.run(run, args)
        args.profile.write_text(profiler.output_text(unicode=True, color=False))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
