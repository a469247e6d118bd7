"""The campaign's own tools: the secret watch catches a leak; the report renders."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from .conftest import SecretWatch, _Keep
from .figures import Figures
from .report import main, render
from .world import MARKER_SECRET

pytestmark = [pytest.mark.reliability]


def test_the_secret_watch_catches_a_leak_in_logs_and_objects() -> None:
    handler = _Keep()
    logger = logging.getLogger("tests.reliability.campaign-check")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the deliberate leak must not reach this test's own watch
    try:
        watch = SecretWatch(handler)
        watch.check()  # nothing seen yet
        logger.debug("signing with %s", MARKER_SECRET)
        with pytest.raises(AssertionError, match="leaked 1 times"):
            watch.check()
    finally:
        logger.removeHandler(handler)
    other = SecretWatch(_Keep())
    other.see(RuntimeError(f"oops {MARKER_SECRET}"))
    with pytest.raises(AssertionError, match="leaked"):
        other.check()


def test_the_report_renders_the_measured_rows(tmp_path: Path) -> None:
    figures = Figures()
    figures.add("faults", "20 % faulted", tried=10_000, unit="conversations", lost=0)
    figures.add("faults", "20 % faulted", tried=5_000, unit="conversations", lost=0)
    figures.add("crash", "SIGKILL", tried=3, unit="kills", lost=1)
    text = render(figures.to_json())
    assert "| faults | 20 % faulted | 2 | 15,000 conversations | 0 |" in text
    assert "| crash | SIGKILL | 1 | 3 kills | 1 |" in text
    assert "**Lost in total: 1.**" in text
    source = tmp_path / "figures.json"
    source.write_text(json.dumps(figures.to_json()), encoding="utf-8")
    assert main([str(source), str(tmp_path / "out.md")]) == 0
    assert (tmp_path / "out.md").read_text(encoding="utf-8") == text
