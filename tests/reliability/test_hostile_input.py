"""Hostile input: generated IDs, types, flags and plan files.

Bad input is refused before anything is sent: `InvalidRequestError` (library) or
``file:line: reason`` (plan files), and the server sees zero requests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zim_async import ConvType, InvalidRequestError, MuteOp, ZimClient
from zim_async._validate import USER_ID_CHARS
from zim_async.cli._planfile import PlanError, read_plan, survey_plan
from zim_async.testing import serve_fake

from .conftest import SecretWatch
from .figures import Figures, scale
from .world import MARKER_APP_ID, MARKER_SECRET, new_server

pytestmark = [pytest.mark.reliability]

EXAMPLES = scale(300, 3000)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: CI failures are reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_tried: dict[str, int] = {}

# Text that hits the edges: the allowed set, other ASCII, unicode, control characters.
edgy_text = st.one_of(
    st.text(st.sampled_from(sorted(USER_ID_CHARS)), max_size=40),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=30, max_size=34),
    st.text(st.sampled_from("\x00\t\n\r\x1b\x7f\u200b\u0085\ufeff é中😀,\"'"), max_size=8),
    st.integers(0, 5_000).map(lambda n: "x" * n),  # very long
    st.just(""),
)
anything = st.one_of(edgy_text, st.none(), st.integers(), st.booleans(), st.binary(max_size=8))


def _user_ok(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 32 and set(value) <= USER_ID_CHARS


def _conv_ok(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 32
        and all(unicodedata.category(c) not in ("Cc", "Cs") for c in value)
    )


def _counting_client() -> tuple[ZimClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"Code": 0, "Message": "success", "RequestId": "1"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = ZimClient(
        MARKER_APP_ID, MARKER_SECRET, base_url="https://zim.test", http_client=http, rate=None
    )
    return client, sent


@SETTINGS
@given(
    user=anything,
    conv_type=st.one_of(st.sampled_from([0, 1, 2, 3, -1, True, False, 2.0, "2"]), anything),
    ids=st.one_of(st.lists(anything, max_size=12), edgy_text, st.binary(max_size=4)),
    enable=st.one_of(st.booleans(), st.sampled_from([0, 1, "true", None])),
)
def test_ops_are_checked_before_anything_is_sent(
    user: Any, conv_type: Any, ids: Any, enable: Any, secret_watch: SecretWatch
) -> None:
    valid = (
        _user_ok(user)
        and isinstance(conv_type, int)
        and not isinstance(conv_type, bool)
        and conv_type in (0, 2)
        and isinstance(ids, list)
        and len(ids) > 0
        and all(_conv_ok(c) for c in ids)
        and isinstance(enable, bool)
    )
    _tried["op"] = _tried.get("op", 0) + 1
    error: InvalidRequestError | None = None
    try:
        op = MuteOp(user, conv_type, ids, enable)
    except InvalidRequestError as exc:
        error = exc
    if error is not None:
        assert not valid, (user, conv_type, ids, enable)
        assert error.field in ("from_user_id", "conv_type", "conv_ids", "enable"), error.field
        assert str(error).startswith(error.field)  # the message names the field first
        assert len(str(error)) < 400  # a huge value is truncated, not echoed
        secret_watch.see(error)
        return
    assert valid, (user, conv_type, ids, enable)
    assert op.conv_ids == tuple(dict.fromkeys(ids))


@SETTINGS
@given(
    good=st.lists(st.text(st.sampled_from("abcxyz0189"), min_size=1, max_size=8), min_size=1),
    bad=st.one_of(
        st.tuples(edgy_text, st.just(0), st.just(["c1"]), st.just(True)),
        st.tuples(st.just("u1"), st.sampled_from([1, 3, True]), st.just(["c1"]), st.just(True)),
        st.tuples(st.just("u1"), st.just(2), st.lists(edgy_text, max_size=3), st.just(True)),
        st.tuples(st.just("u1"), st.just(2), st.just(["c"]), st.sampled_from([1, "yes", None])),
    ),
    position=st.integers(0, 5),
)
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_list_with_one_bad_item_sends_nothing(
    good: list[str], bad: tuple[Any, Any, Any, Any], position: int, secret_watch: SecretWatch
) -> None:
    _tried["list"] = _tried.get("list", 0) + 1
    client, sent = _counting_client()
    async with client:
        try:
            bad_op: object = MuteOp(*bad)
        except InvalidRequestError:
            bad_op = bad  # not an op at all: apply must refuse the list
        ops: list[Any] = [MuteOp("u1", ConvType.PEER, good, True) for _ in range(3)]
        ops.insert(min(position, len(ops)), bad_op)
        if isinstance(bad_op, MuteOp):
            return  # the "bad" values happened to be valid
        with pytest.raises(InvalidRequestError) as info:
            await client.apply(ops)
        with pytest.raises(InvalidRequestError):
            await client.silence_conv_notification(*bad)
        with pytest.raises(InvalidRequestError):
            await client.silence_conv_notification(
                "u1", ConvType.GROUP, [f"c{i}" for i in range(11)], True
            )
    assert sent == []
    assert re.match(r"ops\[\d\]|from_user_id|conv_type|conv_ids|enable", str(info.value))
    secret_watch.see(info.value)


# -- plan files ------------------------------------------------------------------------

FIELDS = ["from_user_id", "conv_type", "conv_id", "enable"]
HUGE = "<<huge>>"
cell = st.one_of(
    st.sampled_from(["u1", "g1", "0", "2", "peer", "group", "true", "false", "1", "yes"]),
    edgy_text,
    st.just(HUGE),  # a huge line (beyond the csv module's field limit), expanded on write
)


@st.composite
def plan_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["csv", "jsonl"]))
    rows = draw(st.lists(st.lists(cell, min_size=3, max_size=5), max_size=4))
    if kind == "csv":
        header = draw(st.permutations(FIELDS).flatmap(lambda f: st.sampled_from([f, f[:3]])))
        lines = [",".join(header)] + [
            ",".join(f'"{c}"' if "," in c else c for c in r) for r in rows
        ]
        text = "\n".join(lines)
    else:
        import json

        lines = [json.dumps(dict(zip(FIELDS, r, strict=False))) for r in rows]
        lines += draw(
            st.lists(st.sampled_from(["{", "[1,2]", "null", '{"conv_type": 2}']), max_size=2)
        )
        text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff\xfe\xfa", b"\x00", b"\xc3("])) + data[at:]
    return kind, data


_LINE = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+))?: \S.*$")


@SETTINGS
@given(plan=plan_bytes())
def test_plan_files_fail_with_file_line_messages(
    plan: tuple[str, bytes], tmp_path_factory: pytest.TempPathFactory, secret_watch: SecretWatch
) -> None:
    kind, data = plan
    path = tmp_path_factory.mktemp("plan") / f"plan.{kind}"
    path.write_bytes(data.replace(HUGE.encode(), b"y" * 200_000))
    _tried["plan"] = _tried.get("plan", 0) + 1
    error: PlanError | None = None
    try:
        survey = survey_plan(path)
    except PlanError as exc:
        error = exc
    if error is not None:
        assert error.problems
        for problem in error.problems:
            match = _LINE.match(problem)
            assert match, problem
            assert match["file"] == str(path), problem
            size = len(problem)  # a huge value must be truncated, not echoed
            assert size < 1000, problem[:200]
        return
    # A plan the survey accepted reads back in full, with the same count.
    assert sum(len(op.conv_ids) for op in read_plan(path)) == survey.conversations


BAD_PLANS: dict[str, bytes] = {
    "latin1.csv": "from_user_id,conv_type,conv_id,enable\nu1,0,caf\xe9,true\n".encode("latin-1"),
    "missing.csv": b"from_user_id,conv_id,enable\nu1,c1,true\n",
    "huge.jsonl": b'{"from_user_id":"u1","conv_type":0,"conv_id":"'
    + b"x" * 300_000
    + b'","enable":true}\n',
    "control.csv": b"from_user_id,conv_type,conv_id,enable\nu1,0,c\x01d,true\n",
    "types.jsonl": b'{"from_user_id":"u1","conv_type":"3","conv_id":"c1","enable":"maybe"}\n',
}


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "zim_async.cli", *args],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # real clock: a real server
async def test_the_cli_refuses_bad_plans_and_sends_nothing(
    tmp_path: Path, secret_watch: SecretWatch, figures: Figures
) -> None:
    server = new_server(qps=None)
    env = {**os.environ, "ZIM_APP_ID": str(MARKER_APP_ID), "ZIM_SERVER_SECRET": MARKER_SECRET}
    outputs: dict[str, tuple[int, str]] = {}
    async with serve_fake(server) as url:
        for name, data in BAD_PLANS.items():
            path = tmp_path / name
            path.write_bytes(data)
            done = _run_cli(["apply", str(path), "--base-url", url, "--allow-insecure-http",
                             "--no-progress"], env)  # fmt: skip
            text = (done.stdout + done.stderr).decode("utf-8", "replace")
            outputs[name] = (done.returncode, text)
            secret_watch.see(text)
    figures.add(
        "hostile input",
        "CLI `apply` with bad plan files (encoding, columns, huge line, control chars, types)",
        tried=len(BAD_PLANS),
        unit="files",
        lost=len(server.requests),
    )
    assert server.requests == []
    for name, (code, text) in outputs.items():
        assert code == 2, (name, text[-500:])
        assert re.search(rf"{re.escape(str(tmp_path / name))}:\d+: ", text), (name, text[-500:])
        assert "Traceback" not in text, (name, text[-800:])


@pytest.fixture(scope="module", autouse=True)
def _record(figures: Figures) -> Any:
    yield
    labels = {
        "op": ("generated MuteOp fields (IDs, types, flags)", "inputs"),
        "list": ("op lists with one bad item: apply / mute / >10 IDs", "lists"),
        "plan": ("generated plan files (CSV/JSONL, encodings, columns, huge lines)", "files"),
    }
    for name, count in _tried.items():
        scenario, unit = labels[name]
        figures.add("hostile input", scenario, tried=count, unit=unit, lost=0)
