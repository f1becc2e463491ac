"""The pytest plugin installing jobkit gives every test suite (entry point `pytest11`).

Fixtures:
    jobkit_clock     a FakeClock (2026-01-01 UTC, or the marker's `start`)
    jobkit_backend   a fresh backend on that clock: memory (default), fakeredis or redis,
                     chosen by --jobkit-backend / the `jobkit_backend` ini key / the marker;
                     Redis ones live under a prefix of their own, wiped after the test
    jobkit_registry  a fresh Registry, or the registry of the application's kit
    jobkit           a JobKit on those: a fresh one, or the application's own kit
                     (`jobkit_app = "myapp.jobs:kit"` in the ini file, or the marker's
                     `app`) pointed at the test's backend and clock for the test, so code
                     under test that enqueues through it — from any thread — is seen
    jobkit_worker    an inline Worker of that kit (run_once / run_until_idle)

Marker: `@pytest.mark.jobkit(backend="redis", start=datetime(...), app="pkg.mod:kit",
redis_url="redis://...")`. Helpers live in `jobkit.testing` (drain, perform,
assert_enqueued, ...). This module imports no pandas, ipywidgets, redis or hypothesis:
it loads in every downstream test run.
"""

from __future__ import annotations

import importlib
import os
import random
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from jobkit.clock import FAKE_EPOCH, FakeClock
from jobkit.core.errors import JobkitError
from jobkit.kit import JobKit, connect
from jobkit.ports import JobBackend
from jobkit.registry import Registry
from jobkit.worker import Worker

BACKENDS = ("memory", "fakeredis", "redis")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_MARKER_KEYS = frozenset({"backend", "start", "app", "redis_url"})


