"""What only the Redis adapter has: its key schema, quarantine of unreadable bodies,
Redis server time, NOSCRIPT recovery, connection URLs and credential hygiene."""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

import jobkit
from jobkit.adapters.redis import RedisBackend, ServerClock, scripts
from jobkit.adapters.redis.keys import QUEUE_KEYS
from jobkit.clock import FakeClock
from jobkit.core import lifecycle
from jobkit.core.errors import InvalidJobError, InvalidUrlError
from jobkit.core.model import JobStatus, build_job
from jobkit.core.stats import COUNTERS
from jobkit.kit import JobKit
from tests.adapters.backends import REDIS_URL, make_fakeredis, redis_client, unique_prefix


@pytest.fixture(params=["fakeredis", "redis"])
def redis_backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[RedisBackend]:
    """A RedisBackend on fakeredis or the real local Redis, wiped afterwards."""
    if request.param == "fakeredis":
        backend = make_fakeredis(clock)
    else:
        backend = RedisBackend(redis_client(), unique_prefix(), clock, owns_client=True)
    assert isinstance(backend, RedisBackend)
    yield backend
    backend.clear()
    backend.close()


def keys_of(backend: RedisBackend) -> set[str]:
    return {k.decode() for k in backend.client.scan_iter(match=backend.keys.pattern)}


def test_every_key_is_under_the_prefix_and_tagged_by_its_queue(
    redis_backend: RedisBackend, make_job, clock: FakeClock
) -> None:
    b = redis_backend
    p = b.prefix
    b.enqueue_many([make_job(queue="mail"), make_job(queue="mail", max_retries=0)])
    for c in b.dequeue_many("mail", "w1", 2):
        b.ack(c, lifecycle.fail(c.job, jobkit.JobError("Boom", "x"), clock.now(), b_policy()))
    keys = keys_of(b)
    assert keys, "nothing written"
    for key in keys:
        assert key.startswith(f"{p}:")
        if "{" in key:
            assert "{mail}" in key, key
    assert {f"{p}:{{mail}}:{k}" for k in ("jobs", "state", "created", "scheduled", "dead")} <= keys
    assert set(QUEUE_KEYS) >= {"jobs", "state", "ready:default", "inflight", "leases"}
    client = b.client
    assert int(client.get(f"{p}:stats:global:enqueued")) == 2
    assert int(client.get(f"{p}:stats:queue:{{mail}}:enqueued")) == 2
    assert int(client.get(f"{p}:stats:queue:{{mail}}:dead")) == 1
    assert int(client.get(f"{p}:stats:queue:{{mail}}:retried")) == 1
    assert {c: b.queue_stats("mail")[c] for c in COUNTERS} == {c: b.stats()[c] for c in COUNTERS}


def b_policy() -> jobkit.RetryPolicy:
    return jobkit.RetryPolicy.default()


@pytest.mark.parametrize(
    "body",
    [b"\xff{not json", b"[1, 2]", b'{"id": "other"}', None],
    ids=["bytes", "not-an-object", "missing-fields", "missing-body"],
)
def test_an_unreadable_body_is_quarantined_and_the_worker_goes_on(
    redis_backend: RedisBackend, make_job, clock: FakeClock, body: bytes | None
) -> None:
    b = redis_backend
    kit = JobKit(b, clock=clock)
    ran: list[str] = []
    kit.handler("task")(lambda args: ran.append(args["n"]))
    jobs = [make_job("task", {"n": str(n)}) for n in range(3)]
    b.enqueue_many(jobs)
    bad = jobs[1].id
    jobs_key = b.keys.queue("default", "jobs")
    if body is None:
        b.client.hdel(jobs_key, bad)
    else:
        b.client.hset(jobs_key, bad, body)
    assert kit.worker().run_until_idle() == 2
    assert ran == ["0", "2"]
    assert b.stats()["quarantined"] == 1
    assert b.queue_stats("default")["quarantined"] == 1
    assert b.stats().statuses == {**dict.fromkeys(b.stats().statuses, 0), "completed": 2}
    (record,) = b.quarantined()
    assert record["id"] == bad and record["queue"] == "default"
    assert record["error"].startswith("InvalidJobError")
    expected = None if body is None else body.decode("utf-8", "backslashreplace")
    assert record["payload"] == expected
    assert b.get(bad) is None
    assert [j.id for j in b.find(limit=None)] == [jobs[0].id, jobs[2].id]


def test_scripts_survive_flushed_functions_and_script_cache(
    redis_backend: RedisBackend, make_job, clock: FakeClock
) -> None:
    """FUNCTION FLUSH (or SCRIPT FLUSH) between calls: each call loads what it needs."""
    b = redis_backend

    def flush() -> None:
        b.client.function_flush()
        b.client.script_flush()

    b.enqueue(make_job())
    flush()
    b.enqueue(make_job())
    flush()
    claims = b.dequeue_many("default", "w1", 2)
    flush()
    assert [b.ack(c, lifecycle.complete(c.job, 1, clock.now())).status for c in claims] == [
        JobStatus.COMPLETED
    ] * 2
    assert b._scripts.functions


