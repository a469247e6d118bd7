"""Run a plan against a URL in its own process and print the report as JSON.

The pacing test runs the client here, apart from the simulator's process, as in real
deployments: sharing one interpreter (and its GIL) with the server would add tens of
milliseconds of arrival jitter that no real network path has on loopback.

    python paced_client.py URL PLAN.jsonl BACKEND
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import anyio

from zim_async import MuteOp, ZimClient
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET


def read_plan(path: str) -> Iterator[MuteOp]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield MuteOp(row["from_user_id"], row["conv_type"], row["conv_ids"], row["enable"])


async def main(url: str, plan: str) -> None:
    async with ZimClient(
        DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, base_url=url, allow_insecure_http=True
    ) as client:
        report = await client.apply(list(read_plan(plan)))
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], backend=sys.argv[3])
