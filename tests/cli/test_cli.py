"""``zim-async`` as a real subprocess against the simulator over real sockets."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from zim_async.testing import DEFAULT_SERVER_SECRET, FakeZimServer, serve_fake

from .conftest import Result, cli_env, run_cli

pytestmark = pytest.mark.e2e
FAST = ("--rate", "1000", "--no-progress")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # see conftest: a real clock, the CLI runs in its own process


@pytest.fixture
async def served(server: FakeZimServer) -> AsyncIterator[str]:
    server.register_users("alice", "bob", "carol", "dave")
    for n in range(3):
        server.create_group(f"g{n}", ["alice", "bob"])
    async with serve_fake(server) as url:
        yield url


def silence_requests(server: FakeZimServer) -> list[Any]:
    return [r for r in server.requests if r.action == "SilenceConvNotification"]


def no_secret(result: Result) -> None:
    assert DEFAULT_SERVER_SECRET not in result.stdout + result.stderr


@pytest.mark.anyio
async def test_mute_ids_then_unmute_from_stdin(server: FakeZimServer, served: str) -> None:
    env = cli_env(served)
    done = await run_cli("mute", "--from-user", "alice", "--peer", "bob", "carol", *FAST, env=env)
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 0) == {"bob", "carol"}
    assert "succeeded" in done.stderr
    assert "2" in done.stderr
    done = await run_cli(
        "unmute", "--from-user", "alice", "--peer", "-", *FAST, env=env, stdin=b"bob\n\n# c\n"
    )
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 0) == {"carol"}
    no_secret(done)


@pytest.mark.anyio
async def test_failures_give_exit_1_and_the_three_output_files(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    server.state.mute("alice", 2, "g1")
    ids = tmp_path / "ids.txt"
    ids.write_text("g0\ng1\ng2\nnope\n")
    out = {name: tmp_path / name for name in ("r.json", "f.csv", "revert.csv")}
    done = await run_cli(
        "mute", "--from-user", "alice", "--group", "--ids-file", str(ids),
        "--report", str(out["r.json"]), "--failures-csv", str(out["f.csv"]),
        "--revert-plan", str(out["revert.csv"]), *FAST, env=cli_env(served),
    )  # fmt: skip
    assert done.rc == 1, done.stderr
    report = json.loads(out["r.json"].read_text())
    assert report["counts"] == {
        "succeeded": 2, "unchanged": 1, "failed": 1, "not_attempted": 0, "unknown": 0
    }  # fmt: skip
    assert [f["conv_id"] for f in report["failures"]] == ["nope"]
    assert report["run"]["interrupted"] is False
    with out["f.csv"].open() as f:
        failures = list(csv.DictReader(f))
    assert [(r["conv_id"], r["enable"], r["code"]) for r in failures] == [
        ("nope", "true", "660600001")
    ]
    assert "660600001" in done.stderr
    assert "group does not exist" in done.stderr
    with out["revert.csv"].open() as f:
        revert = sorted((r["conv_id"], r["enable"]) for r in csv.DictReader(f))
    assert revert == [("g0", "false"), ("g2", "false")]
    # The revert plan undoes exactly this run's changes: g1 was muted before and stays so.
    done = await run_cli("apply", str(out["revert.csv"]), *FAST, env=cli_env(served))
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 2) == {"g1"}


@pytest.mark.anyio
async def test_apply_csv_and_jsonl_plans(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    rows = [("alice", "0", p, "true") for p in ("bob", "carol", "dave")]
    rows += [("bob", "group", g, "true") for g in ("g0", "g1", "g2")]
    plan.write_text("from_user_id,conv_type,conv_id,enable\n" + "".join(
        ",".join(r) + "\n" for r in rows
    ))  # fmt: skip
    done = await run_cli("apply", str(plan), *FAST, env=cli_env(served))
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 0) == {"bob", "carol", "dave"}
    assert server.muted("bob", 2) == {"g0", "g1", "g2"}
    lines = [
        {"from_user_id": "bob", "conv_type": 2, "conv_id": "g1", "enable": False},
        {"from_user_id": "alice", "conv_type": 0, "conv_id": "dave", "enable": False},
    ]
    jsonl = tmp_path / "plan.jsonl"
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    done = await run_cli("apply", str(jsonl), *FAST, env=cli_env(served))
    assert done.rc == 0, done.stderr
    assert server.muted("bob", 2) == {"g0", "g2"}
    assert server.muted("alice", 0) == {"bob", "carol"}


@pytest.mark.anyio
async def test_a_malformed_plan_is_refused_before_anything_is_sent(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    plan = tmp_path / "bad.csv"
    plan.write_text(
        "from_user_id,conv_type,conv_id,enable\n"
        "alice,0,bob,true\n"
        "alice,7,carol,true\n"
        "alice,0,dave,maybe\n"
        f"{'u' * 40},0,dave,true\n"
    )
    done = await run_cli("apply", str(plan), *FAST, env=cli_env(served))
    assert done.rc == 2
    assert f"{plan}:3: conv_type '7'" in done.stderr
    assert f"{plan}:4: enable 'maybe'" in done.stderr
    assert f"{plan}:5: " in done.stderr
    assert "(got 40)" in done.stderr
    assert server.requests == []
    no_header = tmp_path / "nohead.csv"
    no_header.write_text("alice,0,bob,true\n")
    done = await run_cli("apply", str(no_header), *FAST, env=cli_env(served))
    assert done.rc == 2
    assert "header lacks" in done.stderr
    assert server.requests == []


@pytest.mark.anyio
async def test_dry_run_counts_and_sends_nothing(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    body = "".join(f"alice,0,p{i},true\n" for i in range(95))
    body += "".join(f"bob,2,g{i},false\n" for i in range(10))
    plan.write_text("from_user_id,conv_type,conv_id,enable\n" + body)
    done = await run_cli("apply", str(plan), "--dry-run", "--rate", "20", env=cli_env(served))
    assert done.rc == 0, done.stderr
    assert "105 conversations in 11 requests" in done.stdout
    assert "minimum time at 20 requests/s: 0.5 s" in done.stdout
    assert server.requests == []


@pytest.mark.anyio
async def test_configuration_errors_give_exit_3(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("not-the-secret-0000\n")
    args = ("mute", "--from-user", "alice", "--peer", "bob", *FAST)
    done = await run_cli(*args, "--server-secret-file", str(secret), env=cli_env(served))
    assert done.rc == 3, done.stderr
    assert "100000005" in done.stderr
    assert "not-the-secret" not in done.stdout + done.stderr
    env = cli_env(served)
    del env["ZIM_APP_ID"]
    done = await run_cli(*args, env=env)
    assert done.rc == 3
    assert "ZIM_APP_ID" in done.stderr
    done = await run_cli(*args, env=cli_env(served, ZIM_ALLOW_INSECURE_HTTP="0"))
    assert done.rc == 3
    assert "http" in done.stderr
    assert server.muted("alice", 0) == set()
    # Usage errors: argparse and contradictory sources.
    done = await run_cli("mute", "--from-user", "alice", "--peer", env=cli_env(served))
    assert done.rc == 2


@pytest.mark.anyio
async def test_all_groups_and_all_conversations(server: FakeZimServer, served: str) -> None:
    server.add_conversation("alice", "dave")
    done = await run_cli("mute", "--from-user", "alice", "--all-groups", *FAST, env=cli_env(served))
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 2) == {"g0", "g1", "g2"}
    assert server.muted("alice", 0) == set()
    done = await run_cli(
        "unmute", "--from-user", "alice", "--all-conversations", *FAST, env=cli_env(served)
    )
    assert done.rc == 0, done.stderr
    assert server.muted("alice", 2) == set()  # dave was not muted: unchanged
    done = await run_cli("mute", "--from-user", "ghost", "--all-groups", *FAST, env=cli_env(served))
    assert done.rc == 1
    assert "660500002" in done.stderr


@pytest.mark.anyio
async def test_a_journal_of_another_plan_is_refused(
    server: FakeZimServer, served: str, tmp_path: Path
) -> None:
    journal = str(tmp_path / "j.db")
    args = ("--from-user", "alice", "--peer", "--journal", journal, *FAST)
    done = await run_cli("mute", *args, "bob", env=cli_env(served))
    assert done.rc == 0, done.stderr
    done = await run_cli("mute", *args, "bob", env=cli_env(served))
    assert done.rc == 0
    assert "1 conversations were already decided" in done.stderr
    assert len(silence_requests(server)) == 1
    done = await run_cli("mute", *args, "carol", env=cli_env(served))
    assert done.rc == 2
    assert "belongs to another plan" in done.stderr
    assert len(silence_requests(server)) == 1
