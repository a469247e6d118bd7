"""Render the campaign's figures (the JSON written under ``ZIM_SOAK_REPORT``) as
``docs/reliability.md``.

    python -m tests.reliability.report figures.json docs/reliability.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

_INTRO = """\
# Reliability

The promise: **every conversation ends in exactly one outcome, and the report tells the
truth about the server's state.** The campaign in `tests/reliability/` tries hard to
break it, against the simulator (`zim_async.testing`), the real CLI in subprocesses,
fuzzed servers and generated input. Every test runs with DEBUG logging on and a marker
`server_secret`, which must appear in no log line, repr, exception, report, journal or
CLI output.

A CI-sized run is part of `nox -s tests`; `nox -s soak` runs the campaign scaled up
(`ZIM_SOAK=1`) and regenerates this page from what it measured.

"""

_NOTES = """
## What "lost" counts

- **faults**: conversations reported zero or several times, or whose outcome disagrees
  with the simulator's final state (a conversation the server changed that is not
  *succeeded*/*unchanged*, a *succeeded* one the server does not hold, a *failed* one
  the server changed or that failed with a retryable code, any *not_attempted*, any
  *unknown* whose retries did not run out).
- **crash**: conversations whose final state differs from the plan, conversations
  sent again after the journal held their outcome, and conversations missing from the
  journal at the end.
- **cancellation**: each cancellation is checked for leaked tasks, busy pooled
  connections, a limiter that no longer gives its full rate, a stream report that does
  not count the whole plan, an in-flight request not reported *unknown*, and outcomes
  the server's state contradicts; any of these fails the run, so the figure is 0 when
  the table exists.
- **hostile input / server, clock skew**: inputs that sent a request, crashed, or came
  back with an unclear error; answers that crashed the client or counted an ID twice.

## How to reproduce

```console
nox -s soak                                  # scaled up, regenerates this page
ZIM_SOAK=1 pytest -m reliability             # the same without nox
pytest tests/reliability                     # the CI-sized run
```
"""


def render(data: dict[str, Any]) -> str:
    rows = data["rows"]
    kind = "soak (`ZIM_SOAK=1`)" if data.get("soak") else "CI-sized"
    lines = [
        _INTRO,
        f"## Figures of the last {kind} run",
        "",
        f"Python {data.get('python', '?')} on {data.get('platform', '?')}; the session took"
        f" {data.get('elapsed_s', '?')} s.",
        "",
        "| Area | What was tried | Runs | Tried | Lost |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in sorted(rows, key=lambda r: (r["area"], r["scenario"])):
        lines.append(
            f"| {row['area']} | {row['scenario']} | {row['runs']:,}"
            f" | {row['tried']:,} {row['unit']} | {row['lost']:,} |"
        )
    total_lost = sum(row["lost"] for row in rows)
    lines += ["", f"**Lost in total: {total_lost:,}.**", _NOTES]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.reliability.report FIGURES.json OUTPUT.md", file=sys.stderr)
        return 2
    source, target = map(Path, argv)
    data = json.loads(source.read_text(encoding="utf-8"))
    Path(target).write_text(render(data), encoding="utf-8")
    print(f"wrote {target} ({len(data['rows'])} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
