"""The ready jobs of one queue and one priority, served fairly across tenants.

Every ready job has a score, `round * SEQ_SPAN + seq`, and jobs are served lowest
score first: by round, then in arrival order (`seq` counts the level's pushes, modulo
SEQ_SPAN). Rounds are what make tenants take turns (start-time fair queueing):

- a job put at the back gets round `tail + 1`, where `tail` is the highest round of
  its tenant's ready jobs; a tenant with none joins the current round, `head` (the
  round of the level's first job; 0 when the level is empty). A tenant with 100,000
  queued jobs holds rounds up to head + 100,000, while a tenant arriving with 10 jobs
  gets head ... head + 9: the level serves its tenants in rounds, one job of each per
  round, and within a round in arrival order;
- with fairness off, the back is the whole level's: round `max(highest, head) + 1`,
  which is plain FIFO;
- a job put at the front (released or reclaimed) gets round `head - 1`.

Jobs without a tenant form one group of their own (the group ""). The Redis adapter
computes the same scores in its Lua scripts (see redis/lua/_lib.lua), so both backends
serve the same jobs in the same order.

Layout: per group, a deque of (score, id) in ascending order (back pushes exceed the
group's tail, front pushes undercut the level's head); `live` maps each ready id to its
score, and entries whose score is not the live one (removed jobs) are skipped when they
come up. With one group (the common case: no tenants, or one) its deque is the level;
with several, a heap of the groups' fronts finds the lowest score.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Collection

_Entry = tuple[int, str]  # (score, job id)
#: scores hold the round above this and the arrival sequence below it; Redis keeps
#: scores as doubles, exact up to 2**53: 2**33 rounds either side of 0
SEQ_SPAN = 1 << 20


class ReadyLevel:
    """Ready job ids of one queue and priority, grouped by tenant ("" = no tenant)."""

    __slots__ = ("fronts", "groups", "heads", "live", "seq", "solo", "top")

    def __init__(self) -> None:
        self.groups: dict[str, deque[_Entry]] = {}
        self.live: dict[str, int] = {}  # id -> score of its (only) counted entry
        self.top = 0  # the highest round given out (fair=False backs)
        self.seq = 0  # pushes so far
        #: the deque of the only group, while there is one; None with several groups
        self.solo: deque[_Entry] | None = None
        # with several groups: a heap of (score, id, group) holding each group's front,
        # plus entries gone stale (skipped when they come up; see `_first`), and the
        # entry of each group that counts
        self.heads: list[tuple[int, str, str]] = []
        self.fronts: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self.live)

    def push(self, job_id: str, group: str, *, fair: bool, front: bool = False) -> int:
        """Add a ready job at the back of its group's turn (or the front of the level);
        returns the score it got."""
        dq = self.groups.get(group)
        live = self.live
        if front:
            round_ = self.head() // SEQ_SPAN - 1
        elif fair:
            tail = None
            while dq:  # the group's last live entry (removed ones dropped)
                score, last = dq[-1]
                if live.get(last) == score:
                    tail = score // SEQ_SPAN
                    break
                dq.pop()
            round_ = self.head() // SEQ_SPAN if tail is None else tail + 1
        else:
            round_ = self.top + 1 if live else 1
        if round_ > self.top:
            self.top = round_
        self.seq += 1
        score = round_ * SEQ_SPAN + self.seq % SEQ_SPAN
        live[job_id] = score
        entry = (score, job_id)
        dq = self.groups.get(group)  # again: finding the head may have dropped the group
        if dq is None:  # a new group
            dq = self.groups[group] = deque((entry,))
            if len(self.groups) == 1:
                self.solo = dq
            elif self.solo is not None:
                self._build_heads()
            else:
                self._represent(group, entry)
        elif front:
            dq.appendleft(entry)
            if self.solo is None:
                self._represent(group, entry)
        else:
            if self.solo is None and not self._clean_front(dq):
                self._represent(group, entry)
            dq.append(entry)
        return score

    def pop(self, groups: Collection[str] | None = None) -> str | None:
        """Take the next job id to serve (only from `groups`, if given), or None."""
        solo = self.solo
        if solo is not None:
            if groups is not None and not any(g in self.groups for g in groups):
                return None
            live = self.live
            while solo:
                score, job_id = solo.popleft()
                if live.get(job_id) == score:
                    del live[job_id]
                    return job_id
            return None
        if groups is None:
            first = self._first()
            return None if first is None else self._take(first)
        best: tuple[_Entry, str] | None = None
        for group in groups:
            dq = self.groups.get(group)
            if dq and self._clean_front(dq) and (best is None or dq[0] < best[0]):
                best = (dq[0], group)
        return None if best is None else self._take(best[1])

    def remove(self, job_id: str) -> bool:
        """Forget a ready job (cancel, delete, save); its entry is skipped later."""
        return self.live.pop(job_id, None) is not None

    def head(self) -> int:
        """The lowest score of the level, or 0 when it is empty."""
        if self.solo is not None:
            return self.solo[0][0] if self._clean_front(self.solo) else 0
        first = self._first()
        return 0 if first is None else self.groups[first][0][0]

    def ordered(self, limit: int) -> list[str]:
        """The first `limit` job ids in the order they would be served."""
        live = self.live
        groups = [((s, i) for s, i in dq if live.get(i) == s) for dq in self.groups.values()]
        return [job_id for _, job_id in itertools.islice(heapq.merge(*groups), limit)]

    def has(self, groups: Collection[str] | None = None) -> bool:
        """Whether a job (of `groups`, if given) is ready."""
        if groups is None:
            return bool(self.live)
        return any((dq := self.groups.get(g)) and self._clean_front(dq) for g in groups)

    # -- internals ------------------------------------------------------------------------

    def _first(self) -> str | None:
        """(Several groups) the group holding the level's lowest (score, id), or None.

        The heap's top is a group's counted front, but that job may have been removed
        since: then the group's next live entry takes its place in the heap."""
        heads, fronts = self.heads, self.fronts
        while heads:
            score, job_id, group = heads[0]
            if fronts.get(group) != (score, job_id):
                heapq.heappop(heads)  # replaced by a newer front of its group
                continue
            dq = self.groups[group]
            if self._clean_front(dq):
                if dq[0] == (score, job_id):
                    return group
                fronts[group] = dq[0]
                heapq.heapreplace(heads, (*dq[0], group))
            else:
                heapq.heappop(heads)
                self._forget(group)
        return None

    def _take(self, group: str) -> str:
        """(Several groups) pop the live front of `group`; its next entry becomes its front."""
        dq = self.groups[group]
        _, job_id = dq.popleft()
        del self.live[job_id]
        if self._clean_front(dq):
            self._represent(group, dq[0])
        else:
            self._forget(group)  # its heap entry is skipped later
        return job_id

    def _represent(self, group: str, entry: _Entry) -> None:
        """Make `entry` the group's front in the heap of heads."""
        self.fronts[group] = entry
        heapq.heappush(self.heads, (*entry, group))

    def _forget(self, group: str) -> None:
        """Drop a group without ready jobs; back to one deque if one group is left."""
        self.fronts.pop(group, None)
        del self.groups[group]
        self._solo_if_one()

    def _build_heads(self) -> None:
        """From one group to several: the heap of the groups' fronts."""
        self.solo = None
        self.heads, self.fronts = [], {}
        for group, dq in list(self.groups.items()):
            if self._clean_front(dq):
                self._represent(group, dq[0])
            elif len(self.groups) > 1:
                del self.groups[group]
        self._solo_if_one()

    def _solo_if_one(self) -> None:
        """With one group left, its deque is the level again (no heap of heads)."""
        if len(self.groups) == 1:
            (self.solo,) = self.groups.values()
            self.heads, self.fronts = [], {}

    def _clean_front(self, dq: deque[_Entry]) -> bool:
        """Drop removed entries from the front of a group; True if a live one remains."""
        live = self.live
        while dq:
            score, job_id = dq[0]
            if live.get(job_id) == score:
                return True
            dq.popleft()
        return False
