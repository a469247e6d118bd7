"""What a run leaves behind: the report JSON, the failures CSV, the revert plan, and the
summary table. The CSV files are written as outcomes arrive (bounded memory)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from zim_async import ConvOutcome, MuteReport, Status

from ._planfile import PLAN_FIELDS

__all__ = ["OutcomeFiles", "print_summary", "write_report"]

_TOP_CODES = 5


def _plan_row(outcome: ConvOutcome, enable: bool) -> list[object]:
    return [
        outcome.from_user_id,
        int(outcome.conv_type),
        outcome.conv_id,
        "true" if enable else "false",
    ]


class OutcomeFiles:
    """Streams failed conversations (plan format plus ``code,message``) and a revert plan
    (succeeded ones, enable flipped) to CSV files; counts failure codes for the summary."""

    def __init__(self, failures: Path | None, revert: Path | None) -> None:
        self._files: list[IO[str]] = []
        self._failures = self._open(failures, [*PLAN_FIELDS, "code", "message"])
        self._revert = self._open(revert, list(PLAN_FIELDS))
        self.codes: Counter[int | None] = Counter()
        self.meanings: dict[int | None, str] = {}

    def _open(self, path: Path | None, header: list[str]) -> Any:
        if path is None:
            return None
        stream = path.open("w", encoding="utf-8", newline="")
        self._files.append(stream)
        writer = csv.writer(stream)
        writer.writerow(header)
        return writer

    def add(self, outcome: ConvOutcome) -> None:
        if outcome.status is Status.FAILED:
            self.codes[outcome.code] += 1
            self.meanings.setdefault(outcome.code, outcome.message)
            if self._failures is not None:
                self._failures.writerow(
                    [*_plan_row(outcome, outcome.enable), outcome.code, outcome.message]
                )
        elif outcome.status is Status.SUCCEEDED and self._revert is not None:
            self._revert.writerow(_plan_row(outcome, not outcome.enable))

    def close(self) -> None:
        for stream in self._files:
            stream.close()
        self._files.clear()


def write_report(path: Path, report: MuteReport, extra: dict[str, Any]) -> None:
    """The report's ``to_dict()`` as JSON, with the run's context under ``"run"``."""
    data = report.to_dict()
    data["run"] = extra
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_summary(
    console: Console, report: MuteReport, files: OutcomeFiles, notes: list[str]
) -> None:
    """The counts, the request figures and the top failure codes with their meaning."""
    table = Table(title="zim-async summary", title_justify="left")
    table.add_column("outcome")
    table.add_column("conversations", justify="right")
    for status in Status:
        table.add_row(status.value, str(report.counts.get(status.value, 0)))
    table.add_row("total", str(report.total), style="bold")
    console.print(table)
    rate = report.requests / report.elapsed_s if report.elapsed_s > 0 else 0.0
    console.print(
        f"requests {report.requests} (retries {report.retries},"
        f" rate-limited {report.rate_limited}) in {report.elapsed_s:.1f} s"
        f" = {rate:.1f} requests/s"
    )
    if files.codes:
        codes = Table(title="top failure codes", title_justify="left")
        codes.add_column("code", justify="right")
        codes.add_column("conversations", justify="right")
        codes.add_column("meaning")
        for code, count in files.codes.most_common(_TOP_CODES):
            codes.add_row(str(code), str(count), files.meanings.get(code, ""))
        console.print(codes)
    for note in notes:
        console.print(note)
