"""Crash: the CLI in a subprocess, SIGKILLed at random moments, resumed with its journal.

After every kill the journal is read; no request that arrives after the next start may
carry a conversation the journal already held as decided. After the last, unkilled run
the simulator's state equals the plan. The marker secret is in the subprocess's
environment and must show up in none of its output, its report or its journal.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import anyio
import pytest

from zim_async.testing import FakeZimServer, FaultKind, FaultPlan, serve_fake

from .conftest import SecretWatch
from .figures import Figures, scale
from .world import MARKER_APP_ID, MARKER_SECRET, new_server

# The harness's backend does not matter to the CLI under test: one is enough.
pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

KILLS = scale(3, 10)
USERS = scale(4, 10)
PER_USER = 500  # 250 peers and 250 groups per user
RATE = 150.0  # requests/s: a run of a few seconds, so that kills land mid-run
Key = tuple[str, int, str, bool]
_RATE = FaultKind.CODE_660300005


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _seed(server: FakeZimServer, path: Path, seed: int) -> dict[Key, bool]:
    """Write a valid plan (mutes and unmutes) and seed the server; the wanted states."""
    rng = random.Random(seed)
    wanted: dict[Key, bool] = {}
    rows: list[tuple[str, int, str, bool]] = []
    for n in range(USERS):
        user = f"crash-user{n}"
        server.register_users(user)
        for conv_type in (0, 2):
            for i in range(PER_USER // 2):
                conv_id = f"c{n}-{conv_type}-{i}"
                if conv_type == 0:
                    server.register_users(conv_id)
                else:
                    server.create_group(conv_id, [user])
                enable = rng.random() < 0.8
                if rng.random() < (0.1 if enable else 0.6):
                    server.state.mute(user, conv_type, conv_id)
                rows.append((user, conv_type, conv_id, enable))
                wanted[(user, conv_type, conv_id, enable)] = enable
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["from_user_id", "conv_type", "conv_id", "enable"])
        for user, conv_type, conv_id, enable in rows:
            writer.writerow([user, conv_type, conv_id, "true" if enable else "false"])
    return wanted


def _journaled(path: Path) -> set[Key]:
    if not path.exists():
        return set()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            rows = db.execute(
                "SELECT from_user_id, conv_type, conv_id, enable FROM decided"
            ).fetchall()
        except sqlite3.OperationalError:  # killed before the schema was committed
            return set()
    return {(u, int(t), c, bool(e)) for u, t, c, e in rows}


def _sent_since(server: FakeZimServer, since: float) -> list[Key]:
    sent: list[Key] = []
    for record in server.requests:
        body = record.body
        if record.arrival < since or not isinstance(body, dict):
            continue
        for conv_id in body.get("ConvIds", []):
            sent.append((body["FromUserId"], body["ConvType"], conv_id, body["Enable"]))
    return sent


def _spawn(args: list[str], env: dict[str, str], sink: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=sink, stderr=sink)


def _read_all(outputs: list[Path], where: Path) -> list[bytes]:
    """Everything the runs left behind: output, reports, and the journal's files."""
    paths = [*outputs, *where.glob("run.journal*")]
    return [p.read_bytes() for p in paths if p.exists()]


async def test_sigkill_at_random_moments_then_resume(
    tmp_path: Path, secret_watch: SecretWatch, figures: Figures
) -> None:
    rng = random.Random(int(os.environ.get("ZIM_CRASH_SEED", "7")))
    server = new_server(
        qps=None,
        # Spurious rate-limit answers are left out: each closes the CLI's limiter gate for
        # a second or more (doubling), which would only slow the runs down; the fault
        # campaign covers them.
        faults=FaultPlan(rate=0.05, kinds=[k for k in FaultKind if k is not _RATE], late_delay=1.0),
        seed=3,
    )
    plan = tmp_path / "plan.csv"
    wanted = _seed(server, plan, seed=5)
    journal = tmp_path / "run.journal"
    outputs: list[Path] = []
    resent_after_journaled: list[Key] = []
    kills_mid_run = 0
    async with serve_fake(server) as url:
        env = {
            **os.environ,
            "ZIM_APP_ID": str(MARKER_APP_ID),
            "ZIM_SERVER_SECRET": MARKER_SECRET,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("ZIM_BASE_URL", None)
        args = [
            sys.executable, "-m", "zim_async.cli", "apply", str(plan),
            "--base-url", url, "--allow-insecure-http", "--rate", str(RATE),
            "--timeout", "0.5", "--journal", str(journal), "--no-progress",
        ]  # fmt: skip
        code: int | None = None
        for run in range(KILLS + 1):
            before = _journaled(journal)
            started = time.monotonic()
            out, report = tmp_path / f"out{run}.txt", tmp_path / f"report{run}.json"
            outputs += [out, report]
            with out.open("wb") as sink:
                proc = _spawn([*args, "--report", str(report)], env, sink)
                try:
                    if run < KILLS:
                        # Wait for this run's first request, then kill at a random moment.
                        deadline = started + 15
                        while not _sent_since(server, started) and proc.poll() is None:
                            assert time.monotonic() < deadline, "the CLI sent nothing"
                            await anyio.sleep(0.01)
                        await anyio.sleep(rng.uniform(0.0, 1.5))
                        kills_mid_run += proc.poll() is None
                        proc.send_signal(signal.SIGKILL)
                    code = await anyio.to_thread.run_sync(proc.wait, 120)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
            await anyio.sleep(0.3)  # let answers the dead process never read settle
            # Requests of this run and later ones must not carry what was journaled before.
            resent_after_journaled += [k for k in _sent_since(server, started) if k in before]
    assert code == 0, (tmp_path / f"out{KILLS}.txt").read_text()
    final = {k: k[2] in server.muted(k[0], k[1]) for k in wanted}
    wrong = [k for k, state in final.items() if state != wanted[k]]
    journaled = _journaled(journal)
    figures.add(
        "crash",
        "CLI `apply --journal` killed with SIGKILL at a random moment, then resumed",
        tried=KILLS,
        unit="kills",
        lost=len(wrong) + len(resent_after_journaled) + len(set(wanted) - journaled),
    )
    assert kills_mid_run >= 1  # at least one kill landed while the run was going
    assert wrong == []
    assert resent_after_journaled == []
    assert set(wanted) <= journaled
    texts = _read_all(outputs, tmp_path)
    assert all(MARKER_SECRET.encode() not in t for t in texts)
    secret_watch.see(*texts)
