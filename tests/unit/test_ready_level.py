"""ReadyLevel (the in-memory ready jobs of one queue and priority) against a naive model
that recomputes the documented rules from a plain list: scores are round * SEQ_SPAN + seq;
a back push gets its group's highest round + 1 (or the level's head round if the group
has none); unfair, the level's highest round + 1; a front push the head round - 1; jobs
are served lowest score first."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.adapters.ready_level import SEQ_SPAN, ReadyLevel

GROUPS = st.sampled_from(["", "a", "b", "c"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("push"), GROUPS, st.booleans()),
        st.tuples(st.just("pop"), st.none() | st.frozensets(GROUPS, min_size=1, max_size=2)),
        st.tuples(st.just("remove"), st.integers(0, 1000)),
    ),
    max_size=80,
)


class Model:
    def __init__(self, fair: bool) -> None:
        self.fair = fair
        self.entries: dict[str, tuple[int, str]] = {}  # id -> (score, group)
        self.seq = 0

    def head(self) -> int:
        return min(s for s, _ in self.entries.values()) // SEQ_SPAN if self.entries else 0

    def push(self, job_id: str, group: str, front: bool) -> None:
        head = self.head()
        mine = [s // SEQ_SPAN for s, g in self.entries.values() if g == group]
        if front:
            round_ = head - 1
        elif self.fair:
            round_ = max(mine) + 1 if mine else head
        else:
            every = [s // SEQ_SPAN for s, _ in self.entries.values()]
            round_ = max(max(every), head) + 1 if every else head + 1
        self.seq += 1
        self.entries[job_id] = (round_ * SEQ_SPAN + self.seq, group)

    def pop(self, groups: frozenset[str] | None) -> str | None:
        allowed = [(s, i) for i, (s, g) in self.entries.items() if groups is None or g in groups]
        if not allowed:
            return None
        _, job_id = min(allowed)
        del self.entries[job_id]
        return job_id


@settings(max_examples=300, deadline=None)
@given(ops=OPS, fair=st.booleans())
def test_serves_in_the_models_order(ops, fair) -> None:
    level, model = ReadyLevel(), Model(fair)
    made = 0
    for op, *args in ops:
        if op == "push":
            made += 1
            level.push(f"j{made}", args[0], fair=fair, front=args[1])
            model.push(f"j{made}", args[0], args[1])
        elif op == "pop":
            assert level.pop(args[0]) == model.pop(args[0])
        elif model.entries:
            victim = sorted(model.entries)[args[0] % len(model.entries)]
            del model.entries[victim]
            assert level.remove(victim)
        assert len(level) == len(model.entries)
        assert level.has({"a"}) == any(g == "a" for _, g in model.entries.values())
    expected = sorted((s, i) for i, (s, _) in model.entries.items())
    assert level.ordered(1000) == [i for _, i in expected]
    assert [level.pop() for _ in expected] == [i for _, i in expected]
    assert level.pop() is None and level.head() == 0


def test_a_big_backlog_and_a_small_tenant_take_turns() -> None:
    level = ReadyLevel()
    for n in range(1000):
        level.push(f"big{n}", "big", fair=True)
    for n in range(3):
        level.push(f"small{n}", "small", fair=True)
    first = [level.pop() for _ in range(6)]
    assert first == ["big0", "small0", "big1", "small1", "big2", "small2"]


def test_removed_jobs_are_never_served() -> None:
    level = ReadyLevel()
    level.push("x", "a", fair=True)
    assert level.remove("x") and not level.remove("x")
    assert level.pop() is None and level.pop({"a"}) is None
    assert len(level) == 0 and not level.has() and not level.has({"a"})
