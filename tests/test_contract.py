"""Contract test: docs/openapi.yaml against what the client sends and the simulator answers.

A mixed plan (plan builders, partial and total failures, refused calls, scripted and
random faults, retries) runs through the simulator in process; a wrapping transport
keeps every request the client sent, the simulator keeps every answer it gave, and both
are validated against the spec with openapi-schema-validator. The glue below only picks
the schemas (by Action, through the spec's ``x-zim-actions``) and decodes the query
values; the schema checks are the library's.
"""

from __future__ import annotations

import copy
import json
import re
import string
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.readers import read_from_filename
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from zim_async import ConvType, LocalLimiter, MuteOp, ZimClient
from zim_async._signing import public_params
from zim_async._validate import USER_ID_CHARS
from zim_async.plans import QueryError, all_conversations_of, all_groups_of
from zim_async.testing import (
    DEFAULT_APP_ID,
    DEFAULT_SERVER_SECRET,
    FakeZimServer,
    FaultKind,
    FaultPlan,
)

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
BASE_URL = "https://fake-zim.test"
SILENCE = "SilenceConvNotification"
_INTEGER = re.compile(r"-?[0-9]+")


def load_spec() -> dict[str, Any]:
    raw, _ = read_from_filename(str(SPEC_PATH))
    spec: dict[str, Any] = json.loads(json.dumps(raw))  # plain dicts, detached from the reader
    return spec


class Contract:
    """Checks requests and answers against the spec's one operation, ``POST /``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.operation: dict[str, Any] = spec["paths"]["/"]["post"]
        self.params = {p["name"]: p for p in map(self._deref, self.operation["parameters"])}
        self.actions: dict[str, dict[str, str]] = self.operation["x-zim-actions"]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema_errors(self, schema: dict[str, Any], value: object, where: str) -> list[str]:
        # The components travel along so that the schema's local $refs resolve.
        root = {**schema, "components": self.spec["components"]}
        validator = OAS31Validator(root, format_checker=oas31_format_checker)
        return [
            f"{where}{''.join(f'/{p}' for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(value)
        ]

    def _action_schema(self, action: str, role: str) -> dict[str, Any]:
        return {"$ref": self.actions[action][role]}

    def request_problems(self, request: httpx.Request) -> list[str]:
        problems: list[str] = []
        if request.method != "POST" or request.url.path != "/":
            problems.append(f"{request.method} {request.url.path}: the spec has only POST /")
        names = [name for name, _ in request.url.params.multi_items()]
        problems += [
            f"query: {n!r} is not a declared parameter" for n in names if n not in self.params
        ]
        problems += [f"query: {n!r} is repeated" for n in set(names) if names.count(n) > 1]
        for name, param in self.params.items():
            raw = request.url.params.get(name)
            if raw is None:
                if param.get("required"):
                    problems.append(f"query: required parameter {name!r} is missing")
                continue
            schema = param["schema"]
            value: object = raw
            if schema.get("type") == "integer":  # form style: the text of an integer
                if not _INTEGER.fullmatch(raw):
                    problems.append(f"query/{name}: {raw!r} is not an integer")
                    continue
                value = int(raw)
            problems += self.schema_errors(schema, value, f"query/{name}")
        media = request.headers.get("content-type", "").split(";")[0].strip()
        content = self.operation["requestBody"]["content"]
        if media not in content:
            return [*problems, f"body: content type {media!r} is not one of {sorted(content)}"]
        try:
            body = json.loads(request.content)
        except ValueError:
            return [*problems, "body: not JSON"]
        problems += self.schema_errors(content[media]["schema"], body, "body")
        action = request.url.params.get("Action", "")
        if action in self.actions:
            problems += self.schema_errors(self._action_schema(action, "request"), body, "body")
        return problems

    def answer_problems(self, action: str, status: int, answer: object) -> list[str]:
        responses = self.operation["responses"]
        key = next((k for k in (str(status), f"{status // 100}XX") if k in responses), None)
        if key is None:
            return [f"HTTP {status}: not a documented response"]
        content = responses[key].get("content")
        if content is None:
            return []  # nothing is promised about the body
        problems = self.schema_errors(content["application/json"]["schema"], answer, "answer")
        if action in self.actions:
            problems += self.schema_errors(self._action_schema(action, "answer"), answer, "answer")
        return problems


class CapturingTransport(httpx.AsyncBaseTransport):
    """Keeps every request before handing it to the wrapped transport."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(load_spec())


