"""``zim-async fake-server``: the simulator, for your own experiments. FAKE credentials."""

from __future__ import annotations

import argparse
import contextlib

import anyio

from zim_async.testing import DEFAULT_APP_ID, FakeZimServer, FaultKind, FaultPlan, serve_fake

__all__ = ["serve_forever"]

DEMO_USERS = ("alice", "bob", "carol", "dave")


def _server(args: argparse.Namespace) -> FakeZimServer:
    # No `late` faults: they hold answers for 30 s, which is rarely what an experiment wants.
    kinds = [kind for kind in FaultKind if kind is not FaultKind.LATE]
    server = FakeZimServer(
        qps=args.qps or None,
        latency=args.latency_ms / 1000,
        faults=FaultPlan(rate=args.fault_rate, kinds=kinds),
        seed=args.seed,
    )
    server.register_users(*DEMO_USERS)
    server.create_group("demo-group", ["alice", "bob", "carol"], name="Demo group")
    server.add_conversation("alice", "bob")
    return server


async def _serve(server: FakeZimServer, host: str, port: int) -> None:
    async with serve_fake(server, host=host, port=port) as url:
        print(f"FAKE ZIM server API (testing only) listening on {url}")
        print(f"  export ZIM_BASE_URL={url} ZIM_APP_ID={DEFAULT_APP_ID} ZIM_ALLOW_INSECURE_HTTP=1")
        print(
            "  export ZIM_SERVER_SECRET=\"$(python -c 'from zim_async.testing import"
            " DEFAULT_SERVER_SECRET as s; print(s)')\""
        )
        print(f"  users: {', '.join(DEMO_USERS)}; group demo-group (alice, bob, carol)")
        print("Press Ctrl+C to stop.", flush=True)
        await anyio.sleep_forever()


def serve_forever(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C; exit code 0."""
    try:
        server = _server(args)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(_serve, server, args.host, args.port)
    return 0
