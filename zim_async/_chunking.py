"""Cutting ops into requests. Pure.

A request (`Batch`) never mixes users, conversation types or mute/unmute, and carries
at most `MAX_CONV_IDS_PER_REQUEST` IDs. Ops are consumed lazily so that a huge plan
never exists as a list of batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from ._model import ConvOutcome, ConvType, Status
from ._ops import MuteOp
from ._validate import MAX_CONV_IDS_PER_REQUEST

__all__ = ["Batch", "chunk_op", "chunk_ops", "split_batch"]


@attrs.frozen
class Batch:
    """The body of one `SilenceConvNotification` request."""

    from_user_id: str
    conv_type: ConvType
    enable: bool
    conv_ids: tuple[str, ...]

    def with_ids(self, conv_ids: tuple[str, ...]) -> Batch:
        return attrs.evolve(self, conv_ids=conv_ids)

    def outcome(
        self, conv_id: str, status: Status, code: int | None = None, message: str = ""
    ) -> ConvOutcome:
        """The outcome of one of this batch's conversations."""
        return ConvOutcome(
            from_user_id=self.from_user_id,
            conv_type=self.conv_type,
            conv_id=conv_id,
            enable=self.enable,
            status=status,
            code=code,
            message=message,
        )

    def body(self) -> dict[str, object]:
        """The JSON body the API expects."""
        return {
            "FromUserId": self.from_user_id,
            "ConvType": int(self.conv_type),
            "ConvIds": list(self.conv_ids),
            "Enable": self.enable,
        }


def chunk_op(op: MuteOp, size: int = MAX_CONV_IDS_PER_REQUEST) -> Iterator[Batch]:
    """The batches of one op, in order. ``op.conv_ids`` is already de-duplicated."""
    if not 1 <= size <= MAX_CONV_IDS_PER_REQUEST:
        raise ValueError(f"size={size!r}: must be between 1 and {MAX_CONV_IDS_PER_REQUEST}")
    ids = op.conv_ids
    for start in range(0, len(ids), size):
        yield Batch(op.from_user_id, op.conv_type, op.enable, ids[start : start + size])


def chunk_ops(ops: Iterable[MuteOp], size: int = MAX_CONV_IDS_PER_REQUEST) -> Iterator[Batch]:
    """The batches of many ops, lazily."""
    for op in ops:
        yield from chunk_op(op, size)


def split_batch(batch: Batch) -> tuple[Batch, Batch]:
    """Halve a batch of two or more IDs (to isolate the IDs a server refuses)."""
    if len(batch.conv_ids) < 2:
        raise ValueError("a batch of one ID cannot be split")
    middle = len(batch.conv_ids) // 2
    return batch.with_ids(batch.conv_ids[:middle]), batch.with_ids(batch.conv_ids[middle:])
