"""Plan builders: the ops that mute (or unmute) everything a user has.

    async with ZimClient.from_env() as client:
        report = await client.apply(all_groups_of(client, "alice"))

Both page through a query action with `ZimClient.call`, so the queries are paced by
the client's limiter under their own action's budget (20/s each) and retried like any
call. Each builder reads the whole list before yielding its first op: muting may
reorder the server's lists while they are being paged, and the lists are small (a user
joins at most 1000 groups, and the conversation list holds the 1000 most recent ones).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ._client import ZimClient
from ._errors import ZimError, ZimProtocolError
from ._model import ConvType
from ._ops import MuteOp
from ._validate import check_user_id

__all__ = [
    "QUERY_CONVERSATIONS",
    "QUERY_GROUPS",
    "QueryError",
    "all_conversations_of",
    "all_groups_of",
]

QUERY_GROUPS = "QueryGroupsInfoOfUser"
QUERY_CONVERSATIONS = "QueryConversationList"
_GROUPS_PAGE = 100  # the action's maximum Limit
_CONVERSATIONS_PAGE = 500
_MAX_PAGES = 1000  # a server whose paging never ends must not keep us forever


class QueryError(ZimError):
    """A query action answered with a non-zero ``Code`` (e.g. the user is not registered)."""

    def __init__(self, message: str, *, code: int, request_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


def _checked(action: str, user: str, answer: dict[str, Any]) -> dict[str, Any]:
    code = answer.get("Code")
    if code != 0:
        message = answer.get("Message") or ""
        raise QueryError(
            f"{action} for {user!r}: code {code} {str(message)[:200]}".rstrip(),
            code=code if isinstance(code, int) else -1,
            request_id=str(answer.get("RequestId", "")),
        )
    return answer


def _items(action: str, answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = answer.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ZimProtocolError(f"{action}: {name} is not a list of objects")
    return items


async def group_ids_of(client: ZimClient, user: str) -> list[str]:
    """Every group ``user`` has joined (QueryGroupsInfoOfUser, paged by ``NextRsp``)."""
    user = check_user_id(user)
    ids: list[str] = []
    token = ""
    for _ in range(_MAX_PAGES):
        body = {"FromUserId": user, "Limit": _GROUPS_PAGE, "Next": token}
        answer = _checked(QUERY_GROUPS, user, await client.call(QUERY_GROUPS, body))
        for item in _items(QUERY_GROUPS, answer, "GroupInfoList"):
            group_id = item.get("GroupId")
            if not isinstance(group_id, str):
                raise ZimProtocolError(f"{QUERY_GROUPS}: a GroupId is not a string")
            ids.append(group_id)
        token = answer.get("NextRsp", "0")
        if not isinstance(token, str):
            raise ZimProtocolError(f"{QUERY_GROUPS}: NextRsp is not a string")
        if token in ("0", ""):
            return list(dict.fromkeys(ids))
    raise ZimProtocolError(f"{QUERY_GROUPS}: paging did not end after {_MAX_PAGES} pages")


async def conversations_of(client: ZimClient, user: str) -> dict[ConvType, list[str]]:
    """``user``'s conversation IDs by type (QueryConversationList, paged by ``Next``)."""
    user = check_user_id(user)
    found: dict[ConvType, list[str]] = {ConvType.PEER: [], ConvType.GROUP: []}
    token = 0
    for _ in range(_MAX_PAGES):
        body = {"FromUserId": user, "Limit": _CONVERSATIONS_PAGE, "Next": token}
        answer = _checked(QUERY_CONVERSATIONS, user, await client.call(QUERY_CONVERSATIONS, body))
        for item in _items(QUERY_CONVERSATIONS, answer, "List"):
            conv_id, conv_type = item.get("ConvId"), item.get("ConvType", 0)
            # The API omits ConvType for one-on-one conversations ("0 or not returned").
            if not isinstance(conv_id, str) or conv_type not in (None, 0, 2):
                raise ZimProtocolError(f"{QUERY_CONVERSATIONS}: unexpected item {item!r:.80}")
            found[ConvType(conv_type or 0)].append(conv_id)
        token = answer.get("Next", 0)
        if isinstance(token, bool) or not isinstance(token, int):
            raise ZimProtocolError(f"{QUERY_CONVERSATIONS}: Next is not a number")
        if token == 0:
            return {kind: list(dict.fromkeys(ids)) for kind, ids in found.items()}
    raise ZimProtocolError(f"{QUERY_CONVERSATIONS}: paging did not end after {_MAX_PAGES} pages")


async def all_groups_of(
    client: ZimClient, user: str, *, enable: bool = True
) -> AsyncIterator[MuteOp]:
    """One op that mutes (``enable=False``: unmutes) every group ``user`` has joined.

    Yields nothing when the user is in no group; raises `QueryError` when the server
    refuses the query (e.g. 660500002, the user is not registered).
    """
    ids = await group_ids_of(client, user)
    if ids:
        yield MuteOp(user, ConvType.GROUP, ids, enable)


async def all_conversations_of(
    client: ZimClient, user: str, *, enable: bool = True
) -> AsyncIterator[MuteOp]:
    """Ops that mute (``enable=False``: unmute) every conversation in ``user``'s list:
    one for the one-on-one conversations, one for the groups (each only if not empty)."""
    by_type = await conversations_of(client, user)
    for conv_type, ids in by_type.items():
        if ids:
            yield MuteOp(user, conv_type, ids, enable)
