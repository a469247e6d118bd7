"""A seeded simulator world, a plan over it, and the truth checks every campaign shares.

The checks compare a `MuteReport` with the simulator's state, not with a prediction:
faults decide which requests were applied, so only the server knows the truth.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

import attrs

from zim_async import ConvOutcome, ConvType, MuteOp, MuteReport, Status
from zim_async._codes import CodeClass, classify_code
from zim_async.testing import DEFAULT_APP_ID, DEFAULT_SERVER_SECRET, FakeZimServer

#: An obviously fake app whose secret must never show up anywhere (see `SecretWatch`).
MARKER_APP_ID = 2_024_070_707
MARKER_SECRET = "fake-MARKER-secret-7f3a9c-not-real"
APPS = {DEFAULT_APP_ID: DEFAULT_SERVER_SECRET, MARKER_APP_ID: MARKER_SECRET}
#: What a conversation counts as a permanent failure (not worth retrying).
PERMANENT_CLASSES = (
    CodeClass.PERMANENT,
    CodeClass.USER_NOT_REGISTERED,
    CodeClass.MUTE_LIST_FULL,
    CodeClass.INVALID_PARAMS,
    CodeClass.ALREADY_MUTED,  # only as a contradiction (unmute answered "already muted")
    CodeClass.ALREADY_UNMUTED,
)
PER_USER = 250  # conversations per (user, type): well under the simulator's mute limits

Key = tuple[str, int, str, bool]  # (user, conv type, conv id, enable)


def key(outcome: ConvOutcome) -> Key:
    return (outcome.from_user_id, int(outcome.conv_type), outcome.conv_id, outcome.enable)


def outcomes(report: MuteReport) -> list[ConvOutcome]:
    return [
        *report.succeeded,
        *report.unchanged,
        *report.failed,
        *report.not_attempted,
        *report.unknown,
    ]


@attrs.frozen
class World:
    """The plan and the server's state before the run."""

    ops: list[MuteOp]
    before: dict[tuple[str, int], frozenset[str]]

    @property
    def keys(self) -> list[Key]:
        return [
            (op.from_user_id, int(op.conv_type), conv_id, op.enable)
            for op in self.ops
            for conv_id in op.conv_ids
        ]

    @property
    def total(self) -> int:
        return sum(len(op.conv_ids) for op in self.ops)

    def pairs(self) -> set[tuple[str, int]]:
        return {(op.from_user_id, int(op.conv_type)) for op in self.ops}


def new_server(**options: object) -> FakeZimServer:
    """A simulator that knows the default fake app and the marker app."""
    options.setdefault("apps", APPS)
    return FakeZimServer(**options)  # type: ignore[arg-type]


