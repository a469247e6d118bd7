"""The progress bar in a pseudo-terminal, the demo end to end, and ``fake-server``."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from zim_async.testing import DEFAULT_SERVER_SECRET, FakeZimServer, serve_fake

from .conftest import cli_env, run_cli

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "zim_async.cli"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # see conftest


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.anyio
async def test_progress_bar_in_a_terminal(tmp_path: Path) -> None:
    server = FakeZimServer(qps=None, latency=0.01)
    server.register_users("alice", *(f"p{i}" for i in range(290)))
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"p{i}\n" for i in range(300)))  # 10 are not registered
    async with serve_fake(server) as url:
        master, child = pty.openpty()
        try:
            process = await anyio.open_process(
                [*CLI, "mute", "--from-user", "alice", "--peer", "--ids-file", str(ids),
                 "--rate", "30"],
                env=cli_env(url, TERM="xterm-256color"),
                stdout=subprocess.DEVNULL,
                stderr=child,
            )  # fmt: skip
            os.close(child)
            child = -1
            output = await anyio.to_thread.run_sync(read_all, master)
            assert await process.wait() == 1
        finally:
            os.close(master)
            if child != -1:
                os.close(child)
    text = output.decode(errors="replace")
    assert "\x1b[" in text  # drawn for a terminal: cursor moves and colours
    frames = text.count("req/s")
    assert frames >= 3, text  # redrawn while running, not only at the end
    assert "300/300" in text
    assert "10 failed" in text
    assert "ETA" in text
    assert "zim-async summary" in text


@pytest.mark.anyio
async def test_no_progress_bar_when_stderr_is_not_a_terminal() -> None:
    server = FakeZimServer(qps=None)
    server.register_users("alice", "bob")
    async with serve_fake(server) as url:
        done = await run_cli("mute", "--from-user", "alice", "--peer", "bob", env=cli_env(url))
    assert done.rc == 0
    assert "req/s" not in done.stderr
    assert "\x1b[" not in done.stderr
    assert "zim-async summary" in done.stderr


@pytest.mark.anyio
async def test_demo_end_to_end(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    started = anyio.current_time()
    done = await run_cli(
        "demo", "--no-progress", "--report", str(report_path), env=cli_env("unused"), limit_s=90
    )
    elapsed = anyio.current_time() - started
    assert done.rc == 0, done.stderr
    report = json.loads(report_path.read_text())
    counts = report["counts"]
    assert report["total"] == 3000
    assert counts["failed"] > 0
    assert counts["unchanged"] > 0
    assert counts["succeeded"] > 2000
    assert {f["code"] for f in report["failures"]} == {660500002, 660600024, 660700015}
    assert report["retries"] > 0  # the injected faults were retried
    assert "FAKE ZIM server" in done.stderr
    assert "top failure codes" in done.stderr
    assert DEFAULT_SERVER_SECRET not in done.stdout + done.stderr
    print(f"\ndemo: {counts}, {report['requests']} requests, {elapsed:.1f} s wall")
    assert elapsed < 60


@pytest.mark.anyio
async def test_fake_server_serves_until_ctrl_c() -> None:
    process = await anyio.open_process(
        [*CLI, "fake-server", "--port", "0", "--qps", "0"], stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        seen = b""
        with anyio.fail_after(20):
            while b"Ctrl+C" not in seen:
                seen += await process.stdout.receive()
        url = seen.decode().split("listening on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        env = cli_env(url)
        args = ("mute", "--from-user", "alice", "--group", "demo-group", "--no-progress")
        first = await run_cli(*args, env=env)
        second = await run_cli(*args, env=env)
        assert first.rc == 0
        assert second.rc == 0
        assert "succeeded     │             1" in first.stderr
        assert "unchanged     │             1" in second.stderr  # the server kept the state
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
