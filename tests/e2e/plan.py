"""A seeded world and a plan with mixed outcomes, and the truth the report must match."""

from __future__ import annotations

import random

import attrs

from zim_async import ConvType, MuteOp, Status
from zim_async.testing import FakeZimServer

Key = tuple[str, int, str]  # (user, conv type, conv id)


@attrs.frozen
class Expected:
    status: Status
    code: int | None = None


@attrs.frozen
class World:
    ops: list[MuteOp]
    truth: dict[Key, Expected]

    @property
    def total(self) -> int:
        return sum(len(op.conv_ids) for op in self.ops)


def seed_world(
    server: FakeZimServer, *, users: int = 20, per_type: int = 50, seed: int = 7
) -> World:
    """Seed ``server`` and build a mute plan of ``users * 2 * per_type`` conversations.

    Two users are not registered; peers include unregistered ones; groups include
    missing ones and ones the user is not in; some conversations are already muted;
    each op repeats a few IDs (sent once, counted once).
    """
    rng = random.Random(seed)
    user_ids = [f"user{n:02d}" for n in range(users)]
    registered = user_ids[:-2]
    peers = [f"peer{n:03d}" for n in range(300)]
    ghosts = [f"ghost{n:02d}" for n in range(30)]
    server.register_users(*registered, *peers)
    groups = [f"group{n:03d}" for n in range(120)]
    missing = [f"nogroup{n:02d}" for n in range(20)]
    members = {g: {u for u in registered if rng.random() < 0.8} for g in groups}
    for group in groups:
        server.create_group(group, sorted(members[group]))
    ops: list[MuteOp] = []
    truth: dict[Key, Expected] = {}
    for user in user_ids:
        peer_ids = rng.sample(peers, per_type - 5) + rng.sample(ghosts, 5)
        group_ids = rng.sample(groups, per_type - 4) + rng.sample(missing, 4)
        for conv_type, ids in ((ConvType.PEER, peer_ids), (ConvType.GROUP, group_ids)):
            rng.shuffle(ids)
            already = [
                c for c in ids if not c.startswith(("ghost", "nogroup")) and rng.random() < 0.15
            ]
            if user in registered:
                server.state.mute(user, int(conv_type), *already)
            ops.append(MuteOp(user, conv_type, ids + ids[:3], True))
            for conv_id in ids:
                truth[(user, int(conv_type), conv_id)] = _expect(
                    user in registered,
                    conv_type,
                    conv_id,
                    conv_id in already,
                    member=user in members.get(conv_id, set()),
                )
    return World(ops, truth)


def _expect(
    registered: bool, conv_type: ConvType, conv_id: str, already: bool, *, member: bool
) -> Expected:
    if not registered:
        return Expected(Status.FAILED, 660500002)
    if conv_id.startswith("ghost"):
        return Expected(Status.FAILED, 660700015)
    if conv_id.startswith("nogroup"):
        return Expected(Status.FAILED, 660600001)
    if conv_type is ConvType.GROUP and not member:
        return Expected(Status.FAILED, 660600024)
    if already:
        return Expected(Status.UNCHANGED, 660800051)
    return Expected(Status.SUCCEEDED)
