"""Unit and property tests for jobkit.core.retry.RetryPolicy."""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.core.errors import InvalidPolicyError
from jobkit.core.retry import MAX_SECONDS, SEED_SCHEDULE, RetryPolicy
from jobkit.testing.strategies import retry_policies

INF = float("inf")
NAN = float("nan")


def seconds(policy: RetryPolicy, n: int, rng: random.Random | None = None) -> float:
    return policy.delay(n, rng).total_seconds()


# -- the default (the seed's schedule) ------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "delay"),
    [
        (1, timedelta(seconds=30)),  # before attempt 2
        (2, timedelta(minutes=5)),  # before attempt 3
        (3, timedelta(hours=1)),  # before attempt 4
        (4, timedelta(hours=1)),  # past the list: the last delay repeats
        (50, timedelta(hours=1)),
    ],
)
def test_default_delays(retry, delay):
    assert RetryPolicy.default().delay(retry) == delay


def test_default_is_the_seed_schedule():
    policy = RetryPolicy.default()
    assert policy.strategy == "schedule"
    assert policy.delays == SEED_SCHEDULE == (30.0, 300.0, 3600.0)
    assert policy.jitter == 0.0
    assert RetryPolicy.default() == RetryPolicy.schedule([30, 300, 3600])


def test_default_timeline():
    assert RetryPolicy.default().timeline(3) == [
        timedelta(0),  # attempt 1 at once
        timedelta(seconds=30),  # attempt 2: 30 s
        timedelta(minutes=5, seconds=30),  # attempt 3: 30 s + 5 min
        timedelta(hours=1, minutes=5, seconds=30),  # attempt 4: + 1 h
    ]
    assert RetryPolicy.default().timeline() == RetryPolicy.default().timeline(3)


@pytest.mark.parametrize(
    ("max_retries", "last"),
    [
        (0, timedelta(0)),  # a single attempt
        (1, timedelta(seconds=30)),
        (5, timedelta(hours=3, minutes=5, seconds=30)),  # 30 s + 5 min + 3 x 1 h
    ],
)
def test_timeline_length_and_end(max_retries, last):
    timeline = RetryPolicy.default().timeline(max_retries)
    assert len(timeline) == max_retries + 1
    assert timeline[-1] == last


def test_timeline_ignores_jitter():
    policy = RetryPolicy.constant(10, jitter=0.9)
    assert policy.timeline(2) == [timedelta(0), timedelta(seconds=10), timedelta(seconds=20)]


# -- constructors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # schedule: explicit list, last repeats; timedeltas accepted
        (RetryPolicy.schedule([10, timedelta(minutes=1)]), [10, 60, 60, 60]),
        (RetryPolicy.schedule([0]), [0, 0, 0, 0]),
        (RetryPolicy.schedule([5.5, 1]), [5.5, 1, 1, 1]),  # need not increase
        # exponential: initial * factor ** (n - 1)
        (RetryPolicy.exponential(1), [1, 2, 4, 8]),
        (RetryPolicy.exponential(timedelta(seconds=2), factor=3), [2, 6, 18, 54]),
        (RetryPolicy.exponential(1, max_delay=5), [1, 2, 4, 5]),  # capped at 5
        (RetryPolicy.exponential(1, max_delay=timedelta(seconds=3)), [1, 2, 3, 3]),
        (RetryPolicy.exponential(7, factor=1), [7, 7, 7, 7]),  # factor 1 is constant
        (RetryPolicy.exponential(0.5, factor=1.5), [0.5, 0.75, 1.125, 1.6875]),
        (RetryPolicy.exponential(0), [0, 0, 0, 0]),
        # linear: step * n
        (RetryPolicy.linear(10), [10, 20, 30, 40]),
        (RetryPolicy.linear(timedelta(minutes=1), max_delay=150), [60, 120, 150, 150]),
        # constant
        (RetryPolicy.constant(7), [7, 7, 7, 7]),
        (RetryPolicy.constant(timedelta(hours=2)), [7200, 7200, 7200, 7200]),
    ],
)
def test_constructor_delays(policy, expected):
    assert [seconds(policy, n) for n in range(1, 5)] == expected
    assert [policy.nominal_seconds(n) for n in range(1, 5)] == expected


