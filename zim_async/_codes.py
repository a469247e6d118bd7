"""Return codes of the ZIM server API and what the client does with each one.

Pure data: one table maps a code to its class. A code that is not in the table is
permanent: we do not retry what we do not understand, and we do not stop the run for it.
"""

from __future__ import annotations

import enum

__all__ = ["CodeClass", "classify_code", "describe_code"]

SUCCESS = 0
RATE_LIMIT_GATEWAY = 7
INVALID_PARAMS = 660000002
RATE_LIMITED = 660300005
USER_NOT_REGISTERED = 660500002
MUTE_LIST_FULL = 660800030
ALREADY_MUTED = 660800051
ALREADY_UNMUTED = 660800052
SIGNATURE_EXPIRED = 100000004


class CodeClass(enum.Enum):
    """What a code means for the conversations it applies to."""

    SUCCESS = "success"
    #: Already muted (when muting): the conversation is in the wanted state.
    ALREADY_MUTED = "already_muted"
    #: Already unmuted (when unmuting).
    ALREADY_UNMUTED = "already_unmuted"
    #: Retrying can help (server busy, internal error).
    TRANSIENT = "transient"
    #: The AppID's call budget was exceeded: back off for everyone, then retry.
    RATE_LIMITED = "rate_limited"
    #: Timestamp outside the server's window: re-sign and retry once.
    SIGNATURE_EXPIRED = "signature_expired"
    #: Fails this conversation (or request) and nothing else.
    PERMANENT = "permanent"
    #: The whole request was malformed: split a multi-ID request to isolate bad IDs.
    INVALID_PARAMS = "invalid_params"
    #: The FromUserId does not exist: every conversation of that user will fail.
    USER_NOT_REGISTERED = "user_not_registered"
    #: The user's mute list is full: every further mute of that type will fail.
    MUTE_LIST_FULL = "mute_list_full"
    #: Credentials or configuration are wrong: every request will fail; stop the run.
    STOP = "stop"


_TABLE: dict[int, tuple[CodeClass, str]] = {
    0: (CodeClass.SUCCESS, "success"),
    1: (CodeClass.TRANSIENT, "server busy"),
    2: (CodeClass.PERMANENT, "input parameter error"),
    3: (CodeClass.STOP, "authentication failed"),
    7: (CodeClass.RATE_LIMITED, "requests per second exceed the system setting"),
    105001: (CodeClass.TRANSIENT, "database error"),
    100000000: (CodeClass.STOP, "wrong host in the request URL"),
    100000001: (CodeClass.STOP, "malformed AppId"),
    100000002: (CodeClass.STOP, "Timestamp missing"),
    100000003: (CodeClass.STOP, "malformed Timestamp"),
    SIGNATURE_EXPIRED: (CodeClass.SIGNATURE_EXPIRED, "signature expired"),
    100000005: (CodeClass.STOP, "signature invalid"),
    100000006: (CodeClass.STOP, "Action missing"),
    100000007: (CodeClass.STOP, "unsupported Action"),
    100000008: (CodeClass.STOP, "SignatureNonce missing"),
    100000009: (CodeClass.STOP, "Signature missing"),
    100000010: (CodeClass.STOP, "failed to obtain the ServerSecret"),
    100000011: (CodeClass.STOP, "failed to obtain the app configuration"),
    100000012: (CodeClass.TRANSIENT, "gateway failed to read the HTTP body"),
    100000013: (CodeClass.STOP, "SignatureVersion missing"),
    100000014: (CodeClass.STOP, "unsupported SignatureVersion"),
    100000015: (CodeClass.TRANSIENT, "gateway internal error"),
    100000016: (CodeClass.STOP, "app not configured for production"),
    100000017: (CodeClass.STOP, "app has not enabled this service"),
    660000001: (CodeClass.TRANSIENT, "general business error"),
    INVALID_PARAMS: (CodeClass.INVALID_PARAMS, "invalid input parameter"),
    660000003: (CodeClass.TRANSIENT, "logic processing error"),
    RATE_LIMITED: (CodeClass.RATE_LIMITED, "call frequency exceeds the AppID-level limit"),
    660300006: (CodeClass.RATE_LIMITED, "call frequency exceeds the group-level limit"),
    USER_NOT_REGISTERED: (CodeClass.USER_NOT_REGISTERED, "FromUserId is not registered"),
    660600001: (CodeClass.PERMANENT, "group does not exist"),
    660600009: (CodeClass.PERMANENT, "failed to fetch group information"),
    660600024: (CodeClass.PERMANENT, "FromUserId is not a member of the group"),
    660700015: (CodeClass.PERMANENT, "peer user is not registered"),
    660800019: (CodeClass.PERMANENT, "too many items in one batch"),
    MUTE_LIST_FULL: (CodeClass.MUTE_LIST_FULL, "mute list is full"),
    ALREADY_MUTED: (CodeClass.ALREADY_MUTED, "conversation is already muted"),
    ALREADY_UNMUTED: (CodeClass.ALREADY_UNMUTED, "conversation is already unmuted"),
    660800053: (CodeClass.PERMANENT, "querying the conversation list failed"),
}


def classify_code(code: int) -> CodeClass:
    """The class of ``code``; unknown codes are permanent."""
    entry = _TABLE.get(code)
    return entry[0] if entry is not None else CodeClass.PERMANENT


def describe_code(code: int) -> str:
    """A short description of ``code`` from the API's documentation."""
    entry = _TABLE.get(code)
    return entry[1] if entry is not None else "unknown code"
