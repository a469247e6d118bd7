"""Run every benchmark and write ``RESULTS.md`` and ``timeline.png``: ``python -m benchmarks``.

Everything runs one thing at a time: on 2 cores, any CPU-bound neighbour adds arrival
jitter to the timing-sensitive runs (B1/B2, B5's windows, B6), which then draw
660300005 answers that no quiet machine would see. The order is those first, then the
CPU-bound sections (B3, the rest of B5, B4). About 13 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from typing import Any

from . import cap, cost, shared_budget
from ._common import HERE, ROOT, machine, progress, run_json
from .report import render
from .timeline import draw

RATE, FAST_RATE = 20.0, 200.0
# B4: the small size three times, the large one once (about 100 s a run alone); RSS
# does not vary between runs and the scaling ratio is taken against each small run.
B4_SIZES = ((100_000, 3), (1_000_000, 1))
KINDS = ("zim", "aiolimiter", "pyrate")


def twenty_per_second(scale: int) -> list[cap.Variant]:
    n = 6_000 // scale
    small = max(300, n // 10)
    return [
        cap.Variant(label="zim_async (default guard 8 ms)", kind="zim", rate=RATE, conversations=n),
        cap.Variant(
            label="zim_async, guard=4 ms", kind="zim", rate=RATE, conversations=n, guard=0.004
        ),
        # A smaller plan: each refusal closes the gate for a cooldown that doubles (to
        # 30 s) on consecutive ones, and on the full plan one run took over 6 minutes.
        cap.Variant(
            label=f"zim_async, guard=0 ({small:,} conversations)",
            kind="zim",
            rate=RATE,
            conversations=small,
            guard=0.0,
        ),
        cap.Variant(
            label="httpx + aiolimiter + gather", kind="aiolimiter", rate=RATE, conversations=n
        ),
        cap.Variant(
            label="httpx + pyrate-limiter transport", kind="pyrate", rate=RATE, conversations=n
        ),
    ]


def two_hundred_per_second(scale: int) -> list[cap.Variant]:
    # Half the 60,000: 15 s at the cap per run is enough to judge the pace, and
    # the whole run has to fit 15 minutes. One pool of 64 connections was far slower
    # in earlier runs (httpcore's pool scans; see RESULTS.md), so only the sharded pool
    # is measured.
    n = 30_000 // scale
    return [
        cap.Variant(
            label="zim_async, max_in_flight=48, 4 HTTP pools",
            kind="zim",
            rate=FAST_RATE,
            conversations=n,
            in_flight=48,
            shards=4,
        ),
    ]


def run_b1(variants: list[cap.Variant], repeats: int) -> list[tuple[cap.Variant, list[Any]]]:
    rows: dict[cap.Variant, list[Any]] = {v: [] for v in variants}
    for repeat in range(repeats):  # interleaved, so that drift hits every variant alike
        for variant in variants:
            progress(f"B1/B2 {variant.label} @ {variant.rate:g}/s, repeat {repeat + 1}")
            rows[variant].append(cap.run(variant, repeat))
    return list(rows.items())


def run_b4(repeats: int, scale: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {str(n): [] for n, _ in B4_SIZES}
    for ids, times in B4_SIZES:
        for repeat in range(min(times, repeats)):
            progress(f"B4 stream over {ids // scale:,} IDs, repeat {repeat + 1}")
            out[str(ids)].append(run_json("benchmarks.scale", str(ids // scale), timeout=900))
    return out


def run_b3(repeats: int, scale: int) -> dict[str, Any]:
    rows: dict[str, list[Any]] = {"zim": [], "raw": []}
    for repeat in range(repeats):
        for kind in rows:
            progress(f"B3 {kind}, repeat {repeat + 1}")
            rows[kind].append(cost.run(kind, repeat, conversations=cost.CONVERSATIONS // scale))
    profile = HERE / ".profile.txt"
    progress("B3 profile of zim_async (not timed)")
    cost.run("zim", 99, profile, conversations=cost.CONVERSATIONS // scale)
    text = profile.read_text()
    profile.unlink()
    return {**rows, "profile": text}


def run_b5(repeats: int) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = {k: {"fast": [], "waiters": [], "window": []} for k in KINDS}
    for test in ("window", "fast", "waiters"):  # the timing-sensitive one first
        for repeat in range(repeats):
            for kind in KINDS:
                progress(f"B5 {kind} {test}, repeat {repeat + 1}")
                data[kind][test].append(run_json("benchmarks.limiters", kind, test))
    for kind in KINDS:
        data[kind]["trio"] = run_json("benchmarks.limiters", kind, "trio")
    return data


def run_b6(repeats: int) -> dict[str, Any]:
    progress(f"B6 {shared_budget.PROCESSES} processes through one Redis key, {repeats} repeats")
    redis_version, rows = shared_budget.run(repeats)
    return {"redis": redis_version, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1, help="divide sizes (a quick check)")
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()
    laps: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        laps[name] = now - since
        return now

    mark = started
    slow = run_b1(twenty_per_second(args.scale), args.repeats)
    mark = lap("B1/B2 at 20/s", mark)
    fast = run_b1(two_hundred_per_second(args.scale), args.repeats)
    mark = lap("B1 at 200/s", mark)
    b6 = run_b6(args.repeats)
    mark = lap("B6", mark)
    b5 = run_b5(args.repeats)
    mark = lap("B5", mark)
    b3 = run_b3(args.repeats, args.scale)
    mark = lap("B3", mark)
    b4 = run_b4(args.repeats, args.scale)
    mark = lap("B4", mark)
    draw(
        [(variant.label, rows[0]["timeline"]) for variant, rows in slow],
        RATE,
        HERE / "timeline.png",
    )
    # The docs page shows the same picture; mkdocs only serves files under docs/.
    shutil.copyfile(HERE / "timeline.png", ROOT / "docs" / "benchmarks-timeline.png")
    total = time.perf_counter() - started
    text = render(
        env=machine(),
        load=(load_before, os.getloadavg()),
        total_s=total,
        laps=laps,
        repeats=args.repeats,
        b1=[*slow, *fast],
        b3=b3,
        b4=b4,
        b5=b5,
        b6=b6,
    )
    (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    progress(f"wrote benchmarks/RESULTS.md and benchmarks/timeline.png in {total:.0f} s")


if __name__ == "__main__":
    main()
