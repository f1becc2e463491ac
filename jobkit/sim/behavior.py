"""How simulated handlers behave: how long an attempt takes and whether it fails.

A `Behavior` pairs a duration distribution with a failure model:

    Behavior(duration=lognormal(median=0.4, sigma=0.6),
             failure=any_of(rate(0.02), window("2026-01-01T10:00Z", "2026-01-01T10:20Z")))

Durations: `constant`, `exponential`, `lognormal`, `uniform`, `empirical`.
Failures: `never`, `rate`, `first_attempts`, `window`, `when` (a function of the
args and the attempt number), `any_of`. Every draw comes from the `random.Random`
the simulator passes in, so a seed reproduces a run exactly. All but `when` are plain
data: `to_dict()` / `behavior_from_dict()` round-trip them through JSON, which is
how a workload file declares the behaviors it was written for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from jobkit.core.errors import InvalidBehaviorError, InvalidJobError
from jobkit.core.model import require_aware


class Duration(Protocol):
    """A distribution of attempt durations, in seconds."""

    def sample(self, rng: random.Random) -> float:
        """One duration (>= 0 seconds) drawn from `rng`."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, readable by `duration_from_dict`."""
        ...


class FailureModel(Protocol):
    """Decides whether one attempt fails."""

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """Whether the attempt described by `attempt` fails; draws only from `rng`."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, readable by `failure_from_dict`."""
        ...


class AttemptInfo:
    """What a failure model may look at: the job's args, the attempt number (1 is the
    first run), the virtual time and the seconds since the simulation started.

    The simulator refills one instance for every attempt: read it, do not keep it."""

    __slots__ = ("args", "attempt", "elapsed", "now")

    def __init__(
        self, args: Mapping[str, Any], attempt: int, now: datetime, elapsed: float
    ) -> None:
        self.args = args
        self.attempt = attempt
        self.now = now
        self.elapsed = elapsed

    def __repr__(self) -> str:
        return (
            f"AttemptInfo(attempt={self.attempt}, now={self.now.isoformat()}, args={self.args!r})"
        )