def test_script_runner_packs_on_plain_pooled_clients_only() -> None:
    """The packed call path serves a pooled `redis.Redis` with hiredis; fakeredis and a
    single-connection client keep redis-py's own command path."""
    import fakeredis
    import redis

    plain = redis_client()
    single = redis.Redis.from_url(REDIS_URL, single_connection_client=True)
    try:
        assert scripts.Runner(plain)._pool is plain.connection_pool
        assert scripts.Runner(single)._pool is None
        assert scripts.Runner(fakeredis.FakeRedis())._pool is None
    finally:
        plain.close()
        single.close()


def _client_id(conn) -> int:
    conn.send_command("CLIENT", "ID")
    return int(conn.read_response())


def test_script_runner_replies_as_redis_py_does(clock: FakeClock, make_job) -> None:
    """Both paths give the same reply, a flushed library is loaded again, a bad argument
    is refused before anything is sent, and a dropped connection is reconnected."""
    import redis

    backend = RedisBackend(redis_client(), unique_prefix(), clock, owns_client=True)
    client = backend.client
    runner = backend._scripts
    assert runner._pool is not None
    try:
        keys = backend._keys_for(["default"])
        args = [backend._global_flag, 1, str(10**15), 10]
        assert runner("promote_due", keys, args) == scripts.run(client, "promote_due", keys, args)
        client.function_flush()
        assert runner("promote_due", keys, args)[0] == 0
        assert client.function_list(library=scripts.library().name)
        assert runner.functions
        with pytest.raises(redis.DataError):
            runner("promote_due", keys, [backend._global_flag, 1, None, 10])
        first = make_job()
        backend.enqueue(first)
        held = _client_id(runner._connection())  # this thread's connection, used next
        admin = redis_client()
        try:
            admin.client_kill_filter(_id=held)
        finally:
            admin.close()
        second = make_job()
        backend.enqueue(second)  # the held connection was killed: retried on a new one
        assert _client_id(runner._connection()) != held
        assert [backend.get(j.id) for j in (first, second)] == [first, second]
        assert backend.stats()["enqueued"] == 2
    finally:
        backend.clear()
        backend.close()


def test_script_runner_uses_evalsha_where_functions_are_refused(clock: FakeClock, make_job) -> None:
    """A user the ACL refuses FUNCTION and FCALL (as a server before Redis 7 would) is
    served by EVALSHA, NOSCRIPT answered with EVAL."""
    import redis

    user = f"jobkit-test-{uuid.uuid4().hex[:8]}"
    admin = redis_client()
    admin.acl_setuser(
        user,
        enabled=True,
        nopass=True,
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-function", "-fcall", "-fcall_ro"],
    )
    client = redis.Redis.from_url(REDIS_URL, username=user, socket_timeout=10)
    backend = RedisBackend(client, unique_prefix(), clock, owns_client=True)
    try:
        job = make_job()
        backend.enqueue(job)
        assert not backend._scripts.functions
        assert client.script_exists(scripts.load("enqueue").sha) == [True]
        client.script_flush()
        (claim,) = backend.dequeue_many("default", "w1", 5)
        assert claim.job.id == job.id
        assert backend.ack(claim, lifecycle.complete(claim.job, 1, clock.now())) is not None
        assert backend.stats()["succeeded"] == 1
    finally:
        backend.clear()
        backend.close()
        admin.acl_deluser(user)
        admin.close()


def test_script_runner_keeps_one_connection_per_thread(clock: FakeClock, make_job) -> None:
    """Each thread's calls go on its own pooled connection, which goes back to the pool
    when the thread ends or the backend closes."""
    backend = RedisBackend(redis_client(), unique_prefix(), clock, owns_client=False)
    runner, pool = backend._scripts, backend.client.connection_pool
    try:
        backend.enqueue(make_job())
        mine = runner._connection()
        assert runner._connection() is mine
        theirs: list[object] = []

        def other_thread() -> None:
            backend.enqueue(make_job())
            theirs.append(runner._connection())

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        del thread
        gc.collect()
        assert theirs[0] is not mine
        assert theirs[0] in pool._available_connections  # the thread ended: given back
        assert mine in pool._in_use_connections
        backend.close()
        assert mine in pool._available_connections
        assert backend.stats()["enqueued"] == 2  # a call after close takes a connection
    finally:
        backend.clear()
        backend.close()
        backend.client.close()