def test_exponential_with_zero_initial_stays_zero_for_huge_retry_numbers():
    assert RetryPolicy.exponential(0).delay(5000) == timedelta(0)
    assert RetryPolicy.exponential(0, factor=1e300).delay(3) == timedelta(0)


@pytest.mark.parametrize("factor", [2, 2.0, 10])
def test_exponential_huge_retry_number_is_capped_and_fast(factor):
    policy = RetryPolicy.exponential(1, factor=factor)
    assert policy.nominal_seconds(10**7) == MAX_SECONDS
    capped = RetryPolicy.exponential(1, factor=factor, max_delay=60)
    assert capped.nominal_seconds(10**7) == 60


def test_delays_are_capped_at_max_seconds():
    assert RetryPolicy.linear(MAX_SECONDS).nominal_seconds(3) == MAX_SECONDS


# -- invalid policies -----------------------------------------------------------------


INVALID = [
    # (description, factory, field, offending value)
    ("empty schedule", lambda: RetryPolicy.schedule([]), "delays", ()),
    ("negative delay", lambda: RetryPolicy.schedule([30, -1]), "delays", -1),
    ("nan delay", lambda: RetryPolicy.schedule([NAN]), "delays", NAN),
    ("inf delay", lambda: RetryPolicy.schedule([INF]), "delays", INF),
    ("str delay", lambda: RetryPolicy.schedule(["30"]), "delays", "30"),
    ("bool delay", lambda: RetryPolicy.schedule([True]), "delays", True),
    ("huge delay", lambda: RetryPolicy.schedule([2e9]), "delays", 2e9),  # > MAX_SECONDS
    ("negative td", lambda: RetryPolicy.schedule([timedelta(seconds=-5)]), "delays", -5.0),
    ("negative initial", lambda: RetryPolicy.exponential(-1), "initial", -1),
    ("inf initial", lambda: RetryPolicy.exponential(INF), "initial", INF),
    ("none initial", lambda: RetryPolicy.exponential(None), "initial", None),
    ("factor < 1", lambda: RetryPolicy.exponential(1, factor=0.5), "factor", 0.5),
    ("factor 0", lambda: RetryPolicy.exponential(1, factor=0), "factor", 0),
    ("nan factor", lambda: RetryPolicy.exponential(1, factor=NAN), "factor", NAN),
    ("inf factor", lambda: RetryPolicy.exponential(1, factor=INF), "factor", INF),
    ("str factor", lambda: RetryPolicy.exponential(1, factor="2"), "factor", "2"),
    ("bool factor", lambda: RetryPolicy.exponential(1, factor=True), "factor", True),
    ("negative cap", lambda: RetryPolicy.exponential(1, max_delay=-5), "max_delay", -5),
    ("nan cap", lambda: RetryPolicy.linear(1, max_delay=NAN), "max_delay", NAN),
    ("negative jitter", lambda: RetryPolicy.exponential(1, jitter=-0.1), "jitter", -0.1),
    ("jitter > 1", lambda: RetryPolicy.constant(1, jitter=1.5), "jitter", 1.5),
    ("nan jitter", lambda: RetryPolicy.constant(1, jitter=NAN), "jitter", NAN),
    ("bool jitter", lambda: RetryPolicy.constant(1, jitter=True), "jitter", True),
    ("str jitter", lambda: RetryPolicy.schedule([1], jitter="0.1"), "jitter", "0.1"),
    ("negative step", lambda: RetryPolicy.linear(-10), "initial", -10),
    ("str constant", lambda: RetryPolicy.constant("x"), "initial", "x"),
    ("huge constant", lambda: RetryPolicy.constant(1e10), "initial", 1e10),
    ("unknown strategy", lambda: RetryPolicy("fibonacci"), "strategy", "fibonacci"),
]