def _seconds(name: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidBehaviorError(name, value, "must be a finite number of seconds")
    if value < 0 or (positive and value == 0):
        raise InvalidBehaviorError(name, value, "must be > 0" if positive else "must be >= 0")
    return float(value)


def _probability(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise InvalidBehaviorError(name, value, "must be a probability between 0 and 1")
    return float(value)


# -- durations ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constant:
    """Every attempt takes exactly `seconds`."""

    seconds: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", _seconds("seconds", self.seconds))

    def sample(self, rng: random.Random) -> float:
        """`seconds`; draws nothing."""
        return self.seconds

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "constant", "seconds": ...}"""
        return {"kind": "constant", "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class Exponential:
    """Memoryless durations with the given `mean` (the M in M/M/c)."""

    mean: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _seconds("mean", self.mean, positive=True))

    def sample(self, rng: random.Random) -> float:
        """One exponential draw."""
        return rng.expovariate(1.0 / self.mean)

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "exponential", "mean": ...}"""
        return {"kind": "exponential", "mean": self.mean}


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Right-skewed durations, typical of calls to other services: half the attempts
    take less than `median`; `sigma` (of the log) sets the tail (p95 = median * e^(1.645 sigma))."""

    median: float
    sigma: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "median", _seconds("median", self.median, positive=True))
        object.__setattr__(self, "sigma", _seconds("sigma", self.sigma))

    def sample(self, rng: random.Random) -> float:
        """One lognormal draw."""
        return rng.lognormvariate(math.log(self.median), self.sigma)

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "lognormal", "median": ..., "sigma": ...}"""
        return {"kind": "lognormal", "median": self.median, "sigma": self.sigma}


@dataclass(frozen=True, slots=True)
class Uniform:
    """Durations spread evenly between `low` and `high` seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = _seconds("low", self.low), _seconds("high", self.high)
        if high < low:
            raise InvalidBehaviorError("high", self.high, f"must be >= low={low}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: random.Random) -> float:
        """One uniform draw."""
        return rng.uniform(self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "uniform", "low": ..., "high": ...}"""
        return {"kind": "uniform", "low": self.low, "high": self.high}


@dataclass(frozen=True, slots=True)
class Empirical:
    """Durations resampled from measured `samples` (e.g. production timings)."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if isinstance(self.samples, str | bytes) or not isinstance(self.samples, Sequence):
            raise InvalidBehaviorError("samples", self.samples, "must be a list of seconds")
        if not self.samples:
            raise InvalidBehaviorError("samples", [], "must hold at least one duration")
        values = tuple(_seconds(f"samples[{i}]", s) for i, s in enumerate(self.samples))
        object.__setattr__(self, "samples", values)

    def sample(self, rng: random.Random) -> float:
        """One of the samples, each equally likely."""
        return self.samples[int(rng.random() * len(self.samples))]

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "empirical", "samples": [...]}"""
        return {"kind": "empirical", "samples": list(self.samples)}


def constant(seconds: float) -> Constant:
    """Every attempt takes `seconds`."""
    return Constant(seconds)


def exponential(mean: float) -> Exponential:
    """Exponentially distributed durations with this mean (seconds)."""
    return Exponential(mean)


def lognormal(median: float, sigma: float = 0.5) -> LogNormal:
    """Lognormal durations with this median (seconds) and log-spread `sigma`."""
    return LogNormal(median, sigma)


def uniform(low: float, high: float) -> Uniform:
    """Durations uniform between `low` and `high` seconds."""
    return Uniform(low, high)


def empirical(samples: Sequence[float]) -> Empirical:
    """Durations drawn from measured samples (seconds)."""
    return Empirical(tuple(samples))


# -- failure models ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Never:
    """No attempt fails."""

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """False; draws nothing."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "never"}"""
        return {"kind": "never"}


@dataclass(frozen=True, slots=True)
class Rate:
    """Each attempt fails independently with probability `p`."""

    p: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "p", _probability("p", self.p))

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """One draw: fails with probability p."""
        return rng.random() < self.p

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "rate", "p": ...}"""
        return {"kind": "rate", "p": self.p}


@dataclass(frozen=True, slots=True)
class FirstAttempts:
    """The first `n` attempts of every job fail (a flaky start), later ones succeed."""

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise InvalidBehaviorError("n", self.n, "must be an int >= 0")

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """Whether this is one of the first n attempts; draws nothing."""
        return attempt.attempt <= self.n

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "first_attempts", "n": ...}"""
        return {"kind": "first_attempts", "n": self.n}


@dataclass(frozen=True, slots=True)
class Window:
    """Attempts that start inside [start, end) fail with probability `rate` (1 = a
    full outage): "the mail provider is down from 10:00 to 10:20".

    `start` and `end` are timezone-aware datetimes (or ISO 8601 strings), or seconds
    since the simulation started."""

    start: datetime | float
    end: datetime | float
    rate: float = 1.0

    def __post_init__(self) -> None:
        start, end = _instant("start", self.start), _instant("end", self.end)
        if type(start) is not type(end):
            raise InvalidBehaviorError(
                "end", self.end, "must be the same kind as start (both datetimes or both seconds)"
            )
        if end <= start:  # type: ignore[operator]
            raise InvalidBehaviorError("end", self.end, f"must be after start={self.start!r}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "rate", _probability("rate", self.rate))

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """Inside the window: one draw (none when rate is 1); outside: False."""
        at: datetime | float = attempt.now if isinstance(self.start, datetime) else attempt.elapsed
        if not (self.start <= at < self.end):  # type: ignore[operator]
            return False
        return self.rate >= 1.0 or rng.random() < self.rate

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "window", "start": ..., "end": ..., "rate": ...}"""
        return {
            "kind": "window",
            "start": _instant_out(self.start),
            "end": _instant_out(self.end),
            "rate": self.rate,
        }


@dataclass(frozen=True, slots=True)
class When:
    """Fails when `predicate(args, attempt)` is true (attempt 1 is the first run)."""

    predicate: Callable[[Mapping[str, Any], int], bool]

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """`predicate(args, attempt)`; draws nothing."""
        return bool(self.predicate(attempt.args, attempt.attempt))

    def to_dict(self) -> dict[str, Any]:
        """A function has no JSON form: raises InvalidBehaviorError."""
        raise InvalidBehaviorError(
            "failure", self.predicate, "a when() predicate cannot be written to JSON"
        )


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Fails when any of `models` fails (each is asked, in order, until one fails)."""

    models: tuple[FailureModel, ...]

    def __post_init__(self) -> None:
        for n, model in enumerate(self.models):
            if not callable(getattr(model, "fails", None)):
                raise InvalidBehaviorError(
                    f"of[{n}]", model, "must be a failure model such as rate(0.1)"
                )

    def fails(self, rng: random.Random, attempt: AttemptInfo) -> bool:
        """Whether one of the models fails this attempt."""
        return any(m.fails(rng, attempt) for m in self.models)

    def to_dict(self) -> dict[str, Any]:
        """{"kind": "any", "of": [...]}"""
        return {"kind": "any", "of": [m.to_dict() for m in self.models]}


