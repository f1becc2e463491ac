"""ServerClock: the Redis server's clock, read cheaply on the client side."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
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
        self._lock = threading.Lock()
        self._base: datetime | None = None  # server time at _base_mono
        self._base_mono = 0.0

    def now(self) -> datetime:
        """The estimated server time, timezone-aware UTC."""
        mono = time.monotonic()
        with self._lock:
            base, base_mono = self._base, self._base_mono
        if base is None or mono - base_mono >= self.resync:
            base, base_mono = self._sync()
            mono = time.monotonic()
        return base + timedelta(seconds=mono - base_mono)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of real time."""
        time.sleep(seconds)

    def _sync(self) -> tuple[datetime, float]:
        sent = time.monotonic()
        seconds, micros = self.client.time()
        received = time.monotonic()
        server = datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=int(micros))
        mono = (sent + received) / 2
        with self._lock:
            self._base, self._base_mono = server, mono
        return server, mono

    def __repr__(self) -> str:
        return f"ServerClock(resync={self.resync})"