def test_script_runner_keeps_at_most_half_a_bounded_pool(clock: FakeClock, make_job) -> None:
    """With a pool of 4, two threads keep a connection; a third borrows one per call."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, max_connections=4, socket_timeout=10)
    backend = RedisBackend(client, unique_prefix(), clock, owns_client=True)
    runner, pool = backend._scripts, client.connection_pool
    kept: list[bool] = []
    all_called = threading.Barrier(3)

    def call_then_wait() -> None:
        backend.enqueue(make_job())
        kept.append(runner._connection() is not None)
        all_called.wait(10)

    threads = [threading.Thread(target=call_then_wait) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(kept) == [False, True, True]
        assert backend.stats()["enqueued"] == 3
        del threads
        gc.collect()
        assert not pool._in_use_connections  # every connection back in the pool
    finally:
        backend.clear()
        backend.close()


def test_an_interrupted_script_call_leaves_no_reply_behind(clock: FakeClock, make_job) -> None:
    """A call interrupted after sending (Ctrl-C while waiting) drops its connection, so
    the next call cannot read the interrupted call's reply as its own."""
    backend = RedisBackend(redis_client(), unique_prefix(), clock, owns_client=True)
    runner = backend._scripts
    try:
        conn = runner._connection()

        def interrupted(*args: object, **kwargs: object) -> object:
            raise KeyboardInterrupt

        conn.read_response = interrupted  # the next call is sent, its reply not read
        job = make_job()
        with pytest.raises(KeyboardInterrupt):
            backend.enqueue(job)
        del conn.read_response
        keys = backend._keys_for(["default"])
        assert runner("promote_due", keys, [backend._global_flag, 1, str(10**15), 10])[0] == 0
        assert backend.get(job.id) == job  # the interrupted call did run on the server
    finally:
        backend.clear()
        backend.close()


def test_without_a_clock_time_is_the_redis_servers() -> None:
    client = redis_client()
    backend = RedisBackend(client, unique_prefix(), owns_client=True)
    try:
        assert isinstance(backend.clock, ServerClock)
        seconds, micros = client.time()
        server_now = seconds + micros / 1e6
        assert abs(backend.clock.now().timestamp() - server_now) < 0.5
        soon = backend.clock.now() + timedelta(seconds=0.3)
        job = build_job("t", {}, id="late", now=backend.clock.now(), run_at=soon)
        backend.enqueue(job)
        assert backend.promote_due() == 0
        time.sleep(0.4)
        assert backend.promote_due() == 1
        claim = backend.dequeue("default", "w1")
        assert claim is not None
        seconds, micros = client.time()
        assert abs(claim.job.started_at.timestamp() - (seconds + micros / 1e6)) < 0.5
    finally:
        backend.clear()
        backend.close()


def test_connect_urls(clock: FakeClock) -> None:
    kit = jobkit.connect("fakeredis://", clock=clock, prefix="p1", max_reclaims=5)
    try:
        assert isinstance(kit.backend, RedisBackend)
        assert kit.backend.prefix == "p1" and kit.backend.max_reclaims == 5
        kit.handler("hi")(lambda args: "hello")
        job = kit.enqueue("hi")
        assert kit.run_until_idle() == 1
        assert kit.get(job.id).result == "hello"
    finally:
        kit.close()
    with pytest.raises(InvalidUrlError, match="supported: memory://, redis://"):
        jobkit.connect("mongodb://u:hunter2@h/db")
    with pytest.raises(InvalidJobError, match="prefix"):
        jobkit.connect("fakeredis://", prefix="bad prefix{x}")


def test_passwords_never_show(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    kit = jobkit.connect("redis://user:hunter2@127.0.0.1:1/0", prefix=unique_prefix())
    try:
        shown = [repr(kit), str(kit), repr(kit.backend), str(kit.backend)]
        with pytest.raises(Exception) as failure:  # nothing listens on port 1
            kit.backend.client.connection_pool.connection_kwargs["retry"] = None
            kit.enqueue("x")
        shown += [str(failure.value), repr(failure.value)]
    finally:
        kit.close()
    with pytest.raises(InvalidUrlError) as bad:
        jobkit.connect("redis://user:hunter2@127.0.0.1:notaport/0")
    shown.append(str(bad.value))
    shown += [r.getMessage() for r in caplog.records]
    assert not [s for s in shown if "hunter2" in s]


def test_a_wake_up_answers_without_asking_the_ready_sets_again(
    redis_backend: RedisBackend, make_job, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between an enqueue and a waiting worker's claim there is one round trip less: the
    popped wake-up mark is the answer. With a tenant restriction the ready sets are
    asked again (the mark may be for another tenant's job)."""
    b = redis_backend
    asked: list[object] = []
    any_ready = b._any_ready

    def counting(*args: object) -> bool:
        asked.append(args)
        return any_ready(*args)

    monkeypatch.setattr(b, "_any_ready", counting)
    timer = threading.Timer(0.1, b.enqueue, args=(make_job(),))
    timer.start()
    try:
        assert b.wait_for_jobs(["default"], timeout=5) is True
    finally:
        timer.join()
    assert len(asked) == 1  # only before blocking

    asked.clear()
    b.dequeue("default", "w")  # nothing ready now
    timer = threading.Timer(0.1, b.enqueue, args=(make_job(tenant_id="globex"),))
    timer.start()
    try:
        assert b.wait_for_jobs(["default"], timeout=0.5, tenants=["acme"]) is False
    finally:
        timer.join()
    assert len(asked) >= 2  # asked again after the mark
