"""The Actions: body checks and answers. The server adds ``RequestId`` to each answer."""

from __future__ import annotations

import json
from collections.abc import Callable

from zim_async._codes import describe_code
from zim_async._model import ConvType
from zim_async._validate import USER_ID_CHARS

from ._gateway import QUERY_CONVERSATIONS, QUERY_GROUPS, SILENCE
from ._state import FakeState

__all__ = ["handle_action", "parse_body"]

INVALID_PARAMS = 660000002
USER_NOT_REGISTERED = 660500002
MAX_ID_LENGTH = 32
MAX_CONV_IDS = 10
Answer = dict[str, object]


class BadRequest(Exception):
    """The body breaks a documented rule: Code 660000002, no ErrorList."""


def envelope(code: int, message: str | None = None) -> Answer:
    if message is None:
        message = "success" if code == 0 else describe_code(code)
    return {"Code": code, "Message": message}


def parse_body(raw: bytes) -> object:
    """The JSON body, or the raw text (for the log) when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def handle_action(action: str, body: object, state: FakeState) -> Answer:
    """Run ``action``; every body error becomes Code 660000002."""
    handler = _HANDLERS[action]
    try:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return handler(body, state)
    except BadRequest as exc:
        return envelope(INVALID_PARAMS, f"input params error: {exc}")


def _as_int(value: object) -> int | None:
    # JSON true/false arrive as bool, which is an int subclass; the API wants numbers.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _user_id(body: dict[str, object]) -> str:
    value = body.get("FromUserId")
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadRequest("FromUserId must be a string of 1 to 32 characters")
    if not set(value) <= USER_ID_CHARS:
        raise BadRequest("FromUserId contains characters the API does not allow")
    return value


def _silence(body: dict[str, object], state: FakeState) -> Answer:
    from_user_id = _user_id(body)
    conv_type = _as_int(body.get("ConvType"))
    if conv_type is None or conv_type not in (0, 2):
        raise BadRequest("ConvType must be 0 or 2")
    conv_ids = body.get("ConvIds")
    if not isinstance(conv_ids, list) or not 1 <= len(conv_ids) <= MAX_CONV_IDS:
        raise BadRequest("ConvIds must be an array of 1 to 10 IDs")
    for conv_id in conv_ids:
        if not isinstance(conv_id, str) or not 1 <= len(conv_id) <= MAX_ID_LENGTH:
            raise BadRequest("each ConvId must be a string of 1 to 32 characters")
    enable = body.get("Enable")
    if not isinstance(enable, bool):
        raise BadRequest("Enable must be a boolean")
    if not state.is_registered(from_user_id):
        return envelope(USER_NOT_REGISTERED)
    # Duplicates are undocumented; each ID is handled (and reported) once, first one wins.
    unique: list[str] = list(dict.fromkeys(conv_ids))
    failures = state.silence(from_user_id, ConvType(conv_type), unique, enable)
    error_list: list[object] = [
        {"ConvId": conv_id, "SubCode": code, "SubMessage": describe_code(code)}
        for conv_id, code in failures
    ]
    # All failed: Code is the first item's SubCode (for peers whose users are all
    # unregistered that is 660700015, as documented). Otherwise Code 0.
    answer = envelope(failures[0][1] if len(failures) == len(unique) else 0)
    answer["ErrorList"] = error_list
    return answer


def _query_groups(body: dict[str, object], state: FakeState) -> Answer:
    from_user_id = _user_id(body)
    limit = _as_int(body.get("Limit"))
    if limit is None or not 1 <= limit <= 100:
        raise BadRequest("Limit must be a number from 1 to 100")
    next_token = body.get("Next", "")
    # NextRsp tokens are offsets; "0" (the end marker) and "" both mean the first page.
    if not isinstance(next_token, str) or not (next_token == "" or next_token.isdecimal()):
        raise BadRequest("Next must be a string: empty, or the previous NextRsp")
    if not state.is_registered(from_user_id):
        return envelope(USER_NOT_REGISTERED)
    groups = state.groups_of(from_user_id)
    start = int(next_token or 0)
    end = start + limit
    page = groups[start:end]
    answer = envelope(0)
    answer["NextRsp"] = str(end) if end < len(groups) else "0"
    answer["HasJoinGroupNum"] = len(groups)
    answer["GroupInfoList"] = [
        {"GroupId": g.group_id, "GroupName": g.name, "GroupAvatar": g.avatar} for g in page
    ]
    return answer


def _query_conversations(body: dict[str, object], state: FakeState) -> Answer:
    from_user_id = _user_id(body)
    limit = _as_int(body.get("Limit", 100))
    if limit is None:
        raise BadRequest("Limit must be a number")
    # Documented coercion: <= 0 becomes 100, > 500 becomes 500.
    size = 100 if limit <= 0 else min(limit, 500)
    start = _as_int(body.get("Next", 0))
    if start is None or start < 0:
        raise BadRequest("Next must be 0 or the previous answer's Next")
    if not state.is_registered(from_user_id):
        return envelope(USER_NOT_REGISTERED)
    convs = state.conversations_of(from_user_id)
    end = start + size
    answer = envelope(0)
    answer["TotalCount"] = len(convs)
    # Next is an offset here; it is opaque to clients, and 0 means "done".
    answer["Next"] = end if end < len(convs) else 0
    items: list[object] = []
    for conv in convs[start:end]:
        item: dict[str, object] = {"ConvId": conv.conv_id, "UpdateTime": conv.update_time}
        if conv.conv_type is ConvType.GROUP:  # the real API omits ConvType for peers
            item["ConvType"] = int(conv.conv_type)
        items.append(item)
    answer["List"] = items
    return answer


_HANDLERS: dict[str, Callable[[dict[str, object], FakeState], Answer]] = {
    SILENCE: _silence,
    QUERY_GROUPS: _query_groups,
    QUERY_CONVERSATIONS: _query_conversations,
}
