"""The benchmark plan: N one-on-one conversations to mute, with the failures real runs see.

Each user mutes 300 peers (the per-user limit is 500): 2 % of the peers are not
registered (660700015 in the ErrorList, a partial failure) and 3 % are already muted
(660800051). The plan is written as JSON lines for the client processes; the truth is
read back from the simulator's state after the run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from zim_async.testing import FakeZimServer

PER_USER = 300
GHOST_SHARE = 0.02
ALREADY_SHARE = 0.03
Key = tuple[str, str]  # (user, peer); every conversation of the plan is a PEER one


@attrs.frozen
class Op:
    user: str
    ids: tuple[str, ...]


@attrs.frozen
class World:
    ops: tuple[Op, ...]
    doable: frozenset[Key]  # registered peers: muted at the end if the run did its job
    already: frozenset[Key]

    @property
    def total(self) -> int:
        return sum(len(op.ids) for op in self.ops)

    @property
    def keys(self) -> Iterator[Key]:
        return ((op.user, c) for op in self.ops for c in op.ids)

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            for op in self.ops:
                out.write(json.dumps({"user": op.user, "ids": list(op.ids)}) + "\n")


def seed(server: FakeZimServer, conversations: int, *, seed: int = 1) -> World:
    """Seed ``server`` with users and peers and return a plan of ``conversations``."""
    if conversations % PER_USER:
        raise ValueError(f"conversations must be a multiple of {PER_USER}")
    rng = random.Random(seed)
    users = [f"user{n:05d}" for n in range(conversations // PER_USER)]
    peers = [f"peer{n:04d}" for n in range(2000)]
    ghosts = [f"ghost{n:03d}" for n in range(100)]
    server.register_users(*users, *peers)
    ghosts_each = round(PER_USER * GHOST_SHARE)
    ops: list[Op] = []
    doable: set[Key] = set()
    already: set[Key] = set()
    for user in users:
        ids = rng.sample(peers, PER_USER - ghosts_each) + rng.sample(ghosts, ghosts_each)
        rng.shuffle(ids)
        muted = [c for c in ids if c.startswith("peer") and rng.random() < ALREADY_SHARE]
        server.state.mute(user, 0, *muted)
        ops.append(Op(user, tuple(ids)))
        doable.update((user, c) for c in ids if c.startswith("peer"))
        already.update((user, c) for c in muted)
    return World(tuple(ops), frozenset(doable), frozenset(already))


def read_plan(path: Path) -> Iterator[Op]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield Op(row["user"], tuple(row["ids"]))


def audit(
    world: World, server: FakeZimServer, claimed_ok: Iterable[Key], claimed_other: Iterable[Key]
) -> dict[str, int]:
    """Compare what a client's own report says with the simulator's truth.

    ``claimed_ok`` are the conversations the client reports done; ``claimed_other``
    those it reports failed, unknown or not attempted.
    """
    muted = {(u, c) for u in {op.user for op in world.ops} for c in server.muted(u, 0)}
    ok = set(claimed_ok)
    other = set(claimed_other)
    keys = set(world.keys)
    return {
        # Reported done, but the server did not mute it: the user believes a lie.
        "false_ok": len({k for k in ok if k not in muted}),
        # In the plan, but in no part of the client's report.
        "unaccounted": len(keys - ok - other),
        # Could have been muted, and was not (a rate-limit refusal nobody retried...).
        "left_undone": len({k for k in world.doable if k not in muted}),
    }