def pytest_addoption(parser: pytest.Parser) -> None:
    """The jobkit options, in a group of their own."""
    group = parser.getgroup("jobkit", "jobkit (background jobs) test fixtures")
    group.addoption(
        "--jobkit-backend",
        choices=BACKENDS,
        default=None,
        help="backend of the jobkit fixtures: memory (default), fakeredis or redis",
    )
    group.addoption(
        "--jobkit-redis-url",
        default=None,
        metavar="URL",
        help=f"Redis for --jobkit-backend redis (default $JOBKIT_REDIS_URL or {DEFAULT_REDIS_URL})",
    )
    parser.addini("jobkit_backend", "default backend of the jobkit fixtures", default="memory")
    parser.addini("jobkit_redis_url", "Redis URL for the redis backend", default="")
    parser.addini(
        "jobkit_app",
        "module:attribute of the application's JobKit; the `jobkit` fixture points it at "
        "each test's backend and clock",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the `jobkit` marker."""
    config.addinivalue_line(
        "markers",
        "jobkit(backend=None, start=None, app=None, redis_url=None): jobkit fixture "
        "settings for one test (backend: memory|fakeredis|redis; start: the FakeClock's "
        "aware datetime; app: 'module:attr' of the application's JobKit)",
    )


def _setting(request: pytest.FixtureRequest, key: str) -> Any:
    """A marker value for this test, or None."""
    marker = request.node.get_closest_marker("jobkit")
    if marker is None:
        return None
    if marker.args:
        pytest.fail(f"@pytest.mark.jobkit takes keyword arguments only ({sorted(_MARKER_KEYS)})")
    unknown = set(marker.kwargs) - _MARKER_KEYS
    if unknown:
        pytest.fail(
            f"@pytest.mark.jobkit got unknown {sorted(unknown)}; it takes {sorted(_MARKER_KEYS)}"
        )
    return marker.kwargs.get(key)


@pytest.fixture
def jobkit_clock(request: pytest.FixtureRequest) -> FakeClock:
    """A FakeClock at 2026-01-01T00:00:00Z, or at the marker's `start`."""
    start = _setting(request, "start")
    if start is None:
        return FakeClock(FAKE_EPOCH)
    if not isinstance(start, datetime) or start.tzinfo is None:
        pytest.fail(f"@pytest.mark.jobkit(start={start!r}) must be a timezone-aware datetime")
    return FakeClock(start)


@pytest.fixture
def jobkit_backend(request: pytest.FixtureRequest, jobkit_clock: FakeClock) -> Iterator[JobBackend]:
    """A fresh backend on `jobkit_clock`; Redis ones under a private prefix, wiped after."""
    config = request.config
    name = (
        _setting(request, "backend")
        or config.getoption("--jobkit-backend")
        or config.getini("jobkit_backend")
        or "memory"
    )
    if name not in BACKENDS:
        pytest.fail(f"jobkit backend {name!r} is not one of {', '.join(BACKENDS)}")
    if name == "memory":
        yield connect("memory://", clock=jobkit_clock).backend
        return
    prefix = f"jobkit-test-{uuid.uuid4().hex[:12]}"
    url = "fakeredis://" if name == "fakeredis" else _redis_url(request)
    try:
        backend = connect(url, clock=jobkit_clock, prefix=prefix).backend
        backend.queues()  # one round trip: fail here, clearly, if the server is not there
    except ImportError as exc:
        pytest.fail(f"jobkit backend {name!r} needs `pip install jobkit[dev]` ({exc})")
    except JobkitError:
        raise
    except Exception as exc:  # redis-py's connection errors
        pytest.fail(
            f"jobkit backend {name!r}: cannot reach Redis ({type(exc).__name__}: {exc}); "
            "start redis-server or set --jobkit-redis-url"
        )
    try:
        yield backend
    finally:
        try:
            backend.clear()
        finally:
            backend.close()


def _redis_url(request: pytest.FixtureRequest) -> str:
    return str(
        _setting(request, "redis_url")
        or request.config.getoption("--jobkit-redis-url")
        or request.config.getini("jobkit_redis_url")
        or os.environ.get("JOBKIT_REDIS_URL")
        or DEFAULT_REDIS_URL
    )


def _app_kit(request: pytest.FixtureRequest) -> JobKit | None:
    """The application's JobKit named by the marker's `app` or the `jobkit_app` ini key."""
    target = _setting(request, "app") or request.config.getini("jobkit_app")
    if not target:
        return None
    if isinstance(target, JobKit):
        return target
    module_name, _, attr = str(target).partition(":")
    if not module_name or not attr:
        pytest.fail(f"jobkit app {target!r} must be 'module:attribute', e.g. 'myapp.jobs:kit'")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"jobkit app {target!r} cannot be loaded: {exc}")
    if not isinstance(found, JobKit):
        pytest.fail(f"jobkit app {target!r} is a {type(found).__name__}, not a JobKit")
    return found


@pytest.fixture
def jobkit_registry(request: pytest.FixtureRequest) -> Registry:
    """The application kit's registry (see `jobkit_app`), or a fresh one."""
    app = _app_kit(request)
    return app.registry if app is not None else Registry()


@pytest.fixture
def jobkit(
    request: pytest.FixtureRequest,
    jobkit_backend: JobBackend,
    jobkit_registry: Registry,
    jobkit_clock: FakeClock,
) -> Iterator[JobKit]:
    """A JobKit on the test's backend, registry and FakeClock (retry jitter seeded).

    With `jobkit_app` set, it is the application's own kit, pointed at the test's backend
    and clock until the test ends."""
    app = _app_kit(request)
    if app is None:
        yield JobKit(
            jobkit_backend, registry=jobkit_registry, clock=jobkit_clock, rng=random.Random(0)
        )
        return
    with app.using(jobkit_backend, clock=jobkit_clock):
        yield app


@pytest.fixture
def jobkit_worker(jobkit: JobKit) -> Worker:
    """An inline Worker of the `jobkit` fixture (call run_once / run_until_idle)."""
    return jobkit.worker(worker_id="jobkit-test-worker")
