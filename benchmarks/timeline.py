"""The PNG: arrivals per 100 ms at the simulator, and the trailing one-second count
against the cap, for each client of the 20/s runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

Arrivals = Sequence[tuple[float, bool]]  # (seconds since the first arrival, refused)
BIN = 0.1


def _trailing(times: Sequence[float], window: float = 1.0) -> list[int]:
    counts, start = [], 0
    for end, now in enumerate(times):
        while times[start] <= now - window:
            start += 1
        counts.append(end - start + 1)
    return counts


def draw(runs: Sequence[tuple[str, Arrivals]], cap: float, path: Path) -> None:
    fig, axes = plt.subplots(len(runs), 1, figsize=(12, 2.4 * len(runs)), sharex=True)
    if len(runs) == 1:
        axes = [axes]
    for ax, (label, arrivals) in zip(axes, runs, strict=True):
        bins = int(max(t for t, _ in arrivals) / BIN) + 1
        accepted = [0] * bins
        refused = [0] * bins
        for t, was_refused in arrivals:
            (refused if was_refused else accepted)[int(t / BIN)] += 1
        left = [i * BIN for i in range(bins)]
        ax.bar(left, accepted, width=BIN, align="edge", color="#4c72b0", label="accepted")
        ax.bar(
            left,
            refused,
            width=BIN,
            align="edge",
            bottom=accepted,
            color="#c44e52",
            label="refused (660300005)",
        )
        ax.set_ylabel("per 100 ms")
        ax.set_title(label, loc="left", fontsize=10)
        twin = ax.twinx()
        times = [t for t, _ in arrivals]
        twin.step(
            times,
            _trailing(times),
            where="post",
            color="#55a868",
            lw=1.2,
            label="arrivals in the last 1 s",
        )
        twin.axhline(cap, color="black", ls="--", lw=1, label=f"cap: {cap:g} per 1 s")
        twin.set_ylim(0, cap * 2.2)
        twin.set_ylabel("per 1 s")
        if ax is axes[0]:
            handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            ax.legend(handles=handles, loc="upper right", fontsize=8, ncol=4)
    axes[-1].set_xlabel("seconds since the first arrival at the simulator")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
