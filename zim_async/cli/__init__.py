"""The ``zim-async`` command line (extra ``zim-async[cli]``). See ``docs/cli.md``."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``zim-async``; returns the exit code."""
    try:
        from ._app import main as run
    except ImportError as exc:  # rich is an extra
        import sys

        print(f"zim-async needs its extra: pip install 'zim-async[cli]' ({exc})", file=sys.stderr)
        return 3
    return run(argv)
