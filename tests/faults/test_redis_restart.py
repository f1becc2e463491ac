"""R7: kill -9 redis-server (AOF, appendfsync always) and restart it on the same --dir:
every acknowledged write is there, exactly, and the backend keeps working.

1,000 jobs in every state (pending in all priorities of two queues, scheduled for later,
running under leases held by this test, completed, retrying, dead, cancelled) are
recorded through the public API (find, stats, queue_stats, peek, sizes, next_due_at,
dead_letters, history). After the crash and restart, the same reads must give the same
answers; the held claims can still be renewed and acked with their tokens (the leases
survived); the scripts' function library came back with the AOF like the data, and
once FUNCTION FLUSH empties it, the next calls (heartbeat, ack, dequeue) load it again
transparently.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

import jobkit
from jobkit import JobError, JobStatus, Priority, RetryPolicy
from jobkit.adapters.redis import scripts
from jobkit.core import lifecycle
from tests.faults.support import require_redis_server_binary, unique_prefix
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(90)  # nothing here may hang the suite

QUEUES = ("default", "mail", "work")
PRIOS = [p.value for p in Priority]
LEASE_S = 3600.0  # the held claims must not expire during the test
LATER = timedelta(hours=1)


def snapshot(backend) -> dict:
    """Everything the public API says about the backend, comparable with ==."""
    return {
        "jobs": {j.id: j.to_dict() for j in backend.find(limit=None)},
        "stats": backend.stats(),
        "queues": backend.queues(),
        "queue_stats": {q: backend.queue_stats(q) for q in QUEUES},
        "ready": {q: [j.id for j in backend.peek(q, limit=10_000)] for q in QUEUES},
        "sizes": {q: backend.sizes(q) for q in QUEUES},
        "next_due": {q: backend.next_due_at(q) for q in QUEUES},
        "dead": [j.id for j in backend.dead_letters(limit=None)],
        "history": [j.to_dict() for j in backend.history(limit=1000)],
        "quarantined": backend.quarantined(),
    }


def loaded(client) -> bool:
    """The scripts' function library is on the server."""
    return bool(client.function_list(library=scripts.library().name))


def test_kill9_redis_restart_keeps_every_acknowledged_job(tmp_path: Path):
    require_redis_server_binary()
    with RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always") as server:
        kit = jobkit.connect(server.url, prefix=unique_prefix())
        try:
            _run(server, kit)
        finally:
            kit.close()


def _run(server: RedisServer, kit: jobkit.JobKit) -> None:
    backend = kit.backend
    now = kit.clock.now()  # the Redis server's clock
    fail_later = RetryPolicy.constant(LATER.total_seconds())

    # 400 jobs in queue "work", all claimed below: 200 complete, 60 retry, 40 die,
    # 100 stay running under this test's leases
    fates = ["completed"] * 200 + ["retrying"] * 60 + ["dead"] * 40 + ["running"] * 100
    work = kit.enqueue_many(
        [
            {
                "job_type": "work",
                "queue": "work",
                "priority": PRIOS[i % 5],
                "max_retries": 0 if fate == "dead" else 3,
                "args": {"i": i, "fate": fate},
            }
            for i, fate in enumerate(fates)
        ]
    )
    # 450 pending in two queues and every priority, 150 scheduled for an hour from now
    waiting = kit.enqueue_many(
        [
            {
                "job_type": "work",
                "queue": QUEUES[i % 2],
                "priority": PRIOS[(i * 7) % 5],
                "args": {"i": i},
                **({"run_at": now + LATER + timedelta(seconds=i)} if i % 4 == 3 else {}),
            }
            for i in range(600)
        ]
    )
    assert len(work) + len(waiting) == 1000

    claims = backend.dequeue_many("work", "fault-test", 400, lease_seconds=LEASE_S)
    assert len(claims) == 400
    at = kit.clock.now()
    outcomes, held = [], []
    for claim in claims:
        fate = claim.job.args["fate"]
        if fate == "completed":
            outcomes.append((claim, lifecycle.complete(claim.job, {"i": claim.job.args["i"]}, at)))
        elif fate in ("retrying", "dead"):
            error = JobError("Boom", f"attempt failed ({fate})")
            outcomes.append((claim, lifecycle.fail(claim.job, error, at, fail_later)))
        else:
            held.append(claim)
    stored = backend.ack_many(outcomes)
    assert all(job is not None for job in stored)
    pending = [j for j in waiting if j.status is JobStatus.PENDING]
    for job in pending[:20]:
        kit.cancel(job.id)

    before = snapshot(backend)
    statuses = before["stats"].statuses
    assert len(before["jobs"]) == 1000
    assert statuses == {
        "pending": 430,
        "scheduled": 150,
        "running": 100,
        "completed": 200,
        "retrying": 60,
        "dead": 40,
        "cancelled": 20,
    }
    assert loaded(backend.client)

    # -- crash and restart ------------------------------------------------------------
    old_pid = server.pid
    t0 = time.monotonic()
    server.kill()
    server.restart()
    restart_s = time.monotonic() - t0
    assert server.pid != old_pid

    t1 = time.monotonic()
    after = snapshot(backend)  # the same client: it reconnects on its own
    reconnect_s = time.monotonic() - t1
    for key in before:
        assert after[key] == before[key], f"{key} differs after the restart"
    assert loaded(backend.client), "the function library did not come back with the AOF"
    backend.client.function_flush()

    # a second client, new connection, sees the same
    fresh = jobkit.connect(server.url, prefix=backend.prefix)
    try:
        assert snapshot(fresh.backend) == before
    finally:
        fresh.close()

    # -- the leases survived: renew and ack with the tokens from before the crash ------
    renewed = backend.heartbeat_many(held[:50], lease_seconds=LEASE_S)
    assert all(c is not None for c in renewed)
    at = kit.clock.now()
    acked = backend.ack_many([(c, lifecycle.complete(c.job, "after", at)) for c in held])
    assert all(job is not None for job in acked), "a lease held before the crash was lost"
    assert loaded(backend.client)

    # -- and the queues serve in the order recorded before the crash --------------------
    for queue in ("default", "mail"):
        got = backend.dequeue_many(queue, "after-restart", 5, lease_seconds=30)
        assert [c.job.id for c in got] == before["ready"][queue][:5]
        done = backend.ack_many([(c, lifecycle.complete(c.job, None, at)) for c in got])
        assert all(job is not None for job in done)

    stats = backend.stats()
    assert stats.statuses["running"] == 0
    assert stats.statuses["completed"] == 200 + 100 + 10
    assert stats.statuses["pending"] == 430 - 10
    assert stats.counters["succeeded"] == before["stats"].counters["succeeded"] + 110
    assert stats.counters["lease_lost"] == 0
    print(
        f"\n[R7] redis-server kill -9 + restart (AOF always, 1,000 jobs): "
        f"restart {restart_s:.2f}s; first reads on the old client {reconnect_s:.3f}s"
    )
