"""The simulator over real sockets (uvicorn in a background thread) and its command line."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from zim_async.testing import DEFAULT_SERVER_SECRET, FakeZimServer, FaultPlan, serve_fake
from zim_async.testing.__main__ import _parser, server_from_args

from .fake_zim_helpers import CONVS, SILENCE, Caller

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

MUTE = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["bob"], "Enable": True}


def seeded(**options: object) -> FakeZimServer:
    server = FakeZimServer(**options)  # type: ignore[arg-type]
    server.register_users("alice", "bob")
    return server


async def test_serves_over_a_socket(anyio_backend: str) -> None:
    server = seeded()
    async with serve_fake(server) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert not url.endswith(":0")
        async with httpx.AsyncClient(base_url=url) as http:
            caller = Caller(server, http)
            assert (await caller.call(SILENCE, MUTE))["Code"] == 0
            assert (await caller.call(CONVS, {"FromUserId": "alice"}))["Code"] == 0
    assert server.muted("alice", 0) == {"bob"}
    assert [r.action for r in server.requests] == [SILENCE, CONVS]


async def test_faults_over_a_socket(anyio_backend: str) -> None:
    plan = FaultPlan(script=["drop", "late", "http_502"], late_delay=30.0)
    server = seeded(faults=plan)
    async with serve_fake(server) as url, httpx.AsyncClient(base_url=url, timeout=0.3) as http:
        caller = Caller(server, http)
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await caller.post(SILENCE, MUTE)
        assert type(caught.value) is httpx.RemoteProtocolError  # a real broken connection
        assert server.muted("alice", 0) == {"bob"}  # applied before the drop
        with pytest.raises(httpx.ReadTimeout):
            await caller.post(SILENCE, {**MUTE, "Enable": False})
        assert server.muted("alice", 0) == set()  # applied, answer held back
        assert (await caller.post(SILENCE, MUTE)).status_code == 502
    # Leaving the block did not wait the 30 s of the held-back answer.


async def test_options_or_server_not_both(anyio_backend: str) -> None:
    with pytest.raises(TypeError, match="not both"):
        async with serve_fake(FakeZimServer(), qps=5):
            pass  # pragma: no cover
    async with serve_fake(qps=1) as url, httpx.AsyncClient(base_url=url) as http:
        caller = Caller(FakeZimServer(), http)  # only used to sign
        codes = [(await caller.call(CONVS, {"FromUserId": "x"}))["Code"] for _ in range(2)]
    assert codes == [660500002, 660300005]


def test_command_line_options() -> None:
    args = _parser().parse_args(
        [
            "--qps",
            "0",
            "--latency-ms",
            "5",
            "--jitter-ms",
            "2",
            "--fault-rate",
            "0.5",
            "--fault-kinds",
            "late, code_1",
            "--seed",
            "9",
        ]
    )
    server = server_from_args(args)
    assert server.latency == 0.005
    assert server.jitter == 0.002
    assert server.faults.rate == 0.5
    assert [k.value for k in server.faults.kinds] == ["late", "code_1"]
    assert server.state.is_registered("alice")
    assert [g.group_id for g in server.state.groups_of("bob")] == ["demo-group"]


def test_command_line_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "zim_async.testing", "--port", "0", "--seed", "3"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            match = re.search(r"listening on (http://\S+)", first)
            assert match, first
            banner = [process.stdout.readline() for _ in range(2)]
            assert "1234567890" in banner[0]
            assert "DEFAULT_SERVER_SECRET" in banner[1]  # how to get it, not its value
            assert DEFAULT_SERVER_SECRET not in "".join([first, *banner])
            response = httpx.post(match.group(1) + "/", params={"Action": SILENCE})
            assert response.json()["Code"] == 100000001
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
