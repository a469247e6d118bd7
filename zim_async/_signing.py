"""Request signing (signature version 2.0). Pure: the nonce and the time are inputs.

    Signature = md5(str(AppId) + SignatureNonce + ServerSecret + str(Timestamp)), lower-case hex

The signature covers neither the Action nor the body; a fresh nonce and timestamp are
made for every attempt, after the limiter wait, so a queued request is never stale.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["SIGNATURE_VERSION", "make_nonce", "public_params", "signature"]

SIGNATURE_VERSION = "2.0"


def signature(app_id: int, nonce: str, server_secret: str, timestamp: int) -> str:
    """The request signature: 32 lower-case hex characters."""
    text = f"{app_id}{nonce}{server_secret}{timestamp}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def make_nonce() -> str:
    """16 hex characters from 8 random bytes, as the API asks."""
    return secrets.token_hex(8)


def public_params(
    action: str, app_id: int, server_secret: str, *, timestamp: int, nonce: str
) -> dict[str, str]:
    """The query-string parameters of one signed request."""
    return {
        "Action": action,
        "AppId": str(app_id),
        "SignatureNonce": nonce,
        "Timestamp": str(timestamp),
        "SignatureVersion": SIGNATURE_VERSION,
        "Signature": signature(app_id, nonce, server_secret, timestamp),
    }
