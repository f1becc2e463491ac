"""Fixtures for the backend contract suite (tests/adapters).

Every test here runs once per entry of `BACKENDS`: a name -> factory registry where
each factory takes a `FakeClock` and returns a fresh, empty `JobBackend` that reads
its time from that clock and keeps the default `max_reclaims` (3). A new backend
(fakeredis, redis) joins the suite by adding one entry here; the tests only use the
public port API (`jobkit.ports`), never a backend's private attributes.

The registry itself lives in `tests/adapters/backends.py`, so `test_stateful.py`
can build one state machine per backend without importing fixtures.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from jobkit.clock import FakeClock
from jobkit.core.model import Job, build_job
from jobkit.ports import JobBackend
from tests.adapters.backends import BACKENDS, BackendFactory, dispose


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 2026-01-01T00:00:00Z; the backend under test reads it."""
    return FakeClock()


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test (one run of each test per backend)."""
    return str(request.param)


@pytest.fixture
def backend_factory(backend_name: str) -> Iterator[BackendFactory]:
    """A factory for fresh backends of the kind under test; all are disposed at teardown.

    For Hypothesis tests that need a new backend per example (function-scoped
    fixtures are shared across examples)."""
    factory = BACKENDS[backend_name]
    made: list[JobBackend] = []

    def make(clock: FakeClock, **options: Any) -> JobBackend:
        backend = factory(clock, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        dispose(backend)


@pytest.fixture
def backend(backend_factory: BackendFactory, clock: FakeClock) -> JobBackend:
    """A fresh, empty backend of the kind under test, on `clock`."""
    return backend_factory(clock)


class JobMaker:
    """Builds valid new jobs with explicit ids (`j1`, `j2`, ...) at `clock.now()`.

    `make(priority="high", delay=30)` gives a job scheduled 30 s from now; any
    `build_job` keyword can be passed. Each call advances the clock by `step`
    (1 ms by default) first, so `created_at` strictly increases with creation order.
    """

    def __init__(self, clock: FakeClock, step: timedelta = timedelta(milliseconds=1)) -> None:
        self.clock = clock
        self.step = step
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return f"j{next(self._ids)}"

    def __call__(
        self,
        job_type: str = "task",
        args: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        **options: Any,
    ) -> Job:
        if self.step:
            self.clock.advance(self.step)
        now = self.clock.now()
        if delay is not None:
            run_at = now + (delay if isinstance(delay, timedelta) else timedelta(seconds=delay))
        return build_job(
            job_type,
            args if args is not None else {},
            id=id or self.next_id(),
            now=now,
            run_at=run_at,
            **options,
        )


@pytest.fixture
def make_job(clock: FakeClock) -> JobMaker:
    """Build jobs: `make_job("email", {"to": "a"}, priority="high", delay=30, id="x")`."""
    return JobMaker(clock)
