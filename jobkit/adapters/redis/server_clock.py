"""ServerClock: the Redis server's clock, read cheaply on the client side."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any


class ServerClock:
    """`now()` estimates the Redis server's time (`TIME`), so a fleet of hosts whose own
    clocks are skewed agrees on when jobs are due and leases expire.

    It measures the offset between the server and this host with `TIME` (halving the
    round trip) and refreshes it every `resync` seconds; between refreshes it adds the
    host's monotonic time. Scripts called without an explicit `now` read `TIME` exactly.
    """

    def __init__(self, client: Any, *, resync: float = 30.0) -> None:
        self.client = client
        self.resync = resync
        # (server time as a POSIX timestamp, host monotonic time when the server had
        # it); None before the first sync. One tuple, replaced whole, so a reader needs
        # no lock. A float timestamp, not a datetime: `fromtimestamp` of a sum costs
        # half of adding a timedelta, and a float keeps well under a microsecond here.
        self._base: tuple[float, float] | None = None

    def now(self) -> datetime:
        """The estimated server time, timezone-aware UTC."""
        mono = time.monotonic()
        base = self._base
        if base is None or mono - base[1] >= self.resync:
            base = self._sync()
            mono = time.monotonic()
        return datetime.fromtimestamp(base[0] + (mono - base[1]), UTC)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of real time."""
        time.sleep(seconds)

    def _sync(self) -> tuple[float, float]:
        sent = time.monotonic()
        seconds, micros = self.client.time()
        received = time.monotonic()
        base = (int(seconds) + int(micros) / 1_000_000, (sent + received) / 2)
        self._base = base
        return base

    def __repr__(self) -> str:
        return f"ServerClock(resync={self.resync})"
