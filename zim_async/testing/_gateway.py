"""What the API gateway checks before an Action runs: public parameters, signature, QPS."""

from __future__ import annotations

import hmac
import re
from collections import deque
from collections.abc import Mapping

import attrs

from zim_async._signing import SIGNATURE_VERSION, signature

__all__ = ["GatewayReject", "RateWindows", "check_public_params"]

SILENCE = "SilenceConvNotification"
QUERY_GROUPS = "QueryGroupsInfoOfUser"
QUERY_CONVERSATIONS = "QueryConversationList"
SUPPORTED_ACTIONS = frozenset({SILENCE, QUERY_GROUPS, QUERY_CONVERSATIONS})
#: Allowed difference between the request's Timestamp and the server's clock (facts §1.4).
MAX_SKEW_SECONDS = 600
_UINT32 = re.compile(r"[0-9]{1,10}")
_INT64 = re.compile(r"-?[0-9]{1,19}")


@attrs.frozen
class GatewayReject(Exception):
    """A request refused with ``code`` before its Action ran."""

    code: int
    message: str


@attrs.frozen
class Admitted:
    """A request that passed the gateway."""

    action: str
    app_id: int


def check_public_params(query: Mapping[str, str], apps: Mapping[int, str], now: float) -> Admitted:
    """Check the six public parameters in a fixed order; raise `GatewayReject` on the first bad one.

    Order: Action, AppId, Timestamp, SignatureNonce, SignatureVersion, Signature, then
    expiry, then the signature value. An empty value counts as missing.
    """
    action = query.get("Action", "")
    if not action:
        raise GatewayReject(100000006, "Action is missing")
    if action not in SUPPORTED_ACTIONS:
        raise GatewayReject(100000007, f"unsupported Action {action!r}")
    raw_app_id = query.get("AppId", "")
    # The facts sheet names one AppId code (100000001, malformed); an unknown but
    # well-formed AppId gets it too, since its ServerSecret cannot be found either way.
    if not _UINT32.fullmatch(raw_app_id) or int(raw_app_id) not in apps:
        raise GatewayReject(100000001, "AppId is malformed or unknown")
    app_id = int(raw_app_id)
    raw_timestamp = query.get("Timestamp", "")
    if not raw_timestamp:
        raise GatewayReject(100000002, "Timestamp is missing")
    if not _INT64.fullmatch(raw_timestamp):
        raise GatewayReject(100000003, "Timestamp is malformed")
    # The nonce format (16 hex characters) is not enforced: one docs page calls it
    # "a random string", and no code for a malformed nonce is documented.
    nonce = query.get("SignatureNonce", "")
    if not nonce:
        raise GatewayReject(100000008, "SignatureNonce is missing")
    version = query.get("SignatureVersion", "")
    if not version:
        raise GatewayReject(100000013, "SignatureVersion is missing")
    if version != SIGNATURE_VERSION:
        raise GatewayReject(100000014, f"unsupported SignatureVersion {version!r}")
    given = query.get("Signature", "")
    if not given:
        raise GatewayReject(100000009, "Signature is missing")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise GatewayReject(100000004, "signature expired: Timestamp is more than 10 minutes off")
    expected = signature(app_id, nonce, apps[app_id], timestamp)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise GatewayReject(100000005, "signature invalid")
    return Admitted(action, app_id)


class RateWindows:
    """Sliding one-second windows per (AppId, Action), counted on arrival.

    A request arriving at ``t`` is admitted when fewer than ``qps`` admitted requests
    arrived in ``(t - window, t]``. A refused request is not counted: the real
    server's behaviour is not documented, and counting only admitted ones means a
    client that backs off is not punished for the refusals it already got. Not
    thread-safe; the server calls it under its lock.
    """

    def __init__(self, qps: float | None, window: float = 1.0) -> None:
        self.qps = qps
        self.window = window
        self._log: dict[tuple[int, str], deque[float]] = {}

    def admit(self, key: tuple[int, str], now: float) -> bool:
        if self.qps is None:
            return True
        times = self._log.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) + 1 > self.qps:
            return False
        times.append(now)
        return True
