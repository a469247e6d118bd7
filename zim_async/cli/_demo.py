"""``zim-async demo``: a realistic bulk mute against the embedded simulator.

The simulator (FAKE credentials, 127.0.0.1 only) plays a small app: 57 registered users
in 200 groups, three users who never registered, peers who left, groups the user is not
in, conversations already muted, and a few transient faults (5xx, dropped connections,
garbled answers, "server busy"). The plan mutes 50 conversations for each of 60 users.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from zim_async import ConvType, MuteOp
from zim_async.testing import (
    DEFAULT_APP_ID,
    DEFAULT_SERVER_SECRET,
    FakeZimServer,
    FaultKind,
    FaultPlan,
    serve_fake,
)

from ._run import Connection

__all__ = ["demo_plan", "demo_server", "serve_demo"]

USERS = 60
UNREGISTERED_USERS = 3
GROUPS = 200
GROUPS_PER_USER = 40
PEERS_PER_USER = 10
FAULTS = (
    FaultKind.HTTP_500,
    FaultKind.HTTP_502,
    FaultKind.DROP,
    FaultKind.MALFORMED_JSON,
    FaultKind.CODE_1,
    FaultKind.CODE_660000001,
)


def demo_server(seed: int, fault_rate: float = 0.02) -> FakeZimServer:
    """The simulator, at the real API's 20 requests/s, with a little latency."""
    return FakeZimServer(
        qps=20,
        latency=0.02,
        jitter=0.03,
        faults=FaultPlan(rate=fault_rate, kinds=FAULTS),
        seed=seed,
    )


def demo_plan(server: FakeZimServer, seed: int) -> list[MuteOp]:
    """Seed ``server`` and return the plan: 50 conversations per user (groups and peers)."""
    rng = random.Random(seed)
    users = [f"user{n:02d}" for n in range(USERS)]
    registered = users[UNREGISTERED_USERS:]
    server.register_users(*registered)
    groups = [f"team-{n:03d}" for n in range(GROUPS)]
    for group in groups:
        server.create_group(group, name=group.replace("-", " ").title())
    ops: list[MuteOp] = []
    for user in users:
        joined = rng.sample(groups, GROUPS_PER_USER)
        if user in registered:
            # Two of the planned groups are ones the user never joined (660600024).
            for group in joined[2:]:
                server.state.join_group(group, user)
        peers = rng.sample([u for u in registered if u != user], PEERS_PER_USER - 1)
        peers.append(f"left-{user}")  # a peer who deleted their account (660700015)
        for peer in peers:
            server.add_conversation(user, peer)
        if user in registered:  # about 10 % are already muted: they come back unchanged
            server.state.mute(user, ConvType.GROUP, *rng.sample(joined[2:], 4))
            server.state.mute(user, ConvType.PEER, *rng.sample(peers[:-1], 1))
        ops.append(MuteOp(user, ConvType.GROUP, joined, True))
        ops.append(MuteOp(user, ConvType.PEER, peers, True))
    return ops


@asynccontextmanager
async def serve_demo(
    server: FakeZimServer, *, rate: float, max_in_flight: int
) -> AsyncIterator[Connection]:
    """Serve the simulator on 127.0.0.1; yield a connection with its FAKE credentials."""
    async with serve_fake(server, host="127.0.0.1") as url:
        yield Connection(
            app_id=DEFAULT_APP_ID,
            secret=DEFAULT_SERVER_SECRET,
            base_url=url,
            rate=rate,
            max_in_flight=max_in_flight,
            timeout=5.0,
            allow_insecure_http=True,
        )