@pytest.mark.parametrize(
    ("factory", "field", "value"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_policy(factory, field, value):
    with pytest.raises(InvalidPolicyError) as info:
        factory()
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field
    assert f"{field}=" in str(err)
    assert repr(value) in str(err)


@pytest.mark.parametrize("n", [0, -1, 1.0, True, "1", None])
def test_invalid_retry_number(n):
    for method in (RetryPolicy.default().delay, RetryPolicy.default().nominal_seconds):
        with pytest.raises(InvalidPolicyError) as info:
            method(n)
        assert info.value.field == "retry_number"
        assert repr(n) in str(info.value)


def test_boundary_values_are_valid():
    RetryPolicy.constant(0)
    RetryPolicy.constant(MAX_SECONDS)
    RetryPolicy.exponential(1, factor=1, jitter=1)
    RetryPolicy.exponential(1, jitter=0, max_delay=0)


# -- jitter ---------------------------------------------------------------------------


JITTERY = RetryPolicy.exponential(10, jitter=0.5)


def test_jitter_without_rng_is_nominal():
    assert [seconds(JITTERY, n) for n in range(1, 5)] == [10, 20, 40, 80]


def test_same_seed_same_delays():
    a = [JITTERY.delay(n, random.Random(1234)) for n in range(1, 20)]
    b = [JITTERY.delay(n, random.Random(1234)) for n in range(1, 20)]
    assert a == b
    rng_a, rng_b = random.Random(99), random.Random(99)
    assert [JITTERY.delay(n, rng_a) for n in range(1, 20)] == [
        JITTERY.delay(n, rng_b) for n in range(1, 20)
    ]


def test_different_seeds_give_different_delays():
    a = [JITTERY.delay(n, random.Random(1)) for n in range(1, 10)]
    b = [JITTERY.delay(n, random.Random(2)) for n in range(1, 10)]
    assert a != b


def test_jitter_spreads_within_bounds():
    rng = random.Random(0)
    samples = [seconds(JITTERY, 1, rng) for _ in range(2000)]
    assert all(5 <= s <= 15 for s in samples)  # 10 * (1 ± 0.5)
    assert min(samples) < 6 and max(samples) > 14  # really spread, not constant


def test_jitter_never_touches_the_global_random():
    random.seed(42)
    state = random.getstate()
    JITTERY.delay(3, random.Random(5))
    JITTERY.delay(3)
    RetryPolicy.default().delay(1, random.Random(5))
    assert random.getstate() == state


def test_global_random_state_does_not_affect_jitter():
    random.seed(1)
    a = JITTERY.delay(2, random.Random(7))
    random.seed(2)
    b = JITTERY.delay(2, random.Random(7))
    assert a == b


def test_zero_jitter_does_not_consume_the_rng():
    rng = random.Random(3)
    state = rng.getstate()
    assert RetryPolicy.constant(5).delay(1, rng) == timedelta(seconds=5)
    assert rng.getstate() == state


def test_jitter_is_capped_at_max_delay():
    policy = RetryPolicy.exponential(100, max_delay=100, jitter=1)
    rng = random.Random(0)
    assert all(seconds(policy, 1, rng) <= 100 for _ in range(500))


# -- to_dict / from_dict --------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy.default(),
        RetryPolicy.schedule([1, 2.5], jitter=0.1),
        RetryPolicy.exponential(1, factor=3, max_delay=100, jitter=0.25),
        RetryPolicy.linear(5),
        RetryPolicy.constant(timedelta(minutes=1)),
    ],
)
def test_to_dict_round_trip(policy):
    data = policy.to_dict()
    assert set(data) == {"strategy", "delays", "initial", "factor", "max_delay", "jitter"}
    assert RetryPolicy.from_dict(json.loads(json.dumps(data))) == policy


