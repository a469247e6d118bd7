"""`SqliteJournal`: a resumable record of a bulk run's decided conversations.

Pass one to ``client.apply(ops, journal=...)`` (or ``stream``). Every conversation is
written as soon as its outcome is decided, in the same step that decides it, and a
rerun of the same plan with the same journal skips what the journal holds::

    async with ZimClient.from_env() as client:
        report = await client.apply(plan(), journal=SqliteJournal("run.db", plan_id="v1"))

What is skipped on a rerun: conversations journaled ``succeeded``, ``unchanged`` or
``failed``. Their outcomes are replayed into the new report (and stream), so a resumed
run reports the whole plan. ``unknown`` and ``not_attempted`` ones are not journaled and
so are sent again: that is safe, as an already muted (unmuted) conversation answers
"unchanged". Failures caused by a run that stopped (credentials, configuration, clock)
are not journaled either: they are sent again once the cause is fixed.

Durability: SQLite in WAL mode, one transaction per decided request (at most 10 rows),
committed before the runner moves on. A transaction committed in WAL mode survives the
process being killed (SIGKILL) at any moment; only an OS crash or power loss can drop
the last ones (``synchronous=NORMAL``), and those conversations are merely sent again.

The plan's fingerprint: with ``plan_id`` the journal remembers it on first use and
refuses another one (`JournalMismatchError`) before anything is sent, which suits a
plan read from a file (the CLI uses a hash of the file's bytes). Without ``plan_id``
the journal fingerprints the ops as they stream: op *n* of the rerun must equal op *n*
of the journaled run, checked before any request of op *n* is sent; a plan may go on
past where an interrupted run stopped pulling, but not past the end of a finished one.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

import anyio
import anyio.to_thread

from ._codes import CodeClass, classify_code
from ._errors import InvalidRequestError, ZimError
from ._model import ConvOutcome, ConvType, Status
from ._ops import MuteOp

__all__ = ["JournalError", "JournalMismatchError", "SqliteJournal"]

_T = TypeVar("_T")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decided (
    from_user_id TEXT NOT NULL, conv_type INTEGER NOT NULL, conv_id TEXT NOT NULL,
    enable INTEGER NOT NULL, status TEXT NOT NULL, code INTEGER, message TEXT NOT NULL,
    PRIMARY KEY (from_user_id, conv_type, conv_id, enable)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops (idx INTEGER PRIMARY KEY, chain TEXT NOT NULL);
"""
_FINAL = (Status.SUCCEEDED, Status.UNCHANGED, Status.FAILED)
_RUN_STOPPERS = (CodeClass.STOP, CodeClass.SIGNATURE_EXPIRED)
_SQL_VARS = 500  # IDs per lookup query, well under SQLite's parameter limit


class JournalError(ZimError):
    """The journal cannot be read or written; the run stops (it would not be resumable)."""


class JournalMismatchError(InvalidRequestError):
    """The journal belongs to another plan."""


def _journaled(outcome: ConvOutcome) -> bool:
    if outcome.status not in _FINAL:
        return False
    if outcome.status is not Status.FAILED:
        return True
    code = outcome.code
    # A failure that stopped the run (or an HTTP status) says nothing about the
    # conversation: it must be sent again once the configuration is fixed.
    return code is not None and not 400 <= code < 600 and classify_code(code) not in _RUN_STOPPERS


def _op_digest(op: MuteOp) -> bytes:
    text = "\x1f".join(
        (op.from_user_id, str(int(op.conv_type)), "1" if op.enable else "0", *op.conv_ids)
    )
    return hashlib.sha256(text.encode()).digest()