def never() -> Never:
    """No failures."""
    return Never()


def rate(p: float) -> Rate:
    """Each attempt fails with probability p."""
    return Rate(p)


def first_attempts(n: int) -> FirstAttempts:
    """The first n attempts of each job fail."""
    return FirstAttempts(n)


def window(start: datetime | str | float, end: datetime | str | float, rate: float = 1.0) -> Window:
    """Attempts starting in [start, end) fail with probability `rate` (an outage)."""
    return Window(start, end, rate)  # type: ignore[arg-type]


def when(predicate: Callable[[Mapping[str, Any], int], bool]) -> When:
    """Fails when predicate(args, attempt) is true."""
    if not callable(predicate):
        raise InvalidBehaviorError("predicate", predicate, "must be callable(args, attempt)")
    return When(predicate)


def any_of(*models: FailureModel) -> AnyOf:
    """Fails when any of the models fails."""
    return AnyOf(tuple(models))


def _instant(name: str, value: object) -> datetime | float:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidBehaviorError(
                name, value, "must be an ISO 8601 time with a zone, e.g. 2026-01-01T10:00:00Z"
            ) from None
    if isinstance(value, datetime):
        try:
            return require_aware(name, value)
        except InvalidJobError as exc:
            raise InvalidBehaviorError(name, value, "must be timezone-aware") from exc
    return _seconds(name, value)


def _instant_out(value: datetime | float) -> str | float:
    return value.isoformat() if isinstance(value, datetime) else value


