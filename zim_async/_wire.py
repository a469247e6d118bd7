"""What goes on the wire and what comes back. Pure: bytes in, values out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import ZimProtocolError
from ._model import ApiAnswer, ConvError

__all__ = ["decode_json", "parse_envelope", "parse_silence_answer"]

_MESSAGE_LIMIT = 512  # a hostile server must not make our reports huge


def decode_json(content: bytes) -> dict[str, Any]:
    """The JSON object of an answer body."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ZimProtocolError(
            f"the answer is not JSON ({len(content)} bytes starting {content[:40]!r})"
        ) from exc
    if not isinstance(data, dict):
        raise ZimProtocolError(f"the answer is JSON but not an object: {type(data).__name__}")
    return data


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text[:_MESSAGE_LIMIT]


def _int(value: object, what: str) -> int:
    # bool is an int subclass; True is not a code.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZimProtocolError(f"{what} is not an integer: {value!r:.40}")
    return value


def parse_envelope(data: Mapping[str, Any]) -> tuple[int, str, str]:
    """``(Code, Message, RequestId)`` of any ZIM answer."""
    if "Code" not in data:
        raise ZimProtocolError("the answer has no Code")
    code = _int(data["Code"], "Code")
    # RequestId can exceed 2**53: keep it as text whatever type the server used.
    return code, _text(data.get("Message")), _text(data.get("RequestId"))


def parse_silence_answer(data: Mapping[str, Any]) -> ApiAnswer:
    """The answer of ``SilenceConvNotification``: envelope plus ``ErrorList``."""
    code, message, request_id = parse_envelope(data)
    raw_list = data.get("ErrorList")
    if raw_list is None:
        raw_list = []
    if not isinstance(raw_list, list):
        raise ZimProtocolError(f"ErrorList is not a list: {type(raw_list).__name__}")
    errors = []
    for item in raw_list:
        if not isinstance(item, dict):
            raise ZimProtocolError(f"an ErrorList item is not an object: {item!r:.40}")
        conv_id = item.get("ConvId")
        if not isinstance(conv_id, str):
            raise ZimProtocolError(f"an ErrorList item has no string ConvId: {item!r:.60}")
        sub_code = _int(item.get("SubCode"), "SubCode")
        errors.append(ConvError(conv_id, sub_code, _text(item.get("SubMessage"))))
    return ApiAnswer(code=code, message=message, request_id=request_id, error_list=tuple(errors))
