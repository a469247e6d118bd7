"""Scale of the campaign (CI-sized or soak) and the figures the tests measure.

``ZIM_SOAK=1`` scales counts and seeds up. With ``ZIM_SOAK_REPORT=path`` the session
writes what each test tried (and lost) to that JSON file; `report.py` renders it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

SOAK = os.environ.get("ZIM_SOAK") == "1"
REPORT_ENV = "ZIM_SOAK_REPORT"


def scale(ci: int, soak: int) -> int:
    """``soak`` in a soak run, else ``ci``."""
    return soak if SOAK else ci


class Figures:
    """Rows of (area, scenario): how many runs, how many items tried, how many lost."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.started = time.monotonic()

    def add(
        self, area: str, scenario: str, *, tried: int, unit: str, lost: int, runs: int = 1
    ) -> None:
        row = self.rows.setdefault(
            (area, scenario),
            {"area": area, "scenario": scenario, "unit": unit, "runs": 0, "tried": 0, "lost": 0},
        )
        row["runs"] += runs
        row["tried"] += tried
        row["lost"] += lost

    def to_json(self) -> dict[str, Any]:
        return {
            "soak": SOAK,
            "python": platform.python_version(),
            "platform": sys.platform,
            "elapsed_s": round(time.monotonic() - self.started, 1),
            "rows": list(self.rows.values()),
        }

    def write(self) -> None:
        target = os.environ.get(REPORT_ENV)
        if target and self.rows:
            Path(target).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
