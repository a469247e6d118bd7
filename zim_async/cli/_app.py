"""The ``zim-async`` command line: argparse wiring; the work is in the sibling modules."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
from rich.console import Console

from zim_async import ConvType, MuteOp, ZimClient
from zim_async.plans import all_conversations_of, all_groups_of

from ._fake import add_fake_server_options, serve_forever_from_args
from ._planfile import PlanError, read_ids, read_plan, survey_plan
from ._run import (
    EXIT_CONFIG,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    Connection,
    Job,
    Outputs,
    connection_from_env,
    run_job,
)

__all__ = ["main"]

_REQUEST_IDS = 10


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection (credentials come from ZIM_APP_ID and ZIM_SERVER_SECRET only)"
    )
    group.add_argument("--server-secret-file", type=Path, help="read the ServerSecret from a file")
    group.add_argument("--base-url", help="API host (default: ZIM_BASE_URL or zim-api.zego.im)")
    group.add_argument("--rate", type=float, default=20.0, help="requests/s (default 20)")
    group.add_argument("--max-in-flight", type=int, default=16, help="concurrent requests")
    group.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    group.add_argument(
        "--allow-insecure-http", action="store_true", help="allow an http:// test server"
    )
    group.add_argument("--redis-url", help="share the rate limit through Redis (ZIM_REDIS_URL)")


def _output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs")
    group.add_argument("--report", type=Path, help="write the report as JSON")
    group.add_argument("--failures-csv", type=Path, help="write failed conversations as a plan")
    group.add_argument(
        "--revert-plan", type=Path, help="write a plan that undoes what this run changed"
    )
    group.add_argument("--journal", type=Path, help="SQLite journal: resume an interrupted run")
    group.add_argument("--dry-run", action="store_true", help="validate and count; send nothing")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zim-async",
        description="Bulk mute / unmute ZIM conversation notifications (SilenceConvNotification).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, verb in (("mute", "Mute"), ("unmute", "Unmute")):
        sub = commands.add_parser(name, help=f"{verb} conversations of one user")
        sub.add_argument("--from-user", required=True, metavar="USER")
        kind = sub.add_mutually_exclusive_group()
        kind.add_argument("--peer", action="store_true", help="one-on-one conversations")
        kind.add_argument("--group", action="store_true", help="group conversations")
        sub.add_argument("ids", nargs="*", metavar="ID", help="conversation IDs; - reads stdin")
        sub.add_argument("--ids-file", type=Path, help="conversation IDs, one per line")
        sub.add_argument("--all-groups", action="store_true", help="every group of the user")
        sub.add_argument(
            "--all-conversations", action="store_true", help="every conversation of the user"
        )
        _connection_options(sub)
        _output_options(sub)
    apply = commands.add_parser("apply", help="run a plan file (CSV or JSONL)")
    apply.add_argument("plan", type=Path, help="columns from_user_id,conv_type,conv_id,enable")
    apply.add_argument(
        "--no-validate-first",
        action="store_true",
        help="start at once; a bad line stops the run where it is",
    )
    _connection_options(apply)
    _output_options(apply)
    demo = commands.add_parser("demo", help="a realistic run against the embedded simulator")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--fault-rate", type=float, default=0.02)
    demo.add_argument("--rate", type=float, default=20.0)
    demo.add_argument("--max-in-flight", type=int, default=16)
    _output_options(demo)
    fake = commands.add_parser("fake-server", help="serve the simulator (FAKE credentials)")
    add_fake_server_options(fake)
    return parser


def _outputs(args: argparse.Namespace) -> Outputs:
    return Outputs(
        report=args.report,
        failures=args.failures_csv,
        revert=args.revert_plan,
        journal=args.journal,
        progress=not args.no_progress,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _mute_job(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Job:
    enable = args.command == "mute"
    user = args.from_user
    sources = sum(
        (bool(args.ids), args.ids_file is not None, args.all_groups, args.all_conversations)
    )
    if sources != 1:
        parser.error(
            "give exactly one of: IDs, - (stdin), --ids-file, --all-groups, --all-conversations"
        )
    if args.all_groups or args.all_conversations:
        if args.peer or (args.group and args.all_conversations):
            parser.error("--all-groups / --all-conversations choose the types themselves")
        builder = all_groups_of if args.all_groups else all_conversations_of
        which = "all-groups" if args.all_groups else "all-conversations"

        def built(client: ZimClient) -> AsyncIterator[MuteOp]:
            return builder(client, user, enable=enable)

        # The plan is "every group (conversation) of the user": its list may change
        # between a run and its resumption, and that is still the same plan.
        return Job(
            label=args.command,
            ops=built,
            total=None,
            plan_id=_digest(args.command, user, which),
        )
    if not (args.peer or args.group):
        parser.error("choose --peer or --group")
    conv_type = ConvType.GROUP if args.group else ConvType.PEER
    if args.ids_file is not None:
        with args.ids_file.open(encoding="utf-8") as stream:
            ids = read_ids(stream, str(args.ids_file))
    elif args.ids == ["-"]:
        ids = read_ids(sys.stdin, "<stdin>")
    else:
        ids = read_ids(args.ids, "<arguments>")
    op = MuteOp(user, conv_type, ids, enable)
    return Job(
        label=args.command,
        ops=lambda client: [op],
        total=len(op.conv_ids),
        plan_id=_digest(args.command, user, str(int(conv_type)), *op.conv_ids),
    )


def _apply_job(args: argparse.Namespace) -> tuple[Job, int]:
    path: Path = args.plan
    if not path.is_file():
        raise PlanError([f"{path}: no such file"])
    if args.no_validate_first:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        job = Job(label="apply", ops=lambda client: read_plan(path), total=None, plan_id=digest)
        return job, -1
    survey = survey_plan(path)
    job = Job(
        label="apply",
        ops=lambda client: read_plan(path),
        total=survey.conversations,
        plan_id=survey.sha256,
    )
    return job, survey.requests


def _dry_run(console: Console, job: Job, requests: int, rate: float) -> int:
    if requests < 0:
        console.print("--dry-run validates the whole plan: drop --no-validate-first")
        return EXIT_USAGE
    seconds = max(requests - 1, 0) / rate
    print(
        f"plan: {job.total} conversations in {requests} requests"
        f" (at most {_REQUEST_IDS} conversations per request)"
    )
    print(f"minimum time at {rate:g} requests/s: {seconds:.1f} s")
    print("nothing was sent (--dry-run)")
    return EXIT_OK


def _demo(args: argparse.Namespace, console: Console) -> int:
    from ._demo import demo_plan, demo_server, serve_demo

    server = demo_server(args.seed, args.fault_rate)
    plan = demo_plan(server, args.seed)
    total = sum(len(op.conv_ids) for op in plan)
    job = Job(label="demo", ops=lambda client: plan, total=total, plan_id=f"demo-{args.seed}")
    if args.dry_run:
        requests = sum(-(-len(op.conv_ids) // _REQUEST_IDS) for op in plan)
        return _dry_run(console, job, requests, args.rate)

    async def go() -> int:
        async with serve_demo(server, rate=args.rate, max_in_flight=args.max_in_flight) as conn:
            console.print(
                f"demo: a FAKE ZIM server on {conn.base_url} (simulator, fake credentials);"
                f" muting {total} conversations of {len(plan) // 2} users at {args.rate:g}"
                " requests/s",
                highlight=False,
            )
            code = await run_job(conn, job, _outputs(args), console)
        # Failures are part of the show: the demo succeeds when the run completed.
        return EXIT_OK if code == EXIT_INCOMPLETE else code

    return anyio.run(go)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "fake-server":
            return serve_forever_from_args(args)
        if args.command == "demo":
            return _demo(args, console)
        if args.command == "apply":
            job, requests = _apply_job(args)
        else:
            job, requests = _mute_job(args, parser), -1
            if job.total is not None:
                requests = -(-job.total // _REQUEST_IDS)
        if args.dry_run:
            if job.total is None:
                console.print(
                    "--dry-run cannot count --all-groups / --all-conversations"
                    " without querying the server"
                )
                return EXIT_USAGE
            return _dry_run(console, job, requests, args.rate)
        conn: Connection = connection_from_env(
            base_url=args.base_url,
            secret_file=args.server_secret_file,
            rate=args.rate,
            max_in_flight=args.max_in_flight,
            timeout=args.timeout,
            allow_insecure_http=args.allow_insecure_http,
            redis_url=args.redis_url,
        )
        return anyio.run(run_job, conn, job, _outputs(args), console)
    except PlanError as exc:
        for problem in exc.problems:
            # soft_wrap: one `file:line: reason` per line, for editors and grep, however long
            console.print(problem, highlight=False, markup=False, soft_wrap=True)
        console.print("nothing was sent: fix the input and run again", highlight=False)
        return EXIT_USAGE
    except ConfigError as exc:
        console.print(f"configuration error: {exc}", highlight=False, markup=False)
        return EXIT_CONFIG
    except OSError as exc:
        console.print(f"error: {exc}", highlight=False, markup=False)
        return EXIT_INCOMPLETE