class SqliteJournal:
    """A journal in the SQLite file ``path`` (created if missing). See the module doc.

    Open it with ``async with`` (or let ``apply`` / ``stream`` open and close it).
    ``plan_id`` is any string that identifies the plan, e.g. a hash of its file.
    """

    def __init__(self, path: str | os.PathLike[str], *, plan_id: str | None = None) -> None:
        self._path = os.fspath(path)
        self._plan_id = plan_id
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, used from worker threads in turn
        self._one = anyio.CapacityLimiter(1)
        self._chain = b""
        self._ops_seen = 0
        #: Conversations the last run skipped because the journal held them.
        self.skipped = 0

    def __repr__(self) -> str:
        return f"<SqliteJournal path={self._path!r} plan_id={self._plan_id!r}>"

    @property
    def path(self) -> str:
        return self._path

    @property
    def is_open(self) -> bool:
        return self._db is not None

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def call() -> _T:
            with self._lock:
                if self._db is None:
                    raise JournalError(f"journal {self._path!r} is closed")
                try:
                    return fn(self._db)
                except sqlite3.Error as exc:
                    raise JournalError(f"journal {self._path!r}: {exc}") from exc

        return await anyio.to_thread.run_sync(call, limiter=self._one)

    async def open(self) -> None:
        """Open (and create) the file and check the plan fingerprint. Idempotent."""
        if self._db is None:
            self._db = await anyio.to_thread.run_sync(self._connect, limiter=self._one)
        self._chain, self._ops_seen, self.skipped = b"", 0, 0

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self._path!r}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='plan_id'").fetchone()
            mode = db.execute("SELECT value FROM meta WHERE key='mode'").fetchone()
            wanted = ("id", self._plan_id) if self._plan_id is not None else ("stream", "")
            if mode is None:
                with db:
                    db.execute("BEGIN")
                    db.execute("INSERT INTO meta VALUES ('mode', ?)", (wanted[0],))
                    db.execute("INSERT INTO meta VALUES ('plan_id', ?)", (wanted[1],))
            elif (mode[0], row[0] if row else "") != wanted:
                raise JournalMismatchError(
                    f"journal {self._path!r} belongs to another plan"
                    f" ({_describe(mode[0], row[0] if row else '')}, not"
                    f" {_describe(*wanted)}); use a new journal file for a new plan",
                    field="journal",
                    value=self._path,
                )
        except sqlite3.Error as exc:
            db.close()
            raise JournalError(f"journal {self._path!r}: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the file; everything recorded is already committed."""
        db, self._db = self._db, None
        if db is not None:
            await anyio.to_thread.run_sync(db.close, limiter=self._one)

    async def __aenter__(self) -> SqliteJournal:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- used by the runner -----------------------------------------------------------

    async def admit(self, index: int, op: MuteOp) -> list[ConvOutcome]:
        """Check op ``index`` against the fingerprint; return its journaled outcomes."""
        if self._plan_id is None:
            self._chain = hashlib.sha256(self._chain + _op_digest(op)).digest()
            chain, self._ops_seen = self._chain.hex(), index + 1
            await self._run(lambda db: _check_chain(db, self._path, index, chain))
        found = await self._run(lambda db: _lookup(db, op))
        self.skipped += len(found)
        return found

    async def record(self, outcomes: Sequence[ConvOutcome]) -> None:
        """Commit the final outcomes among ``outcomes`` in one transaction."""
        rows = [
            (
                o.from_user_id,
                int(o.conv_type),
                o.conv_id,
                int(o.enable),
                o.status.value,
                o.code,
                o.message,
            )
            for o in outcomes
            if _journaled(o)
        ]
        if rows:
            await self._run(lambda db: _insert(db, rows))

    async def finish(self) -> None:
        """Mark the streamed plan as complete: a rerun may not have more ops."""
        if self._plan_id is None:
            count = str(self._ops_seen)
            await self._run(
                lambda db: db.execute("INSERT OR REPLACE INTO meta VALUES ('ops', ?)", (count,))
            )

    async def counts(self) -> dict[str, int]:
        """How many conversations the journal holds, by status."""
        rows = await self._run(
            lambda db: db.execute("SELECT status, COUNT(*) FROM decided GROUP BY status").fetchall()
        )
        return {str(status): int(n) for status, n in rows}


def _describe(mode: str, plan_id: str) -> str:
    return f"plan id {plan_id!r}" if mode == "id" else "a plan fingerprinted op by op"


def _check_chain(db: sqlite3.Connection, path: str, index: int, chain: str) -> None:
    row = db.execute("SELECT chain FROM ops WHERE idx=?", (index,)).fetchone()
    if row is not None and row[0] != chain:
        raise JournalMismatchError(
            f"journal {path!r} belongs to another plan: op {index} differs from the"
            " journaled run's; use a new journal file for a new plan",
            field="journal",
            value=path,
        )
    if row is None:
        done = db.execute("SELECT value FROM meta WHERE key='ops'").fetchone()
        if done is not None and index >= int(done[0]):
            raise JournalMismatchError(
                f"journal {path!r} belongs to another plan: the journaled run ended after"
                f" {done[0]} ops and this plan has more",
                field="journal",
                value=path,
            )
        db.execute("INSERT INTO ops VALUES (?, ?)", (index, chain))


def _lookup(db: sqlite3.Connection, op: MuteOp) -> list[ConvOutcome]:
    found: list[ConvOutcome] = []
    ids = op.conv_ids
    for start in range(0, len(ids), _SQL_VARS):
        part = ids[start : start + _SQL_VARS]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            "SELECT conv_id, status, code, message FROM decided WHERE from_user_id=?"
            f" AND conv_type=? AND enable=? AND conv_id IN ({marks})",
            (op.from_user_id, int(op.conv_type), int(op.enable), *part),
        ).fetchall()
        found.extend(
            ConvOutcome(
                from_user_id=op.from_user_id,
                conv_type=ConvType(op.conv_type),
                conv_id=conv_id,
                enable=op.enable,
                status=Status(status),
                code=code,
                message=message,
            )
            for conv_id, status, code, message in rows
        )
    return found


def _insert(db: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    with db:
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO decided VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
