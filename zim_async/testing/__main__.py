"""Run the fake ZIM server from the command line: ``python -m zim_async.testing``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._standalone import add_server_options, serve_forever, server_from_args

__all__ = ["main", "server_from_args"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zim_async.testing",
        description="Serve a FAKE ZIM server API locally, for testing. Never use in production.",
    )
    add_server_options(parser)
    return parser


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
