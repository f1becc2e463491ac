"""Retry policies: how long a failed job waits before its next attempt.

Pure: jitter draws only from a `random.Random` the caller passes in.

The default is the seed's schedule: attempt 1 runs at once; a failure waits 30 s
before attempt 2, then 5 min before attempt 3, then 1 h before attempt 4; a job that
fails `max_retries` (3) retries is dead (in the dead-letter queue).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from jobkit.core.errors import InvalidPolicyError

Strategy = Literal["schedule", "exponential", "linear", "constant"]
STRATEGIES: tuple[Strategy, ...] = ("schedule", "exponential", "linear", "constant")

#: The seed's retry delays in seconds: 30 s, 5 min, 1 h.
SEED_SCHEDULE: tuple[float, ...] = (30.0, 300.0, 3600.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When each retry of a failed job runs.

    Build one with `default()`, `schedule()`, `exponential()`, `linear()` or
    `constant()`. `delay(n)` is the wait before retry number n (n=1 is attempt 2).
    Jitter spreads each delay uniformly over `delay * (1 ± jitter)` and is drawn
    only from the `random.Random` passed to `delay`; with none, the nominal delay is
    returned, so results are reproducible.
    """

    strategy: Strategy
    delays: tuple[float, ...] = ()  #: for "schedule": seconds per retry, the last repeats
    initial: float = 0.0  #: first delay for exponential/linear/constant, seconds
    factor: float = 2.0  #: growth per retry for exponential
    max_delay: float | None = None  #: cap, seconds (applied after jitter)
    jitter: float = 0.0  #: 0..1, fraction of the delay to spread over

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidPolicyError("strategy", self.strategy, f"must be one of {STRATEGIES}")
        if self.strategy == "schedule":
            if not self.delays:
                raise InvalidPolicyError("delays", self.delays, "must hold at least one delay")
            for d in self.delays:
                _check_seconds("delays", d)
        else:
            _check_seconds("initial", self.initial)
        if self.strategy == "exponential" and not (
            _is_number(self.factor) and math.isfinite(self.factor) and self.factor >= 1
        ):
            raise InvalidPolicyError("factor", self.factor, "must be a finite number >= 1")
        if self.max_delay is not None:
            _check_seconds("max_delay", self.max_delay)
        if not (_is_number(self.jitter) and 0 <= self.jitter <= 1):
            raise InvalidPolicyError("jitter", self.jitter, "must be a number from 0 to 1")

    # -- constructors -------------------------------------------------------------

    @classmethod
    def default(cls) -> RetryPolicy:
        """The seed's schedule: 30 s, 5 min, 1 h (then the last delay repeats)."""
        return cls("schedule", delays=SEED_SCHEDULE)

    @classmethod
    def schedule(cls, delays: Sequence[float | timedelta], *, jitter: float = 0.0) -> RetryPolicy:
        """Explicit delays per retry; retries past the list reuse its last delay."""
        return cls("schedule", delays=tuple(_seconds(d) for d in delays), jitter=jitter)

    @classmethod
    def exponential(
        cls,
        initial: float | timedelta,
        factor: float = 2.0,
        max_delay: float | timedelta | None = None,
        jitter: float = 0.0,
    ) -> RetryPolicy:
        """Delay `initial * factor ** (n - 1)` for retry n, capped at `max_delay`."""
        return cls(
            "exponential",
            initial=_seconds(initial),
            factor=factor,
            max_delay=None if max_delay is None else _seconds(max_delay),
            jitter=jitter,
        )

    @classmethod
    def linear(
        cls,
        step: float | timedelta,
        max_delay: float | timedelta | None = None,
        jitter: float = 0.0,
    ) -> RetryPolicy:
        """Delay `step * n` for retry n, capped at `max_delay`."""
        return cls(
            "linear",
            initial=_seconds(step),
            max_delay=None if max_delay is None else _seconds(max_delay),
            jitter=jitter,
        )

    @classmethod
    def constant(cls, delay: float | timedelta, jitter: float = 0.0) -> RetryPolicy:
        """The same delay before every retry."""
        return cls("constant", initial=_seconds(delay), jitter=jitter)

    # -- queries ------------------------------------------------------------------

    def nominal_seconds(self, retry_number: int) -> float:
        """The delay before retry `retry_number` (1-based) in seconds, without jitter."""
        if isinstance(retry_number, bool) or not isinstance(retry_number, int) or retry_number < 1:
            raise InvalidPolicyError("retry_number", retry_number, "must be an int >= 1")
        if self.strategy == "schedule":
            base = self.delays[min(retry_number, len(self.delays)) - 1]
        elif self.strategy == "exponential":
            base = _exp(self.initial, self.factor, retry_number - 1, self.max_delay)
        elif self.strategy == "linear":
            base = self.initial * retry_number
        else:
            base = self.initial
        return _cap(base, self.max_delay)

    def delay(self, retry_number: int, rng: random.Random | None = None) -> timedelta:
        """The wait before retry `retry_number` (1-based), jittered with `rng` if given."""
        seconds = self.nominal_seconds(retry_number)
        if self.jitter and rng is not None:
            seconds = _cap(seconds * rng.uniform(1 - self.jitter, 1 + self.jitter), self.max_delay)
        return timedelta(seconds=seconds)

    def timeline(self, max_retries: int = 3) -> list[timedelta]:
        """Offsets from the first start at which each attempt runs, if every attempt fails
        instantly: `[0, d1, d1 + d2, ...]`, `max_retries + 1` entries, no jitter."""
        offsets = [timedelta(0)]
        for n in range(1, max_retries + 1):
            offsets.append(offsets[-1] + timedelta(seconds=self.nominal_seconds(n)))
        return offsets

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description; `RetryPolicy.from_dict` reverses it."""
        return {
            "strategy": self.strategy,
            "delays": list(self.delays),
            "initial": self.initial,
            "factor": self.factor,
            "max_delay": self.max_delay,
            "jitter": self.jitter,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryPolicy:
        """Rebuild a policy from `to_dict` output."""
        return cls(
            data["strategy"],
            delays=tuple(data.get("delays", ())),
            initial=data.get("initial", 0.0),
            factor=data.get("factor", 2.0),
            max_delay=data.get("max_delay"),
            jitter=data.get("jitter", 0.0),
        )


#: Largest delay jobkit computes (about 31 years): keeps datetime arithmetic finite.
MAX_SECONDS = 1e9


def _exp(initial: float, factor: float, power: int, cap: float | None) -> float:
    if initial == 0:
        return 0.0  # 0 * factor**n is 0 even where factor**n overflows
    try:
        # float power: overflows at once instead of building a huge int for int factors
        value = initial * float(factor) ** power
    except OverflowError:
        value = math.inf
    return min(value, MAX_SECONDS) if cap is None else min(value, cap)


def _cap(seconds: float, cap: float | None) -> float:
    seconds = min(seconds, MAX_SECONDS)
    return seconds if cap is None else min(seconds, cap)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_seconds(name: str, value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not (math.isfinite(value) and 0 <= value <= MAX_SECONDS)
    ):
        raise InvalidPolicyError(
            name, value, f"must be a number of seconds from 0 to {MAX_SECONDS:g}"
        )


def _seconds(value: float | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value
