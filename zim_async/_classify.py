"""From one answer to a decision for each conversation of the request. Pure.

Every ID of the batch ends up exactly once either in ``decided`` or in ``retry``;
the runner acts on the flags (split, stop, short-circuits, rate limit, re-sign).
"""

from __future__ import annotations

import attrs

from ._chunking import Batch
from ._codes import CodeClass, classify_code, describe_code
from ._model import ApiAnswer, ConvOutcome, Status

__all__ = ["Verdict", "classify_answer", "decide"]


@attrs.frozen(kw_only=True)
class Verdict:
    decided: tuple[ConvOutcome, ...] = ()
    #: IDs to send again (transient codes), with the code that made them retry.
    retry: tuple[str, ...] = ()
    retry_code: int | None = None
    retry_message: str = ""
    rate_limited: bool = False
    #: The timestamp was refused as expired: sign again and retry.
    resign: bool = False
    #: The whole multi-ID request was refused as malformed: halve it to find the bad IDs.
    split: bool = False
    #: A code that stops the whole run (credentials, configuration).
    stop: int | None = None
    #: The user does not exist: fail the rest of their conversations unsent.
    user_not_registered: bool = False
    #: The user's mute list of this type is full: fail their further mutes unsent.
    mute_list_full: bool = False


def decide(code: int, enable: bool) -> Status | CodeClass:
    """What ``code`` means for one conversation: a final status, or the class to act on
    (TRANSIENT, RATE_LIMITED, SIGNATURE_EXPIRED) when it is not decided yet."""
    kind = classify_code(code)
    if kind is CodeClass.SUCCESS:
        return Status.SUCCEEDED
    if kind is CodeClass.ALREADY_MUTED:
        # "already muted" answers a mute; to an unmute it is a contradiction.
        return Status.UNCHANGED if enable else Status.FAILED
    if kind is CodeClass.ALREADY_UNMUTED:
        return Status.FAILED if enable else Status.UNCHANGED
    if kind in (CodeClass.TRANSIENT, CodeClass.RATE_LIMITED, CodeClass.SIGNATURE_EXPIRED):
        return kind
    return Status.FAILED


def classify_answer(batch: Batch, answer: ApiAnswer) -> Verdict:
    """Decide every conversation of ``batch`` from the server's ``answer``."""
    code = answer.code
    kind = classify_code(code)
    message = answer.message or describe_code(code)
    if not answer.error_list and code != 0:
        return _whole_request(batch, code, kind, message)

    # Per-item answers. An ID the server names twice, or names without our having sent
    # it, must not be counted twice or invented: only the first mention of a sent ID counts.
    per_id: dict[str, tuple[int, str]] = {}
    sent = set(batch.conv_ids)
    for item in answer.error_list:
        if item.conv_id in sent and item.conv_id not in per_id:
            per_id[item.conv_id] = (item.sub_code, item.sub_message or describe_code(item.sub_code))

    decided: list[ConvOutcome] = []
    retry: list[str] = []
    retry_code: int | None = None
    retry_message = ""
    rate_limited = resign = user_not_registered = mute_list_full = False
    stop: int | None = None
    for conv_id in batch.conv_ids:
        # IDs the ErrorList does not name share the top-level Code: success when it is 0.
        item_code, item_message = per_id.get(conv_id, (code, message if code else ""))
        result = decide(item_code, batch.enable)
        if isinstance(result, Status):
            ok = result in (Status.SUCCEEDED, Status.UNCHANGED)
            shown = item_message if (item_code or not ok) else ""
            decided.append(
                batch.outcome(
                    conv_id, result, None if result is Status.SUCCEEDED else item_code, shown
                )
            )
            item_kind = classify_code(item_code)
            user_not_registered |= item_kind is CodeClass.USER_NOT_REGISTERED
            mute_list_full |= item_kind is CodeClass.MUTE_LIST_FULL and batch.enable
            if item_kind is CodeClass.STOP:
                stop = item_code
        else:
            retry.append(conv_id)
            retry_code, retry_message = item_code, item_message
            rate_limited |= result is CodeClass.RATE_LIMITED
            resign |= result is CodeClass.SIGNATURE_EXPIRED
    return Verdict(
        decided=tuple(decided),
        retry=tuple(retry),
        retry_code=retry_code,
        retry_message=retry_message,
        rate_limited=rate_limited,
        resign=resign,
        user_not_registered=user_not_registered,
        mute_list_full=mute_list_full,
        stop=stop,
    )


def _whole_request(batch: Batch, code: int, kind: CodeClass, message: str) -> Verdict:
    """Code != 0 without an ErrorList: the request as a whole was answered ``code``."""
    if kind in (CodeClass.TRANSIENT, CodeClass.RATE_LIMITED, CodeClass.SIGNATURE_EXPIRED):
        return Verdict(
            retry=batch.conv_ids,
            retry_code=code,
            retry_message=message,
            rate_limited=kind is CodeClass.RATE_LIMITED,
            resign=kind is CodeClass.SIGNATURE_EXPIRED,
        )
    if kind is CodeClass.INVALID_PARAMS and len(batch.conv_ids) > 1:
        return Verdict(split=True)
    result = decide(code, batch.enable)
    status = result if isinstance(result, Status) else Status.FAILED
    decided = tuple(batch.outcome(c, status, code, message) for c in batch.conv_ids)
    return Verdict(
        decided=decided,
        stop=code if kind is CodeClass.STOP else None,
        user_not_registered=kind is CodeClass.USER_NOT_REGISTERED,
        mute_list_full=kind is CodeClass.MUTE_LIST_FULL and batch.enable,
    )
