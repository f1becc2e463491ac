"""Fixtures shared by the unit tests: a FakeClock and a memory kit on it."""

from __future__ import annotations

import pytest

import jobkit
from jobkit.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 2026-01-01T00:00:00Z."""
    return FakeClock()


@pytest.fixture
def kit(clock: FakeClock) -> jobkit.JobKit:
    """A memory-backed kit reading `clock`."""
    return jobkit.connect("memory://", clock=clock)
