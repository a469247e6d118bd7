"""Run the fake ZIM server from the command line: ``python -m zim_async.testing``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._faults import FaultKind
from ._server import FakeZimServer
from ._standalone import build_server, serve_forever


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


def server_from_args(args: argparse.Namespace) -> FakeZimServer:
    """The server the command-line options describe."""
    return build_server(
        qps=args.qps,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        fault_rate=args.fault_rate,
        fault_kinds=[FaultKind(k.strip()) for k in args.fault_kinds.split(",") if k.strip()],
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        server = server_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve_forever(server, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
