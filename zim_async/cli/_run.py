"""Running a job: the client from the options, the outcome stream, Ctrl-C, the files
left behind and the exit code. Uses only zim_async's public API."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
from collections.abc import AsyncIterable, Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
from rich.console import Console

from zim_async import (
    DEFAULT_BASE_URL,
    InvalidRequestError,
    Limiter,
    MuteOp,
    MuteReport,
    OutcomeStream,
    SqliteJournal,
    ZimAuthError,
    ZimClient,
    ZimError,
)
from zim_async.journal import JournalError

from ._outputs import OutcomeFiles, print_summary, write_report
from ._planfile import PlanError
from ._progress import ProgressBar, RequestCounter

__all__ = [
    "EXIT_CONFIG",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConfigError",
    "Connection",
    "Job",
    "Outputs",
    "run_job",
]

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
Ops = Iterable[MuteOp] | AsyncIterable[MuteOp]


class ConfigError(Exception):
    """Credentials or connection options are missing or wrong (exit code 3)."""


@attrs.frozen(kw_only=True)
class Connection:
    app_id: int
    secret: str = attrs.field(repr=False)  # never shown
    base_url: str
    rate: float
    max_in_flight: int
    timeout: float
    allow_insecure_http: bool
    redis_url: str | None = None


@attrs.frozen(kw_only=True)
class Outputs:
    report: Path | None = None
    failures: Path | None = None
    revert: Path | None = None
    journal: Path | None = None
    progress: bool = True


@attrs.frozen(kw_only=True)
class Job:
    """What to run: ``ops(client)`` gives the plan (builders need the client)."""

    label: str
    ops: Callable[[ZimClient], Ops]
    total: int | None
    plan_id: str


def _limiter(conn: Connection) -> Limiter | None:
    if not conn.redis_url:
        return None
    try:  # written by another module; optional
        module: Any = importlib.import_module("zim_async.redis")
    except ImportError as exc:
        raise ConfigError(
            f"--redis-url needs zim_async.redis and the redis client library ({exc})"
        ) from None
    limiter: Limiter = module.RedisLimiter.from_url(conn.redis_url, rate=conn.rate)
    return limiter


async def _watch_interrupt(stream: OutcomeStream, interrupted: anyio.Event) -> None:
    # The first Ctrl-C stops the run cleanly (undecided conversations are reported
    # unknown / not attempted, the journal keeps what was decided); a second one,
    # with the default handler back, aborts at once.
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            interrupted.set()
            await stream.aclose()
            return


def _exit_code(error: BaseException | None, report: MuteReport, interrupted: bool) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    if isinstance(error, (ZimAuthError, JournalError)):
        return EXIT_CONFIG
    if isinstance(error, (PlanError, InvalidRequestError)):
        return EXIT_USAGE
    if error is not None or not report.ok:
        return EXIT_INCOMPLETE
    return EXIT_OK


async def _stream(
    conn: Connection,
    job: Job,
    outputs: Outputs,
    files: OutcomeFiles,
    journal: SqliteJournal | None,
    console: Console,
) -> tuple[MuteReport, BaseException | None, bool]:
    counter = RequestCounter()
    limiter = _limiter(conn)
    limits = httpx.Limits(
        max_connections=conn.max_in_flight + 4, max_keepalive_connections=conn.max_in_flight
    )
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(conn.timeout), limits=limits, event_hooks={"request": [counter]}
    )
    async with http, contextlib.AsyncExitStack() as stack:
        opened: object = limiter  # the Limiter protocol does not promise a context manager
        if isinstance(opened, contextlib.AbstractAsyncContextManager):
            await stack.enter_async_context(opened)  # e.g. RedisLimiter's connection pool
        try:
            client = ZimClient(
                conn.app_id,
                conn.secret,
                base_url=conn.base_url,
                rate=conn.rate,
                max_in_flight=conn.max_in_flight,
                timeout=conn.timeout,
                allow_insecure_http=conn.allow_insecure_http,
                limiter=limiter,
                http_client=http,
            )
        except InvalidRequestError as exc:
            raise ConfigError(str(exc)) from None
        show = outputs.progress and console.is_terminal
        bar = ProgressBar(console, counter, job.total, job.label) if show else None
        error: BaseException | None = None
        interrupted = anyio.Event()
        async with client:
            stream = client.stream(job.ops(client), journal=journal, progress=bar)
            if bar is not None:
                bar.__enter__()
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_watch_interrupt, stream, interrupted)
                    try:
                        async for outcome in stream:
                            files.add(outcome)
                    except (ZimError, PlanError) as exc:
                        error = exc
                    tg.cancel_scope.cancel()
            finally:
                if bar is not None:
                    bar.__exit__(None, None, None)
        # The client is closed: the run has settled and the journal is written.
        report = getattr(error, "report", None) or stream.report
        return report, error, interrupted.is_set()


async def run_job(conn: Connection, job: Job, outputs: Outputs, console: Console) -> int:
    """Run ``job`` and write the outputs; the exit code."""
    files = OutcomeFiles(outputs.failures, outputs.revert)
    journal = None
    if outputs.journal is not None:
        journal = SqliteJournal(outputs.journal, plan_id=job.plan_id)
    try:
        report, error, interrupted = await _stream(conn, job, outputs, files, journal, console)
    finally:
        files.close()
    notes: list[str] = []
    if journal is not None:
        notes.append(
            f"journal {outputs.journal}: {journal.skipped} conversations were already decided"
            " (not sent again)"
        )
    if interrupted:
        notes.append("interrupted: the report and the journal are written; rerun the same")
        notes.append("command with the same --journal to resume")
    if outputs.report is not None:
        write_report(
            outputs.report,
            report,
            {
                "command": job.label,
                "interrupted": interrupted,
                "from_journal": journal.skipped if journal is not None else 0,
                "error": str(error) if error is not None else None,
            },
        )
    if report.total or error is None:  # a plan refused up front has nothing to sum up
        print_summary(console, report, files, notes)
    if error is not None:
        console.print(f"error: {error}", highlight=False, markup=False)
    return _exit_code(error, report, interrupted)


def connection_from_env(
    *,
    base_url: str | None,
    secret_file: Path | None,
    rate: float,
    max_in_flight: int,
    timeout: float,
    allow_insecure_http: bool,
    redis_url: str | None,
) -> Connection:
    """Credentials from ZIM_APP_ID and ZIM_SERVER_SECRET or a secret file; never a flag."""
    raw_id = os.environ.get("ZIM_APP_ID", "").strip()
    if not raw_id.isdecimal():
        raise ConfigError("set ZIM_APP_ID to your numeric AppId")
    if secret_file is not None:
        try:
            secret = secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--server-secret-file: {exc.strerror}: {secret_file}") from None
        if not secret:
            raise ConfigError(f"--server-secret-file {secret_file} is empty")
    else:
        secret = os.environ.get("ZIM_SERVER_SECRET", "").strip()
        if not secret:
            raise ConfigError("set ZIM_SERVER_SECRET, or pass --server-secret-file")
    return Connection(
        app_id=int(raw_id),
        secret=secret,
        base_url=base_url or os.environ.get("ZIM_BASE_URL") or DEFAULT_BASE_URL,
        rate=rate,
        max_in_flight=max_in_flight,
        timeout=timeout,
        allow_insecure_http=allow_insecure_http or os.environ.get("ZIM_ALLOW_INSECURE_HTTP") == "1",
        redis_url=redis_url or os.environ.get("ZIM_REDIS_URL") or None,
    )
