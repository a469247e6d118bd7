"""Interrupted runs: SIGKILL and Ctrl-C of a real ``zim-async`` process, then resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from zim_async.testing import FakeZimServer, serve_fake

from .conftest import cli_env, run_cli

pytestmark = pytest.mark.e2e
USERS = [f"u{n}" for n in range(10)]
PEERS = [f"p{n:03d}" for n in range(100)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # see conftest


@pytest.fixture
def server() -> FakeZimServer:
    # Latency keeps several requests on the wire when the process is killed.
    fake = FakeZimServer(qps=None, latency=0.3)
    fake.register_users(*USERS, *PEERS)
    return fake


@pytest.fixture
async def served(server: FakeZimServer) -> AsyncIterator[str]:
    async with serve_fake(server) as url:
        yield url


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.csv"
    rows = "".join(f"{user},0,{peer},true\n" for user in USERS for peer in PEERS)
    path.write_text("from_user_id,conv_type,conv_id,enable\n" + rows)
    return path


def journaled(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT from_user_id, conv_id FROM decided").fetchall()
    except sqlite3.OperationalError:  # created, but its tables not yet
        return set()
    return {(user, conv) for user, conv in rows}


def sent(server: FakeZimServer, start: int = 0) -> list[tuple[str, str]]:
    return [
        (r.body["FromUserId"], conv)
        for r in server.requests[start:]
        if r.action == "SilenceConvNotification" and isinstance(r.body, dict)
        for conv in r.body["ConvIds"]
    ]


async def start_until_journaled(
    args: list[str], env: dict[str, str], journal: Path, at_least: int
) -> anyio.abc.Process:
    process = await anyio.open_process(
        [sys.executable, "-m", "zim_async.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with anyio.fail_after(30):
        while len(journaled(journal)) < at_least:
            assert process.returncode is None, "the run ended before it could be interrupted"
            await anyio.sleep(0.02)
    return process


@pytest.mark.anyio
async def test_resume_after_sigkill_sends_no_journaled_conversation_again(
    server: FakeZimServer, served: str, plan: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.db"
    args = ["apply", str(plan), "--journal", str(journal), "--no-progress"]
    process = await start_until_journaled(
        [*args, "--rate", "25", "--max-in-flight", "8"], cli_env(served), journal, 200
    )
    process.kill()  # SIGKILL: no cleanup of any kind
    assert await process.wait() == -signal.SIGKILL
    await anyio.sleep(0.5)  # requests already on the wire reach the simulator
    before = journaled(journal)
    sent_before = set(sent(server))
    mark = len(server.requests)
    report_path = tmp_path / "report.json"
    done = await run_cli(*args, "--rate", "1000", "--report", str(report_path), env=cli_env(served))
    assert done.rc == 0, done.stderr
    resent = sent(server, mark)
    assert not before & set(resent), "a journaled conversation was sent again"
    for user in USERS:
        assert server.muted(user, 0) == set(PEERS)
    report = json.loads(report_path.read_text())
    assert report["total"] == 1000
    assert report["ok"] is True
    assert report["run"]["from_journal"] == len(before)
    again = sent_before & set(resent)  # sent before the kill, but never journaled
    print(
        f"\nresume after SIGKILL: journaled before the kill {len(before)},"
        f" sent before the kill {len(sent_before)}, sent after resume {len(resent)},"
        f" of which sent twice {len(again)}; resumed report: {report['counts']},"
        f" {report['requests']} requests"
    )
    assert len(before) + len(resent) == 1000


@pytest.mark.anyio
async def test_ctrl_c_writes_report_and_journal_and_exits_130(
    server: FakeZimServer, served: str, plan: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.db"
    report_path = tmp_path / "report.json"
    args = ["apply", str(plan), "--journal", str(journal), "--no-progress"]
    args += ["--report", str(report_path)]
    process = await start_until_journaled(
        [*args, "--rate", "25", "--max-in-flight", "4"], cli_env(served), journal, 100
    )
    process.send_signal(signal.SIGINT)
    with anyio.fail_after(20):
        assert await process.wait() == 130
    await anyio.sleep(0.5)  # the simulator logs cancelled requests when it answers them
    report = json.loads(report_path.read_text())
    assert report["run"]["interrupted"] is True
    decided = report["counts"]["succeeded"] + report["counts"]["unchanged"]
    before = journaled(journal)
    assert decided == len(before) < 1000
    # What was on the wire when Ctrl-C came is reported unknown: it will be sent again.
    assert report["counts"]["unknown"] == len(report["unknown"]) > 0
    mark = len(server.requests)
    done = await run_cli(*args, "--rate", "1000", env=cli_env(served))
    assert done.rc == 0, done.stderr
    everything = {(u, p) for u in USERS for p in PEERS}
    resent = sent(server, mark)
    assert len(resent) == len(set(resent))
    assert set(resent) == everything - before
    for user in USERS:
        assert server.muted(user, 0) == set(PEERS)
