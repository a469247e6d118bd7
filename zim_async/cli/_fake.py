"""``zim-async fake-server``: the simulator, for your own experiments. FAKE credentials."""

from __future__ import annotations

import argparse

from zim_async.testing import FaultKind
from zim_async.testing._standalone import add_server_options, serve_forever, server_from_args

__all__ = ["add_fake_server_options", "serve_forever_from_args"]


def add_fake_server_options(parser: argparse.ArgumentParser) -> None:
    # No `late` faults by default: they hold answers for 30 s, rarely what an experiment
    # wants (--fault-kinds can still ask for them).
    add_server_options(parser, fault_kinds=[k for k in FaultKind if k is not FaultKind.LATE])


def serve_forever_from_args(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C; exit code 0 (2 for bad options)."""
    try:
        server = server_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    return serve_forever(server, args.host, args.port)
