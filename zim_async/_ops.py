"""`MuteOp`, the unit of work users hand to `ZimClient.apply`."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ._model import ConvType
from ._validate import check_conv_ids, check_conv_type, check_enable, check_user_id

__all__ = ["MuteOp"]


@attrs.frozen
class MuteOp:
    """Mute (``enable=True``) or unmute conversations of one type for one user.

    Checked on construction: a bad field raises `InvalidRequestError` naming it.
    ``conv_ids`` may be any iterable of strings (any length); duplicates are dropped.

        MuteOp("alice", ConvType.GROUP, ["g1", "g2"], True)
    """

    from_user_id: str = attrs.field(converter=check_user_id)
    conv_type: ConvType = attrs.field(converter=check_conv_type)
    conv_ids: tuple[str, ...] = attrs.field(converter=check_conv_ids)
    enable: bool = attrs.field(converter=check_enable)

    @classmethod
    def mute(cls, from_user_id: str, conv_type: ConvType | int, conv_ids: Iterable[str]) -> MuteOp:
        """An op that mutes ``conv_ids``."""
        return cls(from_user_id, conv_type, conv_ids, True)

    @classmethod
    def unmute(
        cls, from_user_id: str, conv_type: ConvType | int, conv_ids: Iterable[str]
    ) -> MuteOp:
        """An op that unmutes ``conv_ids``."""
        return cls(from_user_id, conv_type, conv_ids, False)
