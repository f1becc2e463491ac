"""R1: kill -9 a worker process mid-job; its jobs are reclaimed after the lease and each
completes exactly once more, in another worker process.

Worker A (`python -m jobkit worker`, 2 threads, lease 2 s, heartbeat 0.5 s) runs 20 jobs
of 0.3 s that write to the ledger. Once A has completed some jobs and is inside a
handler, the test SIGKILLs it, reads which jobs Redis holds as running (A's in-flight
jobs: nobody else touches them while no worker runs), then starts worker B.
With `--batch-size 5`, A also holds claimed jobs it never started (prefetched), and
jobs whose handler ended but whose batch was not acked yet.
"""

from __future__ import annotations

import time

import pytest

from jobkit import JobStatus
from tests.faults.support import LEASE_S, SHARED_URL, Ledger, Procs, wait_until

pytestmark = pytest.mark.timeout(90)  # nothing here may hang the suite

N = 20
SLEEP_S = 0.3


def _statuses(kit) -> dict[str, int]:
    return kit.backend.queue_stats("default").statuses


@pytest.mark.parametrize("batch_size", [1, 5], ids=["batch1", "batch5"])
def test_kill9_worker_mid_job_reclaims_and_completes_each_job_once(
    shared_kit, prefix, procs: Procs, ledger: Ledger, batch_size: int
):
    kit = shared_kit
    jobs = kit.enqueue_many(
        [{"job_type": "work", "args": {"sleep": SLEEP_S, "n": i}} for i in range(N)]
    )
    ids = {job.id for job in jobs}

    a = procs.worker("A", url=SHARED_URL, prefix=prefix, ledger=ledger, batch_size=batch_size)

    def a_is_mid_job() -> bool:
        if _statuses(kit)["completed"] < 2 or not ledger.open_jobs(a.pid):
            return False
        if batch_size == 1:
            return True
        # also wait for a prefetched job: claimed (running in Redis) but never started
        running = {j.id for j in kit.find(status="running", limit=None)}
        return bool(running - set(ledger.executions(a.pid)))

    wait_until("worker A inside a handler", a_is_mid_job, timeout=20, procs=[a])
    a.kill9()
    killed_at = time.time()

    open_at_kill = ledger.open_jobs(a.pid)
    in_flight = {j.id for j in kit.find(status="running", limit=None)}
    completed_by_a = {j.id for j in kit.find(status="completed", limit=None)}
    pending_at_kill = {j.id for j in kit.find(status="pending", limit=None)}
    started_in_a = set(ledger.executions(a.pid))
    backend = kit.backend
    leases = {  # job id -> lease expiry (epoch seconds, from the Redis server's clock)
        (k.decode() if isinstance(k, bytes) else k): score / 1e6
        for k, score in backend.client.zrange(
            backend.keys.queue("default", "inflight"), 0, -1, withscores=True
        )
    }
    assert set(leases) == in_flight
    assert open_at_kill, "A was killed mid-job"
    assert open_at_kill <= in_flight, "a job A was running is not held as running"
    assert len(completed_by_a) >= 2
    assert completed_by_a | in_flight | pending_at_kill == ids  # every job accounted for
    assert kit.stats().counters["reclaimed"] == 0

    b = procs.worker("B", url=SHARED_URL, prefix=prefix, ledger=ledger, batch_size=batch_size)
    wait_until(
        f"all {N} jobs completed",
        lambda: _statuses(kit)["completed"] == N,
        timeout=30,
        interval=0.05,
        procs=[b],
    )
    assert b.terminate() == 0, b.tail()

    final = {j.id: j for j in kit.find(limit=None)}
    assert set(final) == ids  # nothing lost, nothing extra
    assert all(j.status is JobStatus.COMPLETED for j in final.values())
    stats = kit.stats()
    assert stats.statuses["completed"] == N
    assert stats.statuses["running"] == stats.statuses["pending"] == 0
    assert stats.counters["reclaimed"] == len(in_flight)
    assert stats.counters["succeeded"] == N
    assert stats.counters["lease_lost"] == 0  # A is dead: nothing stale to refuse

    in_a, in_b, total = ledger.executions(a.pid), ledger.executions(b.pid), ledger.executions()
    assert set(total) == ids
    for job_id in in_flight:  # killed with A: run again, once, in B
        assert in_b[job_id] == 1, job_id
        assert in_a[job_id] <= 1, job_id
        assert final[job_id].reclaim_count == 1, job_id
    for job_id in ids - in_flight:  # never ran twice
        assert total[job_id] == 1, job_id
        assert final[job_id].reclaim_count == 0, job_id
    for job_id in open_at_kill:  # ran twice: once in A (cut short), once in B
        assert (in_a[job_id], in_b[job_id]) == (1, 1), job_id
    assert not completed_by_a & set(in_b), "B re-ran a job A had completed"
    assert sum(total.values()) == N + len(in_flight & started_in_a)
    if batch_size > 1:
        prefetched = in_flight - started_in_a
        assert prefetched, "A held prefetched jobs it never started"
        assert all(total[j] == 1 and in_b[j] == 1 for j in prefetched)

    # the reclaimed jobs ran in B only after their lease had expired (same host clock)
    b_starts = {e["job_id"]: e for e in ledger.starts(b.pid)}
    for job_id in in_flight:
        assert b_starts[job_id]["reclaim_count"] == 1, job_id
        assert b_starts[job_id]["t"] >= leases[job_id] - 0.005, "reclaimed before the lease expired"
    reclaim_starts = [b_starts[j]["t"] - killed_at for j in in_flight]
    first_b = min(e["t"] for e in ledger.starts(b.pid)) - killed_at
    print(
        f"\n[R1 batch={batch_size}] in flight at kill: {len(in_flight)} "
        f"(mid-handler {len(open_at_kill)}, started {len(in_flight & started_in_a)}); "
        f"B first job after {first_b:.2f}s; reclaimed jobs restarted "
        f"{min(reclaim_starts):.2f}..{max(reclaim_starts):.2f}s after the kill"
    )
    # lease 2 s + one reclaim pass per heartbeat (0.5 s) + B's start-up, with room for a slow box
    assert max(reclaim_starts) <= LEASE_S + 8
