"""The backends the contract suite runs on: name -> factory(FakeClock) -> JobBackend."""

from __future__ import annotations

from collections.abc import Callable

from jobkit.adapters.memory import InMemoryBackend
from jobkit.clock import FakeClock
from jobkit.ports import JobBackend

BackendFactory = Callable[[FakeClock], JobBackend]


def make_memory(clock: FakeClock) -> JobBackend:
    """The embedded in-memory backend on `clock`."""
    return InMemoryBackend(clock)


#: name -> factory. Later issues add e.g. "fakeredis" and "redis" here.
BACKENDS: dict[str, BackendFactory] = {
    "memory": make_memory,
}


def dispose(backend: JobBackend) -> None:
    """Wipe a backend made by a factory and release it (Redis keys must not leak)."""
    try:
        backend.clear()
    finally:
        backend.close()
