"""Fixtures of the fault tests: a kit on the shared Redis under a fresh prefix, the
subprocesses a test starts (always killed at teardown), and the execution ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jobkit
from tests.faults.support import (
    SHARED_URL,
    Ledger,
    Procs,
    require_shared_redis,
    unique_prefix,
)


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test alone."""
    return unique_prefix()


@pytest.fixture
def shared_kit(prefix: str) -> Iterator[jobkit.JobKit]:
    """A JobKit on the shared Redis (127.0.0.1:6379/0) under `prefix`; every key under
    the prefix is deleted at teardown. Skips (fails under CI=true) without that Redis."""
    require_shared_redis()
    kit = jobkit.connect(SHARED_URL, prefix=prefix)
    try:
        yield kit
    finally:
        try:
            kit.backend.clear()  # type: ignore[attr-defined]
        finally:
            kit.close()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    """Starts subprocesses (logs in tmp_path); every one still running is SIGKILLed at
    teardown, whatever happened."""
    started = Procs(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """The ledger file the `work` handler appends to (tests/faults/app.py)."""
    return Ledger(tmp_path / "ledger.jsonl")
