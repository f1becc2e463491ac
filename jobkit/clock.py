"""Clocks: where workers, backends and the simulator get `now`.

`SystemClock` reads the real time. `FakeClock` only moves when told to, so a test or a
notebook can play an hour of retries in a millisecond; its `sleep` advances it and
never waits.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from jobkit.core.model import require_aware

#: Where a FakeClock starts unless told otherwise.
FAKE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for `seconds` real seconds."""
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that stands still until advanced. Thread-safe.

    >>> clock = FakeClock()
    >>> clock.advance(30).isoformat()
    '2026-01-01T00:00:30+00:00'
    """

    def __init__(self, start: datetime = FAKE_EPOCH) -> None:
        self._now = require_aware("start", start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now  # one reference read is atomic; writers hold the lock

    def advance(self, delta: float | timedelta) -> datetime:
        """Move forward by `delta` (seconds or a timedelta) and return the new time.

        Raises ValueError for a negative delta: fake time never runs backwards
        unless `set` is used on purpose.
        """
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError(f"advance(delta={delta!r}) must not be negative; use set() to go back")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to `when` (timezone-aware), forwards or backwards."""
        moved = require_aware("when", when)
        with self._lock:
            self._now = moved
            return moved

    def sleep(self, seconds: float) -> None:
        """Advance by `seconds` at once; never blocks."""
        if seconds > 0:
            self.advance(seconds)

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"