def test_from_dict_validates():
    with pytest.raises(InvalidPolicyError) as info:
        RetryPolicy.from_dict({"strategy": "constant", "initial": -1})
    assert info.value.field == "initial"


def test_from_dict_defaults():
    assert RetryPolicy.from_dict({"strategy": "constant", "initial": 3}) == RetryPolicy.constant(3)


# -- properties -----------------------------------------------------------------------

seconds_st = st.floats(min_value=0, max_value=1e6, allow_nan=False)
caps = st.one_of(st.none(), st.floats(min_value=0, max_value=MAX_SECONDS))
jitters = st.floats(min_value=0, max_value=1)
retry_numbers = st.integers(min_value=1, max_value=10**6)


def policies(jitter: st.SearchStrategy[float] = jitters) -> st.SearchStrategy[RetryPolicy]:
    return retry_policies(jitter)


@given(
    initial=seconds_st,
    factor=st.floats(min_value=1, max_value=100),
    max_delay=caps,
)
def test_exponential_never_decreases_and_respects_the_cap(initial, factor, max_delay):
    policy = RetryPolicy.exponential(initial, factor=factor, max_delay=max_delay)
    delays = [policy.delay(n) for n in range(1, 40)]
    assert delays == sorted(delays)
    limit = timedelta(seconds=MAX_SECONDS if max_delay is None else max_delay)
    assert all(timedelta(0) <= d <= limit for d in delays)


@given(
    initial=st.floats(min_value=0, max_value=1e4),
    factor=st.floats(min_value=1, max_value=10),
    n=st.integers(min_value=1, max_value=8),
)
def test_exponential_matches_its_formula_below_the_cap(initial, factor, n):
    expected = initial * factor ** (n - 1)  # at most 1e4 * 1e7 = 1e11
    got = RetryPolicy.exponential(initial, factor=factor).nominal_seconds(n)
    assert got == pytest.approx(min(expected, MAX_SECONDS), rel=1e-12)


@settings(deadline=None)
@given(policy=policies(), n=st.integers(min_value=1, max_value=50), seed=st.integers(0, 2**32))
def test_jittered_delay_stays_within_bounds(policy, n, seed):
    nominal = policy.nominal_seconds(n)
    got = seconds(policy, n, random.Random(seed))
    slack = 1e-6 + nominal * 1e-12  # timedelta keeps microseconds; float rounding
    upper = nominal * (1 + policy.jitter)
    if policy.max_delay is not None:
        upper = min(upper, policy.max_delay)
    upper = min(upper, MAX_SECONDS)
    assert nominal * (1 - policy.jitter) - slack <= got <= upper + slack


@given(policy=policies(), seed=st.integers(0, 2**32))
def test_same_seed_gives_same_delays(policy, seed):
    a = [policy.delay(n, random.Random(seed)) for n in range(1, 6)]
    b = [policy.delay(n, random.Random(seed)) for n in range(1, 6)]
    assert a == b


@given(policies())
def test_policy_dict_round_trip(policy):
    data = json.loads(json.dumps(policy.to_dict(), allow_nan=False))
    assert RetryPolicy.from_dict(data) == policy


@settings(deadline=None)
@given(policy=policies(), n=retry_numbers, seed=st.one_of(st.none(), st.integers(0, 2**32)))
def test_delay_is_never_negative_nor_infinite(policy, n, seed):
    rng = None if seed is None else random.Random(seed)
    d = policy.delay(n, rng)
    assert timedelta(0) <= d <= timedelta(seconds=MAX_SECONDS)
    assert math.isfinite(policy.nominal_seconds(n))


@given(policies(jitter=st.just(0.0)), st.integers(min_value=0, max_value=20))
def test_timeline_is_the_running_sum_of_delays(policy, max_retries):
    timeline = policy.timeline(max_retries)
    assert len(timeline) == max_retries + 1
    assert timeline[0] == timedelta(0)
    for n in range(1, max_retries + 1):
        assert timeline[n] - timeline[n - 1] == policy.delay(n)
