"""Tests for jobkit.sim.behavior: duration distributions, failure models, JSON forms."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.errors import InvalidBehaviorError
from jobkit.sim import (
    AttemptInfo,
    Behavior,
    any_of,
    behavior_from_dict,
    behaviors_from_dict,
    constant,
    empirical,
    exponential,
    first_attempts,
    lognormal,
    never,
    rate,
    uniform,
    when,
    window,
)
from jobkit.sim.behavior import duration_from_dict, failure_from_dict
from tests.strategies import aware_datetimes

START = datetime(2026, 1, 1, tzinfo=UTC)
N = 20_000


def info(
    attempt: int = 1,
    now: datetime = START,
    elapsed: float = 0.0,
    args: dict[str, Any] | None = None,
) -> AttemptInfo:
    return AttemptInfo(args or {}, attempt, now, elapsed)


def at(seconds: float) -> AttemptInfo:
    """An attempt `seconds` after START (now and elapsed agree)."""
    return info(now=START + timedelta(seconds=seconds), elapsed=seconds)


def draws(duration: Any, seed: int = 0, n: int = N) -> list[float]:
    rng = random.Random(seed)
    return [duration.sample(rng) for _ in range(n)]


def json_trip(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


# -- durations ----------------------------------------------------------------------------

ALL_DURATIONS = [
    constant(1.5),
    exponential(2.0),
    lognormal(0.4, 0.6),
    uniform(1.0, 3.0),
    empirical([0.1, 0.2, 0.7]),
]


@pytest.mark.parametrize("duration", ALL_DURATIONS, ids=lambda d: type(d).__name__)
def test_duration_samples_are_deterministic_and_non_negative(duration):
    one = draws(duration, seed=42, n=500)
    assert one == draws(duration, seed=42, n=500)
    assert all(isinstance(x, float) and x >= 0 for x in one)
    if duration.to_dict()["kind"] != "constant":
        assert one != draws(duration, seed=43, n=500)


@pytest.mark.parametrize("duration", ALL_DURATIONS, ids=lambda d: type(d).__name__)
def test_duration_to_dict_round_trip(duration):
    data = duration.to_dict()
    assert data["kind"] in {"constant", "exponential", "lognormal", "uniform", "empirical"}
    back = duration_from_dict(json_trip(data))
    assert back == duration
    assert back.to_dict() == data
    assert draws(back, seed=3, n=50) == draws(duration, seed=3, n=50)


def test_constant():
    d = constant(1.5)
    assert d.to_dict() == {"kind": "constant", "seconds": 1.5}
    rng = random.Random(1)
    state = rng.getstate()
    assert {d.sample(rng) for _ in range(10)} == {1.5}
    assert rng.getstate() == state  # draws nothing
    assert constant(0).sample(rng) == 0.0
    assert isinstance(constant(2).seconds, float)


def test_exponential_statistics():
    d = exponential(2.0)
    assert d.to_dict() == {"kind": "exponential", "mean": 2.0}
    values = draws(d, seed=5)
    assert statistics.fmean(values) == pytest.approx(2.0, rel=0.05)
    assert statistics.median(values) == pytest.approx(2.0 * math.log(2), rel=0.05)
    assert min(values) >= 0


def test_lognormal_statistics():
    d = lognormal(median=0.4, sigma=0.6)
    assert d.to_dict() == {"kind": "lognormal", "median": 0.4, "sigma": 0.6}
    values = draws(d, seed=6)
    assert statistics.median(values) == pytest.approx(0.4, rel=0.05)
    assert quantile(values, 0.95) == pytest.approx(0.4 * math.exp(1.645 * 0.6), rel=0.1)
    assert statistics.fmean(values) == pytest.approx(0.4 * math.exp(0.6**2 / 2), rel=0.05)
    assert min(values) > 0


def test_lognormal_default_sigma_and_zero_sigma():
    assert lognormal(1.0).sigma == 0.5
    assert draws(lognormal(0.4, 0.0), n=20) == pytest.approx([0.4] * 20)


def test_uniform_statistics():
    d = uniform(1.0, 3.0)
    assert d.to_dict() == {"kind": "uniform", "low": 1.0, "high": 3.0}
    values = draws(d, seed=7)
    assert all(1.0 <= v <= 3.0 for v in values)
    assert statistics.fmean(values) == pytest.approx(2.0, rel=0.02)
    assert min(values) < 1.01 and max(values) > 2.99
    assert draws(uniform(2, 2), n=5) == [2.0] * 5


def test_empirical_statistics():
    samples = [0.1, 0.2, 0.7]
    d = empirical(samples)
    assert d.to_dict() == {"kind": "empirical", "samples": samples}
    counts = Counter(draws(d, seed=8))
    assert set(counts) == set(samples)
    for value in samples:
        assert counts[value] / N == pytest.approx(1 / 3, abs=0.02)
    assert draws(empirical([4.2]), n=5) == [4.2] * 5


def test_empirical_copies_its_samples():
    samples = [1.0, 2.0]
    d = empirical(samples)
    samples.append(-5.0)
    assert d.to_dict()["samples"] == [1.0, 2.0]
    assert empirical((1, 2)).samples == (1.0, 2.0)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: constant(-1), "seconds"),
        (lambda: constant(math.nan), "seconds"),
        (lambda: constant(math.inf), "seconds"),
        (lambda: constant(True), "seconds"),
        (lambda: constant("1"), "seconds"),
        (lambda: exponential(0), "mean"),
        (lambda: exponential(-2), "mean"),
        (lambda: exponential(math.inf), "mean"),
        (lambda: lognormal(0), "median"),
        (lambda: lognormal(-0.4), "median"),
        (lambda: lognormal(1, -0.1), "sigma"),
        (lambda: lognormal(1, math.nan), "sigma"),
        (lambda: uniform(-1, 2), "low"),
        (lambda: uniform(1, -2), "high"),
        (lambda: uniform(3, 1), "high"),
        (lambda: uniform(0, math.inf), "high"),
        (lambda: empirical([]), "samples"),
        (lambda: empirical([1, -2]), "samples[1]"),
        (lambda: empirical([1, math.nan]), "samples[1]"),
        (lambda: empirical(["1"]), "samples[0]"),
    ],
)
def test_bad_durations(make, field):
    with pytest.raises(InvalidBehaviorError) as exc:
        make()
    assert exc.value.field == field
    assert field in str(exc.value)


finite = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)

durations = st.one_of(
    finite.map(constant),
    positive.map(exponential),
    st.builds(lognormal, positive, st.floats(min_value=0, max_value=3)),
    st.tuples(finite, finite).map(lambda t: uniform(min(t), max(t))),
    st.lists(finite, min_size=1, max_size=8).map(empirical),
)


@settings(max_examples=150, deadline=None)
@given(duration=durations, seed=st.integers(min_value=0, max_value=2**32))
def test_duration_properties(duration, seed):
    back = duration_from_dict(json_trip(duration.to_dict()))
    assert back == duration
    one = draws(duration, seed=seed, n=5)
    assert one == draws(back, seed=seed, n=5)
    assert all(x >= 0 and math.isfinite(x) for x in one)


# -- failure models -------------------------------------------------------------------------


def test_attempt_info():
    a = AttemptInfo({"x": 1}, 2, START, 12.5)
    assert (a.args, a.attempt, a.now, a.elapsed) == ({"x": 1}, 2, START, 12.5)
    assert repr(a) == "AttemptInfo(attempt=2, now=2026-01-01T00:00:00+00:00, args={'x': 1})"


def test_never():
    model = never()
    rng = random.Random(0)
    state = rng.getstate()
    assert not any(model.fails(rng, info(attempt=n)) for n in range(1, 50))
    assert rng.getstate() == state
    assert model.to_dict() == {"kind": "never"}


def test_rate_frequency_and_one_draw_per_attempt():
    model = rate(0.3)
    assert model.to_dict() == {"kind": "rate", "p": 0.3}
    rng, twin = random.Random(9), random.Random(9)
    results = [model.fails(rng, info()) for _ in range(N)]
    assert results == [twin.random() < 0.3 for _ in range(N)]
    assert sum(results) / N == pytest.approx(0.3, abs=5 * math.sqrt(0.3 * 0.7 / N))


def test_rate_extremes():
    rng = random.Random(1)
    assert not any(rate(0).fails(rng, info()) for _ in range(1000))
    assert all(rate(1).fails(rng, info()) for _ in range(1000))


def test_rate_is_deterministic_per_seed():
    model = rate(0.5)
    one = [model.fails(random.Random(4), info()) for _ in range(3)]
    rng_a, rng_b = random.Random(11), random.Random(11)
    assert [model.fails(rng_a, info()) for _ in range(200)] == [
        model.fails(rng_b, info()) for _ in range(200)
    ]
    assert len(set(one)) == 1


def test_first_attempts():
    model = first_attempts(2)
    rng = random.Random(0)
    state = rng.getstate()
    assert [model.fails(rng, info(attempt=n)) for n in range(1, 6)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert rng.getstate() == state
    assert model.to_dict() == {"kind": "first_attempts", "n": 2}
    assert not first_attempts(0).fails(rng, info(attempt=1))


def test_window_with_datetime_bounds_is_half_open_and_reads_now():
    model = window(START + timedelta(minutes=10), START + timedelta(minutes=20))
    rng = random.Random(0)
    state = rng.getstate()
    assert not model.fails(rng, at(599.999))
    assert model.fails(rng, at(600))
    assert model.fails(rng, at(1199.9))
    assert not model.fails(rng, at(1200))
    assert rng.getstate() == state  # rate 1: no draws
    # datetime bounds look at `now`, not at `elapsed`
    assert model.fails(rng, info(now=START + timedelta(minutes=15), elapsed=0.0))
    assert not model.fails(rng, info(now=START, elapsed=900.0))
    # `now` in another zone is the same instant
    plus2 = timezone(timedelta(hours=2))
    assert model.fails(rng, info(now=datetime(2026, 1, 1, 2, 15, tzinfo=plus2)))


def test_window_with_seconds_bounds_reads_elapsed():
    model = window(10, 20.5)
    assert (model.start, model.end) == (10.0, 20.5)
    rng = random.Random(0)
    assert not model.fails(rng, info(elapsed=9.99))
    assert model.fails(rng, info(elapsed=10))
    assert model.fails(rng, info(elapsed=20.4, now=START + timedelta(days=3)))
    assert not model.fails(rng, info(elapsed=20.5))
    assert not model.fails(rng, info(elapsed=0.0, now=START + timedelta(seconds=15)))
    assert model.to_dict() == {"kind": "window", "start": 10.0, "end": 20.5, "rate": 1.0}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T10:00Z", "2026-01-01T10:20Z"),
        ("2026-01-01T10:00:00+00:00", "2026-01-01T10:20:00+00:00"),
        ("2026-01-01T12:00:00+02:00", "2026-01-01T05:20:00-05:00"),
        (datetime(2026, 1, 1, 10, tzinfo=UTC), "2026-01-01T10:20:00Z"),
    ],
)
def test_window_accepts_iso_strings_and_normalises_to_utc(start, end):
    model = window(start, end)
    assert model.start == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert model.end == datetime(2026, 1, 1, 10, 20, tzinfo=UTC)
    assert model.start.tzinfo is UTC
    assert model.to_dict() == {
        "kind": "window",
        "start": "2026-01-01T10:00:00+00:00",
        "end": "2026-01-01T10:20:00+00:00",
        "rate": 1.0,
    }
    assert failure_from_dict(json_trip(model.to_dict())) == model


def test_window_partial_rate_draws_only_inside():
    model = window(100.0, 200.0, rate=0.25)
    rng, twin = random.Random(5), random.Random(5)
    state = rng.getstate()
    assert not model.fails(rng, info(elapsed=50.0))
    assert not model.fails(rng, info(elapsed=250.0))
    assert rng.getstate() == state
    inside = [model.fails(rng, info(elapsed=150.0)) for _ in range(N)]
    assert inside == [twin.random() < 0.25 for _ in range(N)]
    assert sum(inside) / N == pytest.approx(0.25, abs=0.015)
    assert not any(window(0, 1, rate=0).fails(rng, info(elapsed=0.5)) for _ in range(100))


def test_when_sees_args_and_attempt():
    seen: list[tuple[dict[str, Any], int]] = []

    def predicate(args, attempt):
        seen.append((dict(args), attempt))
        return args.get("to") == "bounce@example.com" and attempt < 3

    model = when(predicate)
    rng = random.Random(0)
    state = rng.getstate()
    assert model.fails(rng, info(attempt=1, args={"to": "bounce@example.com"}))
    assert model.fails(rng, info(attempt=2, args={"to": "bounce@example.com"}))
    assert not model.fails(rng, info(attempt=3, args={"to": "bounce@example.com"}))
    assert not model.fails(rng, info(attempt=1, args={"to": "ok@example.com"}))
    assert rng.getstate() == state
    assert seen[0] == ({"to": "bounce@example.com"}, 1)
    assert len(seen) == 4


def test_when_result_is_a_bool():
    model = when(lambda args, attempt: args.get("n", 0))
    rng = random.Random(0)
    assert model.fails(rng, info(args={"n": 3})) is True
    assert model.fails(rng, info(args={})) is False


def test_when_to_dict_raises():
    model = when(lambda args, attempt: False)
    with pytest.raises(InvalidBehaviorError) as exc:
        model.to_dict()
    assert exc.value.field == "failure"
    assert "JSON" in str(exc.value)
    with pytest.raises(InvalidBehaviorError):
        any_of(rate(0.1), model).to_dict()
    with pytest.raises(InvalidBehaviorError):
        Behavior(failure=model).to_dict()


@pytest.mark.parametrize("predicate", [None, 3, "attempt < 2"])
def test_when_needs_a_callable(predicate):
    with pytest.raises(InvalidBehaviorError) as exc:
        when(predicate)
    assert exc.value.field == "predicate"


def test_any_of():
    model = any_of(first_attempts(1), window(10.0, 20.0))
    rng = random.Random(0)
    assert model.fails(rng, info(attempt=1, elapsed=0.0))
    assert model.fails(rng, info(attempt=5, elapsed=15.0))
    assert not model.fails(rng, info(attempt=2, elapsed=25.0))
    assert not any_of().fails(rng, info())
    assert model.to_dict() == {
        "kind": "any",
        "of": [
            {"kind": "first_attempts", "n": 1},
            {"kind": "window", "start": 10.0, "end": 20.0, "rate": 1.0},
        ],
    }


def test_any_of_stops_at_the_first_failure():
    model = any_of(first_attempts(1), rate(0.5))
    rng = random.Random(3)
    state = rng.getstate()
    assert model.fails(rng, info(attempt=1))
    assert rng.getstate() == state  # rate(0.5) was not asked
    twin = random.Random(3)
    assert model.fails(rng, info(attempt=2)) == (twin.random() < 0.5)
    assert rng.getstate() == twin.getstate()


def test_any_of_with_when():
    model = any_of(never(), when(lambda args, attempt: attempt == 2))
    rng = random.Random(0)
    assert [model.fails(rng, info(attempt=n)) for n in (1, 2, 3)] == [False, True, False]


@pytest.mark.parametrize(
    "model",
    [
        never(),
        rate(0.0),
        rate(0.125),
        rate(1),
        first_attempts(0),
        first_attempts(3),
        window(0, 60),
        window(5.5, 6.5, rate=0.5),
        window("2026-01-01T10:00Z", "2026-01-01T10:20Z", 0.75),
        any_of(),
        any_of(rate(0.1), window(1, 2)),
        any_of(any_of(never(), first_attempts(1)), rate(0.2)),
    ],
    ids=repr,
)
def test_failure_to_dict_round_trip(model):
    data = model.to_dict()
    back = failure_from_dict(json_trip(data))
    assert back == model
    assert back.to_dict() == data


def test_failure_from_dict_window_rate_is_optional():
    model = failure_from_dict({"kind": "window", "start": 1, "end": 2})
    assert model == window(1.0, 2.0, 1.0)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: rate(1.5), "p"),
        (lambda: rate(-0.1), "p"),
        (lambda: rate(math.nan), "p"),
        (lambda: rate(True), "p"),
        (lambda: rate("0.5"), "p"),
        (lambda: first_attempts(-1), "n"),
        (lambda: first_attempts(1.5), "n"),
        (lambda: first_attempts(True), "n"),
        (lambda: window(0, 10, rate=1.5), "rate"),
        (lambda: window(0, 10, rate=-1), "rate"),
        (lambda: window(10, 5), "end"),
        (lambda: window(10, 10), "end"),
        (lambda: window(START + timedelta(minutes=5), START), "end"),
        (lambda: window("2026-01-01T10:20Z", "2026-01-01T10:00Z"), "end"),
        (lambda: window(START, 60.0), "end"),
        (lambda: window(0.0, "2026-01-01T10:00Z"), "end"),
        (lambda: window(-5, 10), "start"),
        (lambda: window(math.nan, 10), "start"),
        (lambda: window(True, 10), "start"),
        (lambda: window("not a time", "2026-01-01T10:00Z"), "start"),
        (lambda: window("2026-01-01T10:00", "2026-01-01T10:20"), "start"),
        (lambda: window(datetime(2026, 1, 1), START), "start"),
        (lambda: window(START, datetime(2026, 1, 2)), "end"),
        (lambda: window(0, math.inf), "end"),
    ],
)
def test_bad_failure_models(make, field):
    with pytest.raises(InvalidBehaviorError) as exc:
        make()
    assert exc.value.field == field
    assert field in str(exc.value)


aware = aware_datetimes()
seconds_windows = st.builds(
    lambda s, d, r: window(s, s + d, r),
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=1e-3, max_value=1e6),
    st.floats(min_value=0, max_value=1),
)
datetime_windows = st.builds(
    lambda s, d, r: window(s, s + timedelta(seconds=d), r),
    aware,
    st.integers(min_value=1, max_value=10**7),
    st.floats(min_value=0, max_value=1),
)
simple_failures = st.one_of(
    st.just(never()),
    st.floats(min_value=0, max_value=1).map(rate),
    st.integers(min_value=0, max_value=20).map(first_attempts),
    seconds_windows,
    datetime_windows,
)
failures = st.recursive(
    simple_failures,
    lambda inner: st.lists(inner, max_size=3).map(lambda ms: any_of(*ms)),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    model=failures,
    attempt=st.integers(min_value=1, max_value=30),
    elapsed=st.floats(min_value=0, max_value=2e6),
    now=aware,
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_failure_properties(model, attempt, elapsed, now, seed):
    back = failure_from_dict(json_trip(model.to_dict()))
    assert back == model
    a = AttemptInfo({}, attempt, now, elapsed)
    assert model.fails(random.Random(seed), a) == back.fails(random.Random(seed), a)
    assert isinstance(model.fails(random.Random(seed), a), bool)


# -- Behavior -----------------------------------------------------------------------------


def test_behavior_defaults():
    b = Behavior()
    assert b.duration == constant(1.0)
    assert b.failure == never()
    assert b.failure_duration is None
    assert (b.handler, b.error_type, b.error_message) == (
        False,
        "SimulatedFailure",
        "simulated failure",
    )
    assert b.to_dict() == {
        "duration": {"kind": "constant", "seconds": 1.0},
        "failure": {"kind": "never"},
    }
    assert behavior_from_dict({}) == b
    assert behavior_from_dict(b.to_dict()) == b


def full_behavior() -> Behavior:
    return Behavior(
        duration=lognormal(0.4, 0.6),
        failure=any_of(rate(0.02), window("2026-01-01T10:00Z", "2026-01-01T10:20Z")),
        failure_duration=constant(10),
        handler=True,
        error_type="SMTPError",
        error_message="451 try again later",
    )


def test_behavior_to_dict_has_every_set_part():
    data = full_behavior().to_dict()
    assert data == {
        "duration": {"kind": "lognormal", "median": 0.4, "sigma": 0.6},
        "failure": {
            "kind": "any",
            "of": [
                {"kind": "rate", "p": 0.02},
                {
                    "kind": "window",
                    "start": "2026-01-01T10:00:00+00:00",
                    "end": "2026-01-01T10:20:00+00:00",
                    "rate": 1.0,
                },
            ],
        },
        "failure_duration": {"kind": "constant", "seconds": 10.0},
        "handler": True,
        "error_type": "SMTPError",
        "error_message": "451 try again later",
    }


def test_behavior_round_trip():
    b = full_behavior()
    assert behavior_from_dict(json_trip(b.to_dict())) == b


def test_behaviors_from_dict_round_trip():
    behaviors = {
        "send_email": full_behavior(),
        "resize": Behavior(duration=uniform(0.5, 2), failure=first_attempts(1)),
        "report": Behavior(duration=empirical([1, 2, 3])),
        "ping": Behavior(),
    }
    data = json_trip({t: b.to_dict() for t, b in behaviors.items()})
    assert behaviors_from_dict(data) == behaviors
    assert behaviors_from_dict({}) == {}


def test_behavior_from_dict_partial():
    b = behavior_from_dict({"failure": {"kind": "rate", "p": 0.5}, "handler": False})
    assert b == Behavior(failure=rate(0.5))
    assert behavior_from_dict({"failure_duration": None}) == Behavior()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"duration": 5}, "duration"),
        ({"duration": rate(0.1)}, "duration"),
        ({"failure": "sometimes"}, "failure"),
        ({"failure": constant(1)}, "failure"),
        ({"failure_duration": 10}, "failure_duration"),
        ({"error_type": ""}, "error_type"),
        ({"error_type": None}, "error_type"),
    ],
)
def test_behavior_bad_parts(kwargs, field):
    with pytest.raises(InvalidBehaviorError) as exc:
        Behavior(**kwargs)
    assert exc.value.field == field


@pytest.mark.parametrize(
    ("parse", "data", "field", "shown"),
    [
        # durations
        (duration_from_dict, 5, "duration", "5"),
        (duration_from_dict, {"seconds": 1}, "duration", "kind"),
        (duration_from_dict, {"kind": "gaussian", "mean": 1}, "duration.kind", "'gaussian'"),
        (duration_from_dict, {"kind": "constant"}, "duration.seconds", "required"),
        (duration_from_dict, {"kind": "lognormal", "median": 1}, "duration.sigma", "required"),
        (duration_from_dict, {"kind": "uniform", "low": 1}, "duration.high", "required"),
        (duration_from_dict, {"kind": "constant", "seconds": 1, "jitter": 2}, "duration", "jitter"),
        (duration_from_dict, {"kind": "exponential", "mean": 1, "median": 1}, "duration", "median"),
        (duration_from_dict, {"kind": "constant", "seconds": -1}, "seconds", "-1"),
        (duration_from_dict, {"kind": "exponential", "mean": 0}, "mean", "0"),
        (duration_from_dict, {"kind": "uniform", "low": 5, "high": 1}, "high", "1"),
        (duration_from_dict, {"kind": "empirical", "samples": []}, "samples", "[]"),
        (duration_from_dict, {"kind": "empirical", "samples": [1, -1]}, "samples[1]", "-1"),
        # failures
        (failure_from_dict, "rate", "failure", "'rate'"),
        (failure_from_dict, {"p": 0.1}, "failure", "kind"),
        (failure_from_dict, {"kind": "sometimes"}, "failure.kind", "'sometimes'"),
        (failure_from_dict, {"kind": "rate"}, "failure.p", "required"),
        (failure_from_dict, {"kind": "first_attempts"}, "failure.n", "required"),
        (failure_from_dict, {"kind": "window", "start": 0}, "failure.end", "required"),
        (failure_from_dict, {"kind": "rate", "p": 0.1, "q": 2}, "failure", "'q'"),
        (failure_from_dict, {"kind": "never", "p": 0.1}, "failure", "'p'"),
        (failure_from_dict, {"kind": "rate", "p": 1.5}, "p", "1.5"),
        (failure_from_dict, {"kind": "rate", "p": -0.5}, "p", "-0.5"),
        (failure_from_dict, {"kind": "window", "start": 0, "end": 1, "rate": 2}, "rate", "2"),
        (failure_from_dict, {"kind": "window", "start": 10, "end": 5}, "end", "5"),
        (
            failure_from_dict,
            {"kind": "window", "start": "2026-01-01T10:00Z", "end": "2026-01-01T09:00Z"},
            "end",
            "2026-01-01T09:00Z",
        ),
        (failure_from_dict, {"kind": "window", "start": "noon", "end": 5}, "start", "'noon'"),
        (failure_from_dict, {"kind": "first_attempts", "n": 1.5}, "n", "1.5"),
        (failure_from_dict, {"kind": "any"}, "failure.of", "None"),
        (failure_from_dict, {"kind": "any", "of": {"kind": "never"}}, "failure.of", "never"),
        (failure_from_dict, {"kind": "any", "of": [{"kind": "rate"}]}, "failure.p", "required"),
        # behaviors
        (behavior_from_dict, ["duration"], "behavior", "['duration']"),
        (behavior_from_dict, {"speed": 2}, "behavior", "speed"),
        (behavior_from_dict, {"handler": "yes"}, "handler", "'yes'"),
        (behavior_from_dict, {"handler": 1}, "handler", "1"),
        (behavior_from_dict, {"error_type": ""}, "error_type", "''"),
        (behavior_from_dict, {"duration": {"kind": "gaussian"}}, "duration.kind", "'gaussian'"),
        (behavior_from_dict, {"failure": {"kind": "rate", "p": 2}}, "p", "2"),
        (behavior_from_dict, {"failure_duration": {"kind": "constant"}}, "duration.seconds", ""),
        (behaviors_from_dict, ["a"], "behaviors", "['a']"),
        (behaviors_from_dict, {"a": 5}, "a.behavior", "5"),
        (behaviors_from_dict, {"a": {"duration": {"kind": "x"}}}, "a.duration.kind", "'x'"),
    ],
)
def test_from_dict_errors_name_the_field(parse, data, field, shown):
    with pytest.raises(InvalidBehaviorError) as exc:
        parse(data)
    assert exc.value.field == field
    message = str(exc.value)
    assert field in message and shown in message, message


def test_when_cannot_come_from_dict():
    with pytest.raises(InvalidBehaviorError) as exc:
        failure_from_dict({"kind": "when", "predicate": "attempt < 2"})
    assert exc.value.field == "failure.kind"


# -- validation gaps (each asserts the documented contract) ---------------------------------


@pytest.mark.parametrize("samples", [5, None, 2.5])
def test_empirical_samples_not_a_list_names_samples(samples):
    # The error should say `samples` must be a list, not "unknown parameters".
    with pytest.raises(InvalidBehaviorError) as exc:
        duration_from_dict({"kind": "empirical", "samples": samples})
    assert exc.value.field == "samples"
    assert "unknown parameters" not in str(exc.value)


def test_any_rejects_unknown_parameters_like_other_kinds():
    with pytest.raises(InvalidBehaviorError) as exc:
        failure_from_dict({"kind": "any", "of": [{"kind": "never"}], "mode": "all"})
    assert "mode" in str(exc.value)


@pytest.mark.parametrize("bad", [1, "rate", constant(1)])
def test_any_of_rejects_what_is_not_a_failure_model(bad):
    with pytest.raises(InvalidBehaviorError):
        any_of(rate(0.1), bad)


@pytest.mark.parametrize("message", [5, None, ["x"]])
def test_error_message_must_be_a_string(message):
    with pytest.raises(InvalidBehaviorError) as exc:
        behavior_from_dict({"error_message": message})
    assert exc.value.field == "error_message"


@settings(max_examples=100, deadline=None)
@given(
    duration=durations,
    failure=failures,
    failure_duration=st.none() | durations,
    handler=st.booleans(),
    error_type=st.text(min_size=1, max_size=20),
    error_message=st.text(max_size=40),
)
def test_behavior_round_trip_property(
    duration, failure, failure_duration, handler, error_type, error_message
):
    b = Behavior(
        duration=duration,
        failure=failure,
        failure_duration=failure_duration,
        handler=handler,
        error_type=error_type,
        error_message=error_message,
    )
    assert behavior_from_dict(json_trip(b.to_dict())) == b
