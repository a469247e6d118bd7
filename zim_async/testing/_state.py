"""The simulator's data: users, groups, conversations and per-user mute lists.

Every public method takes the state's lock, so the state can be seeded and inspected
from a test while `serve_fake` serves it from a background thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import attrs

from zim_async._model import ConvType

__all__ = ["FakeState", "GroupInfo"]

# Codes decided per conversation (facts sheet §2.6).
PEER_NOT_REGISTERED = 660700015
GROUP_NOT_FOUND = 660600001
NOT_A_MEMBER = 660600024
MUTE_LIST_FULL = 660800030
ALREADY_MUTED = 660800051
ALREADY_UNMUTED = 660800052
#: QueryConversationList returns at most the 1000 most recent conversations.
MAX_LISTED_CONVERSATIONS = 1000


@attrs.frozen
class GroupInfo:
    """A group as QueryGroupsInfoOfUser describes it."""

    group_id: str
    name: str = ""
    avatar: str = ""


@attrs.frozen
class Conversation:
    """One entry of a user's conversation list."""

    conv_id: str
    conv_type: ConvType
    #: Last change, in milliseconds since the epoch.
    update_time: int


@attrs.define(eq=False)
class FakeState:
    """Mutable server state. Seed it with the methods below; read it with `muted` etc."""

    peer_mute_limit: int = 500
    group_mute_limit: int = 1000
    wall_clock: Callable[[], float] = time.time
    _users: set[str] = attrs.field(factory=set, init=False)
    _groups: dict[str, GroupInfo] = attrs.field(factory=dict, init=False)
    # user -> {group_id: join time in ms}; dicts keep the join order.
    _joined: dict[str, dict[str, int]] = attrs.field(factory=dict, init=False)
    # user -> {peer user id: update time in ms}
    _peers: dict[str, dict[str, int]] = attrs.field(factory=dict, init=False)
    _muted: dict[tuple[str, ConvType], set[str]] = attrs.field(factory=dict, init=False)
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False)

    def _now_ms(self) -> int:
        return int(self.wall_clock() * 1000)

    # -- seeding ------------------------------------------------------------------

    def register_users(self, *user_ids: str) -> None:
        """Make users exist (as UserRegister or a first SDK login would)."""
        with self._lock:
            self._users.update(user_ids)

    def create_group(
        self, group_id: str, members: Iterable[str] = (), *, name: str = "", avatar: str = ""
    ) -> None:
        """Create a group (replacing any of that ID); members are registered too."""
        with self._lock:
            for joined in self._joined.values():
                joined.pop(group_id, None)
            self._groups[group_id] = GroupInfo(group_id, name, avatar)
            self.join_group(group_id, *members)

    def join_group(self, group_id: str, *user_ids: str) -> None:
        """Add members to an existing group; they are registered too."""
        with self._lock:
            if group_id not in self._groups:
                raise KeyError(f"no group {group_id!r}")
            now = self._now_ms()
            for user_id in user_ids:
                self._users.add(user_id)
                self._joined.setdefault(user_id, {}).setdefault(group_id, now)

    def add_conversation(
        self, user_id: str, peer_id: str, *, update_time: int | None = None, mutual: bool = True
    ) -> None:
        """Give ``user_id`` a one-on-one conversation with ``peer_id`` (and back if ``mutual``).

        ``update_time`` is in ms since the epoch; it defaults to the wall clock.
        """
        with self._lock:
            stamp = self._now_ms() if update_time is None else update_time
            self._peers.setdefault(user_id, {})[peer_id] = stamp
            if mutual:
                self._peers.setdefault(peer_id, {})[user_id] = stamp

    def mute(self, user_id: str, conv_type: int, *conv_ids: str) -> None:
        """Seed muted conversations directly: no checks, no limits."""
        with self._lock:
            self._muted.setdefault((user_id, ConvType(conv_type)), set()).update(conv_ids)

    # -- inspection -----------------------------------------------------------------

    def is_registered(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._users

    def muted(self, user_id: str, conv_type: int) -> set[str]:
        """A copy of the IDs ``user_id`` has muted for ``conv_type`` (0 peer, 2 group)."""
        with self._lock:
            return set(self._muted.get((user_id, ConvType(conv_type)), ()))

    def groups_of(self, user_id: str) -> list[GroupInfo]:
        """The groups ``user_id`` is in, in join order."""
        with self._lock:
            return [self._groups[g] for g in self._joined.get(user_id, {})]

    def conversations_of(self, user_id: str) -> list[Conversation]:
        """The user's most recent conversations (at most 1000), oldest first.

        Peer conversations come from `add_conversation`; every group the user is in is
        a group conversation dated by the join.
        """
        with self._lock:
            convs = [
                Conversation(p, ConvType.PEER, t) for p, t in self._peers.get(user_id, {}).items()
            ]
            convs += [
                Conversation(g, ConvType.GROUP, t) for g, t in self._joined.get(user_id, {}).items()
            ]
        convs.sort(key=lambda conv: conv.update_time)  # stable: ties keep insertion order
        return convs[-MAX_LISTED_CONVERSATIONS:]

    # -- the mute operation -----------------------------------------------------------

    def silence(
        self, from_user_id: str, conv_type: ConvType, conv_ids: Iterable[str], enable: bool
    ) -> list[tuple[str, int]]:
        """Apply one SilenceConvNotification atomically; return the failed (ID, SubCode)s.

        The caller has checked that ``from_user_id`` is registered and the IDs are unique.
        """
        failures: list[tuple[str, int]] = []
        with self._lock:
            muted = self._muted.setdefault((from_user_id, conv_type), set())
            limit = self.peer_mute_limit if conv_type is ConvType.PEER else self.group_mute_limit
            for conv_id in conv_ids:
                code = self._target_error(from_user_id, conv_type, conv_id)
                if code is None and enable:
                    if conv_id in muted:
                        code = ALREADY_MUTED
                    elif len(muted) >= limit:
                        code = MUTE_LIST_FULL
                    else:
                        muted.add(conv_id)
                elif code is None:
                    if conv_id in muted:
                        muted.discard(conv_id)
                    else:
                        code = ALREADY_UNMUTED
                if code is not None:
                    failures.append((conv_id, code))
        return failures

    def _target_error(self, user_id: str, conv_type: ConvType, conv_id: str) -> int | None:
        if conv_type is ConvType.PEER:
            return None if conv_id in self._users else PEER_NOT_REGISTERED
        if conv_id not in self._groups:
            return GROUP_NOT_FOUND
        return None if conv_id in self._joined.get(user_id, {}) else NOT_A_MEMBER
