"""A user-level workaround measured in B1: spread requests over several httpx pools.

httpcore 1.0's pool re-scans every connection on every request and answer (with a
nested scan for idle ones, and a socket poll per connection), so its CPU cost per
request grows with the square of the pool size. Several small pools keep each scan
short; this transport round-robins over them.
"""

from __future__ import annotations

import itertools

import httpx


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` independent pools of ``connections_each`` connections."""

    def __init__(self, shards: int, connections_each: int) -> None:
        limits = httpx.Limits(
            max_connections=connections_each, max_keepalive_connections=connections_each
        )
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._next = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