# -- behavior ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Behavior:
    """How one job type behaves in a simulation.

    Args:
        duration: how long each attempt takes (default: 1 second).
        failure: which attempts fail (default: none).
        failure_duration: how long a failing attempt takes, when that differs (a call
            that times out after 10 s: `constant(10)`); None: the same as `duration`.
        handler: also call the registered handler for each attempt that the failure
            model lets through; its result, exception or `Failure` is the outcome.
        error_type / error_message: what a simulated failure records.
    """

    duration: Duration = field(default_factory=lambda: Constant(1.0))
    failure: FailureModel = field(default_factory=Never)
    failure_duration: Duration | None = None
    handler: bool = False
    error_type: str = "SimulatedFailure"
    error_message: str = "simulated failure"

    def __post_init__(self) -> None:
        if not callable(getattr(self.duration, "sample", None)):
            raise InvalidBehaviorError(
                "duration", self.duration, "must be a duration such as constant(1.0)"
            )
        if self.failure_duration is not None and not callable(
            getattr(self.failure_duration, "sample", None)
        ):
            raise InvalidBehaviorError(
                "failure_duration", self.failure_duration, "must be a duration such as constant(10)"
            )
        if not callable(getattr(self.failure, "fails", None)):
            raise InvalidBehaviorError(
                "failure", self.failure, "must be a failure model such as rate(0.1)"
            )
        if not isinstance(self.error_type, str) or not self.error_type:
            raise InvalidBehaviorError("error_type", self.error_type, "must be a non-empty string")
        if not isinstance(self.error_message, str):
            raise InvalidBehaviorError("error_message", self.error_message, "must be a string")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, readable by `behavior_from_dict`."""
        out: dict[str, Any] = {
            "duration": self.duration.to_dict(),
            "failure": self.failure.to_dict(),
        }
        if self.failure_duration is not None:
            out["failure_duration"] = self.failure_duration.to_dict()
        if self.handler:
            out["handler"] = True
        if self.error_type != "SimulatedFailure":
            out["error_type"] = self.error_type
        if self.error_message != "simulated failure":
            out["error_message"] = self.error_message
        return out


_DURATIONS: dict[str, tuple[Callable[..., Duration], tuple[str, ...]]] = {
    "constant": (Constant, ("seconds",)),
    "exponential": (Exponential, ("mean",)),
    "lognormal": (LogNormal, ("median", "sigma")),
    "uniform": (Uniform, ("low", "high")),
    "empirical": (Empirical, ("samples",)),
}
_FAILURES: dict[str, tuple[Callable[..., FailureModel], tuple[str, ...]]] = {
    "never": (Never, ()),
    "rate": (Rate, ("p",)),
    "first_attempts": (FirstAttempts, ("n",)),
    "window": (Window, ("start", "end")),
}


def _from_table(
    what: str, data: object, table: Mapping[str, tuple[Callable[..., Any], tuple[str, ...]]]
) -> Any:
    if not isinstance(data, Mapping) or "kind" not in data:
        raise InvalidBehaviorError(what, data, f'must be an object with a "kind": {sorted(table)}')
    kind = data["kind"]
    if kind not in table:
        raise InvalidBehaviorError(f"{what}.kind", kind, f"must be one of {sorted(table)}")
    make, required = table[kind]
    params = {k: v for k, v in data.items() if k != "kind"}
    missing = [k for k in required if k not in params]
    if missing:
        raise InvalidBehaviorError(f"{what}.{missing[0]}", None, f"is required for kind {kind!r}")
    try:
        return make(**params)
    except TypeError:
        raise InvalidBehaviorError(
            what, data, f"unknown parameters for kind {kind!r}; it takes {', '.join(required)}"
        ) from None


def duration_from_dict(data: object) -> Duration:
    """A duration from its JSON form, e.g. {"kind": "exponential", "mean": 2}."""
    result: Duration = _from_table("duration", data, _DURATIONS)
    return result


def failure_from_dict(data: object) -> FailureModel:
    """A failure model from its JSON form, e.g. {"kind": "rate", "p": 0.1}."""
    if isinstance(data, Mapping) and data.get("kind") == "any":
        unknown = data.keys() - {"kind", "of"}
        if unknown:
            raise InvalidBehaviorError(
                "failure",
                dict(data),
                f"unknown parameters {sorted(unknown)} for kind 'any'; it takes of",
            )
        models = data.get("of")
        if not isinstance(models, list):
            raise InvalidBehaviorError("failure.of", models, "must be a list of failure models")
        return AnyOf(tuple(failure_from_dict(m) for m in models))
    result: FailureModel = _from_table("failure", data, _FAILURES)
    return result


_BEHAVIOR_KEYS = frozenset(
    {"duration", "failure", "failure_duration", "handler", "error_type", "error_message"}
)


def behavior_from_dict(data: object) -> Behavior:
    """A Behavior from its JSON form (see `Behavior.to_dict`); missing parts default."""
    if not isinstance(data, Mapping):
        raise InvalidBehaviorError("behavior", data, "must be an object")
    unknown = data.keys() - _BEHAVIOR_KEYS
    if unknown:
        raise InvalidBehaviorError(
            "behavior",
            sorted(unknown),
            f"unknown keys; allowed: {', '.join(sorted(_BEHAVIOR_KEYS))}",
        )
    options: dict[str, Any] = {}
    if "duration" in data:
        options["duration"] = duration_from_dict(data["duration"])
    if "failure" in data:
        options["failure"] = failure_from_dict(data["failure"])
    if data.get("failure_duration") is not None:
        options["failure_duration"] = duration_from_dict(data["failure_duration"])
    for key in ("handler", "error_type", "error_message"):
        if key in data:
            options[key] = data[key]
    if not isinstance(options.get("handler", False), bool):
        raise InvalidBehaviorError("handler", options["handler"], "must be true or false")
    return Behavior(**options)


def behaviors_from_dict(data: object) -> dict[str, Behavior]:
    """{job_type: Behavior} from {job_type: behavior JSON}."""
    if not isinstance(data, Mapping):
        raise InvalidBehaviorError("behaviors", data, "must be an object keyed by job type")
    out = {}
    for job_type, spec in data.items():
        try:
            out[str(job_type)] = behavior_from_dict(spec)
        except InvalidBehaviorError as exc:
            raise InvalidBehaviorError(f"{job_type}.{exc.field}", exc.value, exc.expected) from None
    return out