def seeded_server() -> FakeZimServer:
    # Every mute fault kind once, in a fixed order, then one mute request in five faulted.
    script = (*FaultKind, None, None)
    faults = FaultPlan(script=script, rate=0.2, actions=[SILENCE], late_delay=1.0)
    server = FakeZimServer(peer_mute_limit=3, faults=faults, seed=11)
    server.register_users("alice", "bob", "carol", "dave", "erin", "frank (ops)", "gina")
    for n in range(105):  # more than one page of QueryGroupsInfoOfUser (Limit 100)
        server.create_group(f"g{n:03}", ["alice", "carol"] if n < 2 else ["alice"])
    server.create_group("g-outside", ["bob"])
    server.state.mute("alice", ConvType.GROUP, "g003", "g004")  # -> 660800051
    server.add_conversation("carol", "bob")
    server.add_conversation("carol", "pat")  # an unregistered peer -> 660700015
    return server


async def mixed_ops(client: ZimClient) -> AsyncIterator[MuteOp]:
    async for op in all_groups_of(client, "alice"):  # partial: two already muted
        yield op
    async for op in all_conversations_of(client, "carol"):
        yield op
    peer, group = ConvType.PEER, ConvType.GROUP
    yield MuteOp("alice", group, ["g-missing-1", "g-missing-2", "g-outside"], True)  # all fail
    yield MuteOp("erin", peer, ["alice", "bob", "carol", "dave", "gina"], True)  # list full
    yield MuteOp("ghost", peer, ["bob"], True)  # FromUserId unknown: whole call refused
    yield MuteOp("bob", peer, ["stranger-1", "stranger-2"], True)  # all peers unknown
    yield MuteOp("bob", group, ["g-outside"], False)  # not muted, so not unmuted
    yield MuteOp("frank (ops)", peer, ["gina"], True)  # space and brackets in a user ID


@pytest.mark.anyio
async def test_every_request_and_answer_of_a_mixed_run_fits_the_spec(
    contract: Contract,
) -> None:
    server = seeded_server()
    capture = CapturingTransport(httpx.ASGITransport(app=server))
    # Short waits keep the asyncio run quick; on trio the clock is virtual anyway.
    limiter = LocalLimiter(20, cooldown=0.05, max_cooldown=0.2)
    async with (
        httpx.AsyncClient(transport=capture, base_url=BASE_URL) as http,
        ZimClient(
            DEFAULT_APP_ID,
            DEFAULT_SERVER_SECRET,
            base_url=BASE_URL,
            http_client=http,
            limiter=limiter,
            timeout=0.25,
            backoff_base=0.01,
            backoff_cap=0.05,
        ) as client,
    ):
        report = await client.apply(mixed_ops(client))
        with pytest.raises(QueryError):
            async for _ in all_groups_of(client, "ghost"):
                pass

    records = server.requests
    assert len(capture.sent) == len(records) > 0
    for request in capture.sent:
        assert contract.request_problems(request) == [], request.url
    for record in records:
        if record.fault is FaultKind.MALFORMED_JSON:
            assert record.answer is None  # a deliberately broken answer, out of contract
            continue
        action = record.action or ""
        assert contract.answer_problems(action, record.status, record.answer) == [], record

    # The run covered what the contract is about, or the checks above prove little.
    answers = [r.answer for r in records if r.answer is not None]
    assert {r.action for r in records} == set(contract.actions)
    assert any(a["Code"] == 0 and a.get("ErrorList") for a in answers)  # partial success
    assert any(a["Code"] != 0 and a.get("ErrorList") for a in answers)  # all failed
    assert any(a["Code"] != 0 and "ErrorList" not in a for a in answers)  # refused whole
    assert {r.fault for r in records} >= set(FaultKind)
    assert any(r.status >= 500 for r in records)
    assert report.retries > 0


def test_the_spec_is_a_valid_openapi_document() -> None:
    spec = load_spec()
    validate_spec(spec)  # raises on any violation of the OpenAPI 3.1 schema
    assert spec["openapi"].startswith("3.1")
    broken = copy.deepcopy(spec)
    broken["components"]["parameters"]["Signature"]["in"] = "body"  # 3.x has no body params
    with pytest.raises(OpenAPIValidationError, match="'body' is not one of"):
        validate_spec(broken)


def test_the_user_id_pattern_allows_exactly_what_the_client_allows(contract: Contract) -> None:
    schema = contract.spec["components"]["schemas"]["UserId"]
    for char in string.printable + "é'`\"*,/\\":
        fits = contract.schema_errors(schema, f"u{char}", "id") == []
        assert fits == (char in USER_ID_CHARS), repr(char)
    assert contract.schema_errors(schema, "x" * 32, "id") == []
    assert contract.schema_errors(schema, "x" * 33, "id") != []
    assert contract.schema_errors(schema, "", "id") != []


