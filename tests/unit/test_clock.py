"""Unit tests for jobkit.clock: FakeClock and SystemClock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobkit.clock import FAKE_EPOCH, FakeClock, SystemClock
from jobkit.ports import Clock

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_fake_clock_default_start():
    clock = FakeClock()
    assert clock.now() == START == FAKE_EPOCH
    assert clock.now().utcoffset() == timedelta(0)


def test_fake_clock_stands_still():
    clock = FakeClock()
    first = clock.now()
    time.sleep(0.002)
    assert clock.now() == first


def test_fake_clock_custom_start_is_normalised_to_utc():
    start = datetime(2030, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    clock = FakeClock(start)
    assert clock.now() == datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01T00:00:00+00:00", 0, None])
def test_fake_clock_rejects_naive_or_non_datetime_start(bad):
    with pytest.raises(ValueError, match="start"):
        FakeClock(bad)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (30, START + timedelta(seconds=30)),
        (0.25, START + timedelta(milliseconds=250)),
        (0, START),
        (timedelta(minutes=5), START + timedelta(minutes=5)),
        (timedelta(days=2, microseconds=1), START + timedelta(days=2, microseconds=1)),
        (3600 * 24 * 365, datetime(2027, 1, 1, tzinfo=UTC)),  # 2026 is not a leap year
    ],
)
def test_advance(delta, expected):
    clock = FakeClock()
    assert clock.advance(delta) == expected
    assert clock.now() == expected


def test_advance_accumulates():
    clock = FakeClock()
    clock.advance(30)
    clock.advance(timedelta(minutes=5))
    clock.advance(0.5)
    assert clock.now() == START + timedelta(minutes=5, seconds=30.5)


@pytest.mark.parametrize("delta", [-1, -0.001, timedelta(seconds=-1), timedelta(microseconds=-1)])
def test_negative_advance_raises_and_does_not_move(delta):
    clock = FakeClock()
    clock.advance(10)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(delta)
    assert clock.now() == START + timedelta(seconds=10)


def test_set_moves_forwards_and_backwards():
    clock = FakeClock()
    later = datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert clock.set(later) == later
    assert clock.now() == later
    assert clock.set(START) == START
    assert clock.now() == START


def test_set_normalises_to_utc():
    clock = FakeClock()
    when = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    clock.set(when)
    assert clock.now() == START
    assert clock.now().tzinfo == UTC


@pytest.mark.parametrize("bad", [datetime(2026, 1, 2), "tomorrow", None])
def test_set_rejects_naive_or_non_datetime(bad):
    clock = FakeClock()
    with pytest.raises(ValueError, match="when"):
        clock.set(bad)
    assert clock.now() == START


def test_sleep_advances_without_blocking():
    clock = FakeClock()
    began = time.monotonic()
    clock.sleep(3600)
    elapsed = time.monotonic() - began
    assert elapsed < 0.1
    assert clock.now() == START + timedelta(hours=1)


def test_sleep_fraction():
    clock = FakeClock()
    clock.sleep(0.5)
    assert clock.now() == START + timedelta(milliseconds=500)


@pytest.mark.parametrize("seconds", [0, -1, -3600])
def test_sleep_zero_or_negative_is_a_no_op(seconds):
    clock = FakeClock()
    clock.sleep(seconds)
    assert clock.now() == START


def test_advance_is_thread_safe():
    clock = FakeClock()
    threads_n, steps = 8, 2000
    barrier = threading.Barrier(threads_n)

    def work() -> None:
        barrier.wait()
        for _ in range(steps):
            clock.advance(timedelta(microseconds=1))
            clock.sleep(1)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    # each thread moved the clock steps * (1 µs + 1 s)
    assert clock.now() == START + threads_n * steps * timedelta(seconds=1, microseconds=1)


def test_now_read_while_another_thread_advances_never_goes_back():
    """`now()` reads without the lock (one reference read): readers racing the writers
    see each written time whole, in order."""
    clock = FakeClock()
    seen: list[datetime] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(clock.now())

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20_000):
        clock.advance(timedelta(microseconds=1))
    done.set()
    reader.join(timeout=30)
    assert seen == sorted(seen)
    assert all(START <= t <= START + timedelta(microseconds=20_000) for t in seen)
    assert clock.now() == START + timedelta(microseconds=20_000)


def test_fake_clock_repr():
    assert repr(FakeClock()) == "FakeClock(2026-01-01T00:00:00+00:00)"


def test_system_clock_now_is_aware_utc():
    clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo == UTC
    assert before <= now <= after


def test_system_clock_moves():
    clock = SystemClock()
    first = clock.now()
    clock.sleep(0.01)
    assert clock.now() - first >= timedelta(seconds=0.009)


@pytest.mark.parametrize("seconds", [0, -5])
def test_system_clock_sleep_non_positive_returns_at_once(seconds):
    began = time.monotonic()
    SystemClock().sleep(seconds)
    assert time.monotonic() - began < 0.1


def test_system_clock_repr():
    assert repr(SystemClock()) == "SystemClock()"


@pytest.mark.parametrize("clock", [FakeClock(), SystemClock()], ids=["fake", "system"])
def test_clocks_satisfy_the_port(clock):
    assert isinstance(clock, Clock)
