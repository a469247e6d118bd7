"""zim_async: an anyio client for the ZEGOCLOUD In-app Chat (ZIM) server API.

Mute or unmute notifications for any number of conversations with one ``await``:
requests are signed, paced at the API's 20 calls/s per AppID, split into batches of
10, retried when transient, and merged into one `MuteReport`.
"""

from typing import TYPE_CHECKING

from ._client import DEFAULT_BASE_URL, ZimClient
from ._errors import (
    InvalidRequestError,
    ZimAuthError,
    ZimError,
    ZimProtocolError,
    ZimTransportError,
)
from ._limiter import Limiter, LimitKey, LocalLimiter, UnlimitedLimiter, shared_limiter
from ._model import ApiAnswer, ConvError, ConvOutcome, ConvType, Status
from ._ops import MuteOp
from ._report import MuteReport
from ._sinks import Progress
from ._stream import OutcomeStream
from ._version import __version__
from .journal import JournalMismatchError, SqliteJournal

if TYPE_CHECKING:  # imported lazily at run time (optional coredis): see __getattr__
    from .redis import RedisLimiter as RedisLimiter
    from .redis import RedisUnavailableError as RedisUnavailableError

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiAnswer",
    "ConvError",
    "ConvOutcome",
    "ConvType",
    "InvalidRequestError",
    "JournalMismatchError",
    "LimitKey",
    "Limiter",
    "LocalLimiter",
    "MuteOp",
    "MuteReport",
    "OutcomeStream",
    "Progress",
    "SqliteJournal",
    "Status",
    "UnlimitedLimiter",
    "ZimAuthError",
    "ZimClient",
    "ZimError",
    "ZimProtocolError",
    "ZimTransportError",
    "__version__",
    "shared_limiter",
]


def __getattr__(name: str) -> object:
    # RedisLimiter needs the optional coredis (extra "redis"): imported on first use only.
    if name in ("RedisLimiter", "RedisUnavailableError"):
        from . import redis

        return getattr(redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