def seed_world(server: FakeZimServer, conversations: int, seed: int) -> World:
    """Seed ``server`` and plan about ``conversations`` conversations (a multiple of 50).

    Per (user, type): about 4 % of targets are refused for good (unregistered peers,
    missing groups, groups the user is not in), 10 % are already muted, and one op in
    five unmutes (half of its targets muted beforehand). One user in 25 does not exist.
    Each conversation appears in exactly one op, so the final state has one right answer.
    """
    rng = random.Random(seed)
    users = max(1, conversations // (2 * PER_USER))
    per_type = conversations // (2 * users)
    user_ids = [f"user{seed}-{n}" for n in range(users)]
    ghost_user = {u for n, u in enumerate(user_ids) if n % 25 == 24}
    server.register_users(*(u for u in user_ids if u not in ghost_user))
    ops: list[MuteOp] = []
    for user in user_ids:
        for conv_type in (ConvType.PEER, ConvType.GROUP):
            ids: list[str] = []
            for n in range(per_type):
                conv_id = f"{'p' if conv_type is ConvType.PEER else 'g'}{user}-{n}"
                roll = rng.random()
                if conv_type is ConvType.PEER and roll >= 0.04:
                    server.register_users(conv_id)
                elif conv_type is ConvType.GROUP and roll >= 0.04:
                    server.create_group(conv_id, [user] if user not in ghost_user else [])
                elif conv_type is ConvType.GROUP and roll >= 0.02:
                    server.create_group(conv_id, [])  # exists, but the user is not in it
                ids.append(conv_id)
            rng.shuffle(ids)
            # Chunks of 10 to 60 IDs in ops of alternating direction: mostly mutes.
            start = 0
            while start < len(ids):
                size = rng.randint(10, 60)
                chunk = ids[start : start + size]
                start += size
                enable = rng.random() >= 0.2
                share = 0.1 if enable else 0.5
                already = [c for c in chunk if rng.random() < share]
                server.state.mute(user, conv_type, *already)
                ops.append(MuteOp(user, conv_type, chunk, enable))
    rng.shuffle(ops)
    before = {
        (op.from_user_id, int(op.conv_type)): frozenset(server.muted(op.from_user_id, op.conv_type))
        for op in ops
    }
    return World(ops, before)


@attrs.frozen
class Verdict:
    """What a check found; ``lost`` counts every broken promise (must be 0)."""

    total: int
    counts: dict[str, int]
    lost: int
    problems: list[str]
    newly_changed: int
    exhausted: int


def judge(
    world: World,
    server: FakeZimServer,
    report: MuteReport,
    *,
    allow_unknown: Iterable[Key] = (),
) -> Verdict:
    """Check ``report`` against the simulator's state after a complete run.

    - every planned conversation is reported exactly once (and nothing else is);
    - succeeded/unchanged ones are in the wanted state now; every conversation the
      server changed is reported succeeded or unchanged;
    - failed ones kept their state and failed with a permanent code;
    - unknown only where retries ran out (``allow_unknown``), never not_attempted.
    """
    problems: list[str] = []
    planned = Counter(world.keys)
    got = Counter(key(o) for o in outcomes(report))
    for k in planned.keys() | got.keys():
        if planned[k] != got[k]:
            problems.append(f"{k}: planned {planned[k]}x, reported {got[k]}x")
    if report.total != world.total:
        problems.append(f"report.total={report.total}, planned {world.total}")
    after = {pair: server.muted(*pair) for pair in world.pairs()}
    allowed = set(allow_unknown)
    newly_changed = 0
    for outcome in outcomes(report):
        pair = (outcome.from_user_id, int(outcome.conv_type))
        was = outcome.conv_id in world.before[pair]
        now = outcome.conv_id in after[pair]
        wanted = outcome.enable
        newly_changed += was != now
        status = outcome.status
        if status in (Status.SUCCEEDED, Status.UNCHANGED) and now != wanted:
            problems.append(f"{key(outcome)} reported {status.value} but muted={now}")
        if status is Status.SUCCEEDED and was == wanted:
            problems.append(f"{key(outcome)} reported succeeded but was already as wanted")
        if status is Status.FAILED:
            if was != now:
                problems.append(f"{key(outcome)} failed but the server changed it")
            if outcome.code is None or classify_code(outcome.code) not in PERMANENT_CLASSES:
                problems.append(f"{key(outcome)} failed with a non-permanent code {outcome.code}")
        if status is Status.NOT_ATTEMPTED:
            problems.append(f"{key(outcome)} not attempted in a run that was not stopped")
        if status is Status.UNKNOWN and key(outcome) not in allowed:
            problems.append(f"{key(outcome)} unknown although its retries did not run out")
        if was != now and status not in (Status.SUCCEEDED, Status.UNCHANGED, Status.UNKNOWN):
            problems.append(f"{key(outcome)} changed by the server but reported {status.value}")
    # Conversations outside the plan must be untouched.
    for pair, ids in after.items():
        planned_ids = {k[2] for k in planned if (k[0], k[1]) == pair}
        stray = (ids ^ world.before[pair]) - planned_ids
        if stray:
            problems.append(f"{pair}: unplanned changes {sorted(stray)[:5]}")
    return Verdict(
        total=report.total,
        counts=dict(report.counts),
        lost=len(problems),
        problems=problems[:20],
        newly_changed=newly_changed,
        exhausted=len(allowed),
    )


def exhausted(report: MuteReport) -> set[Key]:
    """Conversations whose retries ran out (the runner says so in the message)."""
    return {key(o) for o in report.unknown if o.message.startswith("gave up after")}
