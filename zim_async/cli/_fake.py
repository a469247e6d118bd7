"""``zim-async fake-server``: the simulator, for your own experiments. FAKE credentials."""

from __future__ import annotations

import argparse

from zim_async.testing import FaultKind
from zim_async.testing._standalone import build_server, serve_forever

__all__ = ["serve_forever_from_args"]


def serve_forever_from_args(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C; exit code 0 (2 for bad options)."""
    try:
        server = build_server(
            qps=args.qps,
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            # No `late` faults: they hold answers for 30 s, rarely what an experiment wants.
            fault_kinds=[kind for kind in FaultKind if kind is not FaultKind.LATE],
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    return serve_forever(server, args.host, args.port)
