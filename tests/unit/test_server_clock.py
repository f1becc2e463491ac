"""Unit tests for ServerClock: the Redis server's time, estimated on the client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.adapters.redis import server_clock
from jobkit.adapters.redis.server_clock import ServerClock
from jobkit.ports import Clock

SERVER = datetime(2026, 12, 1, 5, 20, 0, 123456, tzinfo=UTC)


class FakeServer:
    """Answers TIME like redis-py's `Redis.time()`: (seconds, microseconds)."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.calls = 0

    def time(self) -> tuple[int, int]:
        self.calls += 1
        seconds = int(self.at.timestamp())
        return seconds, self.at.microsecond


class Monotonic:
    """A host monotonic clock the test moves by hand; each read can advance it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start
        self.step = 0.0

    def __call__(self) -> float:
        value = self.value
        self.value += self.step
        return value


@pytest.fixture()
def mono(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    fake = Monotonic()
    monkeypatch.setattr(server_clock.time, "monotonic", fake)
    return fake


def test_now_is_the_server_time_plus_host_time_elapsed(mono: Monotonic) -> None:
    clock = ServerClock(FakeServer(SERVER))
    assert clock.now() == SERVER
    mono.value += 2.5
    assert clock.now() == SERVER + timedelta(seconds=2.5)
    mono.value += 0.000001
    assert clock.now() == SERVER + timedelta(seconds=2.5, microseconds=1)


def test_now_is_utc_aware_and_a_clock(mono: Monotonic) -> None:
    clock = ServerClock(FakeServer(SERVER))
    now = clock.now()
    assert now.tzinfo is UTC
    assert isinstance(clock, Clock)


def test_the_server_reading_is_placed_midway_through_its_round_trip(mono: Monotonic) -> None:
    mono.step = 0.1  # sent at 1000.0, answered at 1000.1, now() reads 1000.2
    clock = ServerClock(FakeServer(SERVER))
    assert clock.now() == SERVER + timedelta(seconds=0.15)


def test_time_is_asked_again_only_after_resync_seconds(mono: Monotonic) -> None:
    server = FakeServer(SERVER)
    clock = ServerClock(server, resync=30.0)
    clock.now()
    mono.value += 29.9
    clock.now()
    assert server.calls == 1
    server.at = SERVER + timedelta(seconds=31)  # the server's clock ran 1.1 s ahead of ours
    mono.value += 0.1
    assert clock.now() == server.at
    assert server.calls == 2


@settings(max_examples=300, deadline=None)
@given(
    server=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    elapsed=st.floats(min_value=0.0, max_value=30.0),
)
def test_now_is_within_a_microsecond_of_server_time_plus_elapsed(
    server: datetime, elapsed: float
) -> None:
    """The offset is kept as a float timestamp; it must not drift from exact datetime
    arithmetic by more than the clock's resolution."""
    fake = Monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server_clock.time, "monotonic", fake)
        clock = ServerClock(FakeServer(server), resync=3600.0)
        clock.now()
        fake.value += elapsed
        exact = server + timedelta(seconds=elapsed)
        assert abs(clock.now() - exact) <= timedelta(microseconds=1)