def signed_request(body: object, *, drop: str = "", **query: str) -> httpx.Request:
    params = public_params(
        SILENCE,
        DEFAULT_APP_ID,
        DEFAULT_SERVER_SECRET,
        timestamp=1_700_000_000,
        nonce="0123456789abcdef",
    )
    params.update(query)
    params.pop(drop, None)
    return httpx.Request("POST", BASE_URL + "/", params=params, json=body)


GOOD_BODY = {"FromUserId": "alice", "ConvType": 0, "ConvIds": ["bob"], "Enable": True}


@pytest.mark.parametrize(
    ("change", "query", "drop", "expected"),
    [
        ({}, {}, "", None),
        ({"ConvType": 1}, {}, "", "body/ConvType"),
        ({"ConvIds": [f"c{n}" for n in range(11)]}, {}, "", "body/ConvIds"),
        ({"ConvIds": []}, {}, "", "body/ConvIds"),
        ({"FromUserId": "a*b"}, {}, "", "body/FromUserId"),
        ({"FromUserId": "alice\n"}, {}, "", "body/FromUserId"),
        ({"Enable": "yes"}, {}, "", "body/Enable"),
        ({"Extra": 1}, {}, "", "Extra"),
        ({}, {}, "Signature", "'Signature' is missing"),
        ({}, {"Signature": "ABC"}, "", "query/Signature"),
        ({}, {"Signature": "0" * 32 + "\n"}, "", "query/Signature"),
        ({}, {"SignatureNonce": "nonce"}, "", "query/SignatureNonce"),
        ({}, {"SignatureNonce": "0" * 16 + "\n"}, "", "query/SignatureNonce"),
        ({}, {"SignatureVersion": "1.0"}, "", "query/SignatureVersion"),
        ({}, {"Timestamp": "soon"}, "", "query/Timestamp"),
        ({}, {"AppId": "-1"}, "", "query/AppId"),
        ({}, {"Action": "DeleteEverything"}, "", "query/Action"),
    ],
)
def test_a_wrong_request_is_rejected(
    contract: Contract,
    change: dict[str, object],
    query: dict[str, str],
    drop: str,
    expected: str | None,
) -> None:
    problems = contract.request_problems(
        signed_request({**GOOD_BODY, **change}, drop=drop, **query)
    )
    if expected is None:
        assert problems == []  # the unchanged request passes: the change is what fails
    else:
        assert any(expected in p for p in problems), problems


GOOD_ANSWER: dict[str, Any] = {
    "Code": 0,
    "Message": "success",
    "RequestId": "700000000000000042",
    "ErrorList": [{"ConvId": "bob", "SubCode": 660700015, "SubMessage": "not registered"}],
}


def _without_sub_code(answer: dict[str, Any]) -> None:
    del answer["ErrorList"][0]["SubCode"]


@pytest.mark.parametrize(
    ("action", "status", "mutate", "expected"),
    [
        (SILENCE, 200, None, None),
        (SILENCE, 200, lambda a: a.update(RequestId=700000000000000042), "answer/RequestId"),
        (SILENCE, 200, _without_sub_code, "'SubCode' is a required property"),
        (SILENCE, 200, lambda a: a.update(Code="0"), "answer/Code"),
        (SILENCE, 200, lambda a: a.pop("Message"), "'Message' is a required property"),
        (SILENCE, 404, None, "HTTP 404"),
        ("QueryGroupsInfoOfUser", 200, None, "'NextRsp' is a required property"),
        ("QueryConversationList", 200, lambda a: a.update(Next=-1, TotalCount=0, List=[]), "Next"),
    ],
)
def test_a_wrong_answer_is_rejected(
    contract: Contract, action: str, status: int, mutate: Any, expected: str | None
) -> None:
    answer = copy.deepcopy(GOOD_ANSWER)
    if mutate is not None:
        mutate(answer)
    problems = contract.answer_problems(action, status, answer)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_a_real_answer_checked_as_another_action_is_rejected(contract: Contract) -> None:
    # The per-action schemas matter: a mute answer is not a conversation page.
    answer: Mapping[str, object] = {**GOOD_ANSWER, "ErrorList": []}
    assert contract.answer_problems(SILENCE, 200, answer) == []
    assert contract.answer_problems("QueryConversationList", 200, answer) != []
