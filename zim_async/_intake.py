"""The input stage: ops as users give them (a list, an iterator, an async iterator),
checked one by one. Pure but for the pulling itself."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Sequence

from ._errors import InvalidRequestError
from ._ops import MuteOp

__all__ = ["Ops", "check_op", "check_ops", "pull"]

Ops = Iterable[MuteOp] | AsyncIterable[MuteOp]


def check_ops(ops: Sequence[object]) -> None:
    """Check a whole list up front, so that nothing is sent if any op is bad."""
    for index, op in enumerate(ops):
        check_op(op, index)


def check_op(op: object, index: int) -> MuteOp:
    if not isinstance(op, MuteOp):
        raise InvalidRequestError(
            f"ops[{index}]: expected a MuteOp, got {type(op).__name__}",
            field=f"ops[{index}]",
            value=type(op).__name__,
        )
    return op


async def pull(ops: Ops) -> AsyncGenerator[MuteOp, None]:
    if isinstance(ops, AsyncIterable):
        async for op in ops:
            yield op
    else:
        for op in ops:
            yield op
