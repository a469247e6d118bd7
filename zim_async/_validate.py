"""Input rules, checked before anything is sent. Pure functions.

Each check returns the normalised value or raises `InvalidRequestError` naming the
field and a truncated repr of the offending value.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable
from typing import NoReturn

from ._errors import InvalidRequestError
from ._model import ConvType

__all__ = [
    "MAX_CONV_IDS_PER_REQUEST",
    "MAX_ID_LENGTH",
    "check_app_id",
    "check_conv_id",
    "check_conv_ids",
    "check_conv_type",
    "check_enable",
    "check_server_secret",
    "check_user_id",
]

MAX_CONV_IDS_PER_REQUEST = 10
MAX_ID_LENGTH = 32
_UINT32_MAX = 2**32 - 1
# Digits, English letters and the 26 symbols of the SilenceConvNotification page (space included).
USER_ID_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&()+-:;<=.>?@[]^_ {}|~")
_REPR_LIMIT = 48


def short_repr(value: object) -> str:
    """``repr(value)``, truncated so that a huge value cannot flood a message."""
    text = repr(value)
    if len(text) > _REPR_LIMIT:
        text = text[: _REPR_LIMIT - 3] + "..."
    return text


def _fail(field: str, value: object, reason: str) -> NoReturn:
    shown = short_repr(value)
    raise InvalidRequestError(f"{field}={shown}: {reason}", field=field, value=shown)


def check_user_id(value: object, field: str = "from_user_id") -> str:
    if not isinstance(value, str):
        _fail(field, value, f"must be a str, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        _fail(field, value, f"must be 1 to {MAX_ID_LENGTH} characters long (got {len(value)})")
    bad = sorted({c for c in value if c not in USER_ID_CHARS})
    if bad:
        _fail(
            field,
            value,
            f"contains characters the API does not allow: {short_repr(''.join(bad))}; allowed"
            " are digits, English letters and !#$%&()+-:;<=.>?@[]^_{}|~ and space",
        )
    return value


def check_conv_type(value: object) -> ConvType:
    # bool is an int subclass: True would silently become 1, which is not a conversation type.
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 2):
        _fail("conv_type", value, "must be ConvType.PEER (0) or ConvType.GROUP (2)")
    return ConvType(value)


def check_conv_id(value: object, field: str = "conv_ids") -> str:
    if not isinstance(value, str):
        _fail(field, value, f"each conversation ID must be a str, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        _fail(field, value, f"each conversation ID must be 1 to {MAX_ID_LENGTH} characters long")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            _fail(field, value, "a conversation ID must not contain control characters")
    return value


def check_conv_ids(value: object) -> tuple[str, ...]:
    """Check the IDs and drop duplicates, keeping the first occurrence's order."""
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        _fail("conv_ids", value, "must be an iterable of conversation ID strings, not a string")
    ids = tuple(dict.fromkeys(check_conv_id(item) for item in value))
    if not ids:
        _fail("conv_ids", value, "must contain at least one conversation ID")
    return ids


def check_enable(value: object) -> bool:
    if not isinstance(value, bool):
        _fail("enable", value, "must be True (mute) or False (unmute)")
    return value


def check_app_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _UINT32_MAX:
        _fail("app_id", value, "must be an int between 1 and 4294967295 (uint32)")
    return value


def check_server_secret(value: object) -> str:
    # The value is a secret: never echo it, not even truncated.
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(
            "server_secret must be a non-empty str", field="server_secret", value="<hidden>"
        )
    return value
