"""R14: 8 processes promote the same due jobs at once; each job is promoted exactly once.

2,000 jobs (every priority) are scheduled for the same instant, 2 s ahead on the Redis
server's clock. 8 promoter processes (tests/faults/promoter.py, 25 jobs per script call,
so the 80 calls interleave) are released together and call `promote_due()` — server
`TIME`, no `now` passed — in a tight loop until nothing is scheduled. Then: the moves add
up to 2,000; every job is in a ready list exactly once, in the order of the scheduled set
(equal times: by id); all 2,000 are pending; none was promoted before its time.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from jobkit import JobStatus, Priority
from tests.faults.support import SHARED_URL, Procs, child_env, wait_until

pytestmark = pytest.mark.timeout(90)  # nothing here may hang the suite

N = 2000
PROCESSES = 8
BATCH = 25
AHEAD = timedelta(seconds=2)


def test_eight_processes_promote_each_due_job_exactly_once(
    shared_kit, prefix, procs: Procs, tmp_path: Path
):
    kit = shared_kit
    backend = kit.backend
    go_file = tmp_path / "go"
    promoters = []
    for i in range(PROCESSES):
        argv = [
            sys.executable,
            "-m",
            "tests.faults.promoter",
            SHARED_URL,
            prefix,
            str(tmp_path / f"ready-{i}"),
            str(go_file),
            str(BATCH),
        ]
        promoters.append(procs.spawn(f"promoter-{i}", argv, child_env()))
    wait_until(
        f"{PROCESSES} promoters ready",
        lambda: all((tmp_path / f"ready-{i}").exists() for i in range(PROCESSES)),
        timeout=30,
        interval=0.05,
        procs=promoters,
    )

    run_at = kit.clock.now() + AHEAD  # the server's clock
    prios = list(Priority)
    jobs = kit.enqueue_many(
        [
            {"job_type": "work", "run_at": run_at, "priority": prios[i % 5], "args": {"i": i}}
            for i in range(N)
        ]
    )
    assert all(j.status is JobStatus.SCHEDULED for j in jobs)
    assert backend.stats().statuses["scheduled"] == N
    go_file.touch()

    deadline = time.monotonic() + 30
    for proc in promoters:
        proc.popen.wait(max(0.1, deadline - time.monotonic()))
    reports = []
    for proc in promoters:
        assert proc.popen.returncode == 0, proc.tail()
        reports.append(json.loads(proc.stdout().strip().splitlines()[-1]))

    moved = [r["moved"] for r in reports]
    assert sum(moved) == N, moved
    assert sum(1 for m in moved if m) >= 2, f"no contention: {moved}"

    stats = backend.stats()
    assert stats.statuses["pending"] == N
    assert stats.statuses["scheduled"] == 0
    assert stats.counters["enqueued"] == N
    assert backend.next_due_at() is None
    assert sum(backend.sizes("default").values()) == N

    ready = backend.peek("default", limit=10_000)
    ready_ids = [j.id for j in ready]
    assert len(ready_ids) == len(set(ready_ids)) == N, "a job is in the ready lists twice"
    assert set(ready_ids) == {j.id for j in jobs}
    for prio in prios:  # promoted in the scheduled set's order: equal times, then by id
        got = [j.id for j in ready if j.priority is prio]
        assert got == sorted(j.id for j in jobs if j.priority is prio), prio
    assert all(j.status is JobStatus.PENDING for j in ready)
    promoted_at = [j.updated_at for j in ready]
    assert min(promoted_at) >= run_at, "a job was promoted before its time"

    lateness = (max(promoted_at) - run_at).total_seconds()
    print(
        f"\n[R14] {PROCESSES} promoters, {N} jobs due at once, {BATCH} per call: moved {moved} "
        f"in {sum(r['calls'] for r in reports)} promote_due() calls "
        f"({sum(r['nonzero'] for r in reports)} of them moved jobs); "
        f"first promotion {(min(promoted_at) - run_at).total_seconds() * 1000:.1f} ms, "
        f"last {lateness * 1000:.1f} ms after the due time"
    )
