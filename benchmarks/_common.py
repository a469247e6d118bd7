"""Helpers shared by the benchmark sections: repeats, statistics, subprocesses, windows."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
PACKAGES = ("zim-async", "httpx", "anyio", "trio", "uvicorn", "aiolimiter", "pyrate-limiter")


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:  # the model name says more than the architecture where /proc is there
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}",
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **{package: version(package) for package in PACKAGES},
    }


def run_json(module: str, *args: str, timeout: float = 600.0) -> dict[str, Any]:
    """Run ``python -m module args`` in its own process; parse the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most events in any half-open window ``(t - window, t]``."""
    ordered = sorted(times)
    best = start = 0
    for end, now in enumerate(ordered):
        while ordered[start] <= now - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def fmt(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def summary(values: Sequence[float], digits: int = 3) -> str:
    """Median and range of the repeats: ``median [min, max]``."""
    if not values:
        return "-"
    middle = statistics.median(values)
    low, high = min(values), max(values)
    if low == high:
        return fmt(middle, digits)
    return f"{fmt(middle, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
