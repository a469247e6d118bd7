"""Writing RESULTS.md from the measured figures. Every number comes from the run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ._common import summary

Rows = Sequence[dict[str, Any]]


def column(rows: Rows, name: str) -> list[float]:
    return [float(row[name]) for row in rows]


def verdict(values: Sequence[float], ok: bool) -> str:
    return "met" if values and ok else "**missed**"


def env_table(env: dict[str, str]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in env.items()]
    return lines


B1_COLUMNS = (
    ("utilisation", "accepted req/s ÷ rate", 4),
    ("rate_limited", "660300005 answers", 0),
    ("max_in_1s", "max arrivals in any 1 s", 0),
    ("wall_ratio", "wall ÷ minimum", 3),
    ("cpu_s", "client CPU s", 2),
    ("peak_rss_mb", "client peak RSS MB", 1),
    ("false_ok", "reported done, not done", 0),
    ("unaccounted", "unaccounted", 0),
    ("left_undone", "doable, left undone", 0),
)


def b1_table(runs: Sequence[tuple[Any, Rows]]) -> list[str]:
    head = "| client | rate/s | conversations | " + " | ".join(c[1] for c in B1_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (3 + len(B1_COLUMNS))]
    for variant, rows in runs:
        cells = [summary(column(rows, name), digits) for name, _, digits in B1_COLUMNS]
        lines.append(
            f"| {variant.label} | {variant.rate:g} | {variant.conversations:,} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def b5_table(b5: dict[str, dict[str, Any]], labels: dict[str, str]) -> list[str]:
    lines = [
        "| limiter, as its docs suggest | µs per acquire, no wait | CPU-s over 2 s, 10,000"
        " waiters | FIFO inversions of 300 | max in any 1 s (100 at once, 20/s) | seconds"
        " for 100 | runs on trio |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, data in b5.items():
        trio = data["trio"]
        lines.append(
            f"| {labels[kind]} | {summary(column(data['fast'], 'us_per_acquire'), 2)}"
            f" | {summary(column(data['waiters'], 'cpu_s_per_2s'), 4)}"
            f" | {summary(column(data['window'], 'inversions'), 0)}"
            f" | {summary(column(data['window'], 'max_in_1s'), 0)}"
            f" | {summary(column(data['window'], 'duration_s'), 2)}"
            f" | {'yes' if trio['trio'] else 'no: ' + trio['error']} |"
        )
    return lines


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
