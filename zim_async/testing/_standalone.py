"""The simulator as a standalone server, seeded with a small demo data set: shared by
``python -m zim_async.testing`` and ``zim-async fake-server``."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable

import anyio

from ._faults import FaultKind, FaultPlan
from ._serve import serve_fake
from ._server import DEFAULT_APP_ID, FakeZimServer

__all__ = ["DEMO_USERS", "add_server_options", "build_server", "serve_forever", "server_from_args"]

DEMO_USERS = ("alice", "bob", "carol", "dave")


def build_server(
    *,
    qps: float,
    latency_ms: float,
    jitter_ms: float = 0.0,
    fault_rate: float = 0.0,
    fault_kinds: Iterable[FaultKind] = tuple(FaultKind),
    seed: int = 0,
) -> FakeZimServer:
    """A server with these options (``qps=0``: no limit), seeded with demo users."""
    server = FakeZimServer(
        qps=qps or None,
        latency=latency_ms / 1000,
        jitter=jitter_ms / 1000,
        faults=FaultPlan(rate=fault_rate, kinds=list(fault_kinds)),
        seed=seed,
    )
    server.register_users(*DEMO_USERS)
    server.create_group("demo-group", ["alice", "bob", "carol"], name="Demo group")
    server.add_conversation("alice", "bob")
    return server


def add_server_options(
    parser: argparse.ArgumentParser, *, fault_kinds: Iterable[FaultKind] = tuple(FaultKind)
) -> None:
    """The standalone server's options; ``fault_kinds`` is the default of --fault-kinds."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--qps", type=float, default=20.0, help="per AppId and Action; 0 = none")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="0.0 to 1.0")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(kind.value for kind in fault_kinds),
        help="comma-separated subset of: " + ",".join(kind.value for kind in FaultKind),
    )
    parser.add_argument("--seed", type=int, default=0)


def server_from_args(args: argparse.Namespace) -> FakeZimServer:
    """The server the options of `add_server_options` describe."""
    return build_server(
        qps=args.qps,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        fault_rate=args.fault_rate,
        fault_kinds=[FaultKind(k.strip()) for k in args.fault_kinds.split(",") if k.strip()],
        seed=args.seed,
    )


async def _serve(server: FakeZimServer, host: str, port: int) -> None:
    async with serve_fake(server, host=host, port=port) as url:
        print(f"FAKE ZIM server API (testing only) listening on {url}")
        print(f"  export ZIM_BASE_URL={url} ZIM_APP_ID={DEFAULT_APP_ID} ZIM_ALLOW_INSECURE_HTTP=1")
        # Even a fake secret is not printed: commands' output ends up in logs and tickets.
        print(
            "  export ZIM_SERVER_SECRET=\"$(python -c 'from zim_async.testing import"
            " DEFAULT_SERVER_SECRET as s; print(s)')\""
        )
        print(f"  users: {', '.join(DEMO_USERS)}; group demo-group (alice, bob, carol)")
        print("Press Ctrl+C to stop.", flush=True)
        await anyio.sleep_forever()


def serve_forever(server: FakeZimServer, host: str, port: int) -> int:
    """Serve until Ctrl+C (the normal way to stop); exit code 0."""
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(_serve, server, host, port)
    return 0
