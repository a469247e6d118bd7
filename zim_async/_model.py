"""Plain values that flow through the pipeline: conversation types, outcomes, answers."""

from __future__ import annotations

import enum

import attrs

__all__ = ["ApiAnswer", "ConvError", "ConvOutcome", "ConvType", "Status"]


class ConvType(enum.IntEnum):
    """The API's conversation types."""

    PEER = 0
    """One-on-one conversation; the conversation ID is the peer's user ID."""
    GROUP = 2
    """Group conversation; the conversation ID is the group ID."""


class Status(str, enum.Enum):
    """Where a conversation ended up. Every conversation ends in exactly one."""

    SUCCEEDED = "succeeded"
    """The server changed the mute state as asked."""
    UNCHANGED = "unchanged"
    """The conversation already was in the wanted state (660800051 / 660800052)."""
    FAILED = "failed"
    """The server refused it with a permanent code; ``code`` and ``message`` say why."""
    NOT_ATTEMPTED = "not_attempted"
    """Never sent: the run stopped or was cancelled before its turn."""
    UNKNOWN = "unknown"
    """Sent, but no answer was understood: the change may or may not have been applied."""


@attrs.frozen(kw_only=True)
class ConvOutcome:
    """The decided outcome of one conversation."""

    from_user_id: str
    conv_type: ConvType
    conv_id: str
    enable: bool
    status: Status
    #: The API code behind a failure (or the code that stopped the run), else ``None``.
    code: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data; ``conv_type`` is the API's number."""
        return {
            "from_user_id": self.from_user_id,
            "conv_type": int(self.conv_type),
            "conv_id": self.conv_id,
            "enable": self.enable,
            "status": self.status.value,
            "code": self.code,
            "message": self.message,
        }


@attrs.frozen
class ConvError:
    """One item of an answer's ``ErrorList``."""

    conv_id: str
    sub_code: int
    sub_message: str = ""


@attrs.frozen(kw_only=True)
class ApiAnswer:
    """A parsed answer of ``SilenceConvNotification``."""

    code: int
    message: str = ""
    request_id: str = ""
    error_list: tuple[ConvError, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every conversation of the request was updated."""
        return self.code == 0 and not self.error_list
