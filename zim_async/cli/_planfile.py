"""Reading plans: CSV or JSONL files of conversations, and ID lists. Streamed.

A plan row is ``from_user_id, conv_type, conv_id, enable``. Consecutive rows with the
same user, type and enable flag become one `MuteOp` (at most `MAX_OP_IDS` IDs, so that
memory stays bounded for any file). A bad row raises `PlanError` as ``file:line: reason``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from zim_async import ConvType, InvalidRequestError, MuteOp
from zim_async._validate import short_repr  # a huge cell must not make a huge message

__all__ = ["PLAN_FIELDS", "PlanError", "PlanSurvey", "read_ids", "read_plan", "survey_plan"]

PLAN_FIELDS = ("from_user_id", "conv_type", "conv_id", "enable")
MAX_OP_IDS = 1000
_REQUEST_IDS = 10  # IDs per SilenceConvNotification request
_MAX_ERRORS = 20
_TYPES = {"0": ConvType.PEER, "peer": ConvType.PEER, "2": ConvType.GROUP, "group": ConvType.GROUP}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

Row = tuple[str, ConvType, str, bool]


class PlanError(Exception):
    """Bad input; ``str()`` is one ``file:line: reason`` per problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@attrs.frozen(kw_only=True)
class PlanSurvey:
    """What a validated plan holds, and the fingerprint of its bytes."""

    sha256: str
    conversations: int
    ops: int
    requests: int


def _conv_type(value: object) -> ConvType:
    key = str(value).strip().lower() if not isinstance(value, bool) else ""
    if key not in _TYPES:
        raise ValueError(f"conv_type {short_repr(value)}: must be 0 / peer or 2 / group")
    return _TYPES[key]


def _enable(value: object) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key not in _BOOLS:
        raise ValueError(f"enable {short_repr(value)}: must be true or false")
    return _BOOLS[key]


def _row(fields: dict[str, Any]) -> Row:
    missing = [name for name in PLAN_FIELDS if fields.get(name) in (None, "")]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    user, conv_id = fields["from_user_id"], fields["conv_id"]
    if not isinstance(user, str) or not isinstance(conv_id, str):
        raise ValueError("from_user_id and conv_id must be strings")
    row = (user, _conv_type(fields["conv_type"]), conv_id, _enable(fields["enable"]))
    MuteOp(row[0], row[1], [row[2]], row[3])  # the library's own checks of every field
    return row


def _is_jsonl(path: Path, stream: IO[bytes]) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    start = stream.read(64).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    stream.seek(0)
    return start.startswith("{")


class _Undecodable(Exception):
    """A line that is not UTF-8: the rest of the file cannot be trusted."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(reason)
        self.number = number
        self.reason = reason


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    # Decoded line by line (not by the 8 KiB chunks of a text stream), so that a bad
    # byte is reported on its own line rather than as a traceback.
    for number, raw in enumerate(stream, 1):
        line = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Undecodable(
                number,
                f"not UTF-8 text (byte {line[exc.start]:#04x} at column {exc.start + 1});"
                " save the plan as UTF-8",
            ) from None


def _lines(path: Path) -> Iterator[tuple[int, Row | str]]:
    """(line number, row or the reason it is bad) for every row of the file."""
    with path.open("rb") as stream:
        try:
            yield from _parsed_lines(path, stream)
        except _Undecodable as exc:
            yield exc.number, exc.reason


def _parsed_lines(path: Path, stream: IO[bytes]) -> Iterator[tuple[int, Row | str]]:
    lines = _text_lines(stream)
    if _is_jsonl(path, stream):
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                yield number, _row(data)
            except (ValueError, InvalidRequestError) as exc:
                yield number, str(exc)
        return
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames or []
        absent = [name for name in PLAN_FIELDS if name not in header]
        if absent:
            yield 1, f"the CSV header lacks {', '.join(absent)} (wanted {','.join(PLAN_FIELDS)})"
            return
        for fields in reader:
            try:
                yield reader.line_num, _row(fields)
            except (ValueError, InvalidRequestError) as exc:
                yield reader.line_num, str(exc)
    except csv.Error as exc:  # e.g. a field beyond the csv module's size limit
        yield max(reader.line_num, 1), f"unreadable CSV: {exc}"


def _grouped(rows: Iterable[Row]) -> Iterator[MuteOp]:
    key: tuple[str, ConvType, bool] | None = None
    ids: dict[str, None] = {}
    for user, conv_type, conv_id, enable in rows:
        if (user, conv_type, enable) != key or len(ids) >= MAX_OP_IDS:
            if key is not None and ids:
                yield MuteOp(key[0], key[1], ids, key[2])
            key, ids = (user, conv_type, enable), {}
        ids[conv_id] = None
    if key is not None and ids:
        yield MuteOp(key[0], key[1], ids, key[2])


def _good_rows(path: Path) -> Iterator[Row]:
    for number, row in _lines(path):
        if isinstance(row, str):
            raise PlanError([f"{path}:{number}: {row}"])
        yield row


def read_plan(path: Path) -> Iterator[MuteOp]:
    """The plan's ops, streamed; raises `PlanError` at the first bad row."""
    return _grouped(_good_rows(path))


def survey_plan(path: Path) -> PlanSurvey:
    """Validate the whole plan (streaming) and count it; raises `PlanError` listing the
    first problems found. Nothing is kept in memory but one op."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 16), b""):
            digest.update(chunk)
    problems: list[str] = []

    def rows() -> Iterator[Row]:
        for number, row in _lines(path):
            if isinstance(row, str):
                problems.append(f"{path}:{number}: {row}")
                if len(problems) >= _MAX_ERRORS:
                    problems.append(f"{path}: stopped after {_MAX_ERRORS} problems")
                    return
            else:
                yield row

    conversations = ops = requests = 0
    for op in _grouped(rows()):
        ops += 1
        conversations += len(op.conv_ids)
        requests += math.ceil(len(op.conv_ids) / _REQUEST_IDS)
    if problems:
        raise PlanError(problems)
    if conversations == 0:
        raise PlanError([f"{path}: the plan has no rows"])
    return PlanSurvey(
        sha256=digest.hexdigest(), conversations=conversations, ops=ops, requests=requests
    )


def read_ids(lines: Iterable[str], source: str) -> list[str]:
    """Conversation IDs, one per line (blank lines and ``#`` comments skipped)."""
    ids: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        conv_id = line.strip()
        if not conv_id or conv_id.startswith("#"):
            continue
        try:
            MuteOp("checker", ConvType.PEER, [conv_id], True)
        except InvalidRequestError as exc:
            problems.append(f"{source}:{number}: {exc}")
            continue
        ids.append(conv_id)
    if problems:
        raise PlanError(problems[:_MAX_ERRORS])
    if not ids:
        raise PlanError([f"{source}: no conversation IDs"])
    return list(dict.fromkeys(ids))
