"""Run the fake ZIM server from the command line: ``python -m zim_async.testing``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

import anyio

from ._faults import FaultKind, FaultPlan
from ._serve import serve_fake
from ._server import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer

DEMO_USERS = ("alice", "bob", "carol", "dave")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zim_async.testing",
        description="Serve a FAKE ZIM server API locally, for testing. Never use in production.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--qps", type=float, default=20.0, help="per AppId and Action; 0 = none")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="0.0 to 1.0")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(kind.value for kind in FaultKind),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def build_server(args: argparse.Namespace) -> FakeZimServer:
    """The server the options describe, seeded with a small demo data set."""
    kinds = [FaultKind(kind.strip()) for kind in args.fault_kinds.split(",") if kind.strip()]
    server = FakeZimServer(
        qps=args.qps or None,
        latency=args.latency_ms / 1000,
        jitter=args.jitter_ms / 1000,
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
        print(f"  AppId:        {DEFAULT_APP_ID}  (fake)")
        print(f"  ServerSecret: {DEFAULT_SERVER_SECRET}  (fake, not a real credential)")
        print(f"  users: {', '.join(DEMO_USERS)}; group 'demo-group' (alice, bob, carol)")
        print("Press Ctrl+C to stop.", flush=True)
        await anyio.sleep_forever()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        server = build_server(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the normal way to stop
        anyio.run(_serve, server, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
