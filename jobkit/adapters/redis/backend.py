"""RedisBackend: the production backend. Every state change is one Lua script.

See `keys.py` for the key schema and `lua/` for the scripts (each file's header names
its KEYS, ARGV and replies). Job JSON is written by Python and never parsed in Lua;
the few fields a script changes without Python (status and time on promote and start)
live in the `state` hash and are folded into the job when it is read.

Time: with an injected clock, every script gets `now` from it (FakeClock works). With
none, scripts called without `now` read Redis `TIME`, and `backend.clock` is a
`ServerClock` that tracks the server's time, so hosts with skewed clocks agree.

On Redis Cluster (a `redis.cluster.RedisCluster` client) each script touches one
queue's slot only; the global counters, the id directory and the queue set are
updated by a pipeline right after the script. The per-queue state stays atomic; the
global indexes may lag a crash by one call (`get` then falls back to asking every
queue), and `enqueue_many` is all-or-nothing per queue.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jobkit.adapters.checks import (
    check_new_jobs,
    check_outcomes,
    refuse_running,
    tenant_groups,
)
from jobkit.adapters.redis import scripts
from jobkit.adapters.redis.keys import KeySchema
from jobkit.adapters.redis.server_clock import ServerClock
from jobkit.core import lifecycle
from jobkit.core.errors import (
    DuplicateJobError,
    InvalidJobError,
    JobNotFoundError,
    LeaseLostError,
)
from jobkit.core.model import NAME_PATTERN, PRIORITIES, Job, JobStatus, Priority
from jobkit.core.stats import COUNTERS, Stats, empty_counters, transition_counts
from jobkit.ports import Claim, Clock

log = logging.getLogger("jobkit.redis")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_R = JobStatus.RUNNING
_NO_DELTAS = ",".join("0" for _ in COUNTERS)
_CHUNK = 500  # ids per read round trip
_MAX_BATCH = 5000  # jobs per enqueue script call (keeps every script short)
_CAS_ATTEMPTS = 20


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    return (dt - _EPOCH) // _US


def from_us(value: int | str | bytes | float) -> datetime:
    """The UTC datetime of a microsecond timestamp."""
    return _EPOCH + timedelta(microseconds=int(float(value)))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _csv(deltas: dict[str, int]) -> str:
    return ",".join(str(deltas.get(c, 0)) for c in COUNTERS) if deltas else _NO_DELTAS


def with_state(job: Job, state: str) -> Job:
    """Fold a `state` entry ("<status>:<rank>[:<µs>]") into the job read from JSON."""
    status_name, _, rest = state.partition(":")
    _, _, stamp = rest.partition(":")
    status = JobStatus(status_name)
    if not stamp:
        return job if status is job.status else job.evolve(status=status)
    at = from_us(stamp)
    if status is _R:
        return started(job, at)
    return job.evolve(status=status, updated_at=at)


def started(job: Job, at: datetime) -> Job:
    """The job as the dequeue script left it: promoted if it was waiting (the JSON may
    still say scheduled or retrying), then `lifecycle.start`ed at `at`."""
    pending = job if job.status is JobStatus.PENDING else job.evolve(status=JobStatus.PENDING)
    return lifecycle.start(pending, at)


_ACK_DELTAS: dict[JobStatus, str] = {}


def _ack_deltas(outcome: Job) -> str:
    """The counter deltas of finishing a running job as `outcome` (they depend on its
    status only, so each status is worked out once, by `transition_counts`)."""
    csv = _ACK_DELTAS.get(outcome.status)
    if csv is None:
        csv = _ACK_DELTAS[outcome.status] = _csv(transition_counts(_R, outcome))
    return csv


def _score(job: Job) -> int:
    """The sorted-set score of a job's index: run_at while waiting, death when dead."""
    if job.status is JobStatus.DEAD:
        return to_us(job.finished_at or job.updated_at)
    return to_us(job.run_at)


class RedisBackend:
    """A complete JobBackend on Redis or Redis Cluster (see `jobkit.ports`).

    Args:
        client: a `redis.Redis`, `redis.cluster.RedisCluster` or `fakeredis.FakeRedis`.
        prefix: namespace of every key (1-64 characters from A-Z a-z 0-9 _ . -).
        clock: where `now` comes from; None means the Redis server's clock.
        max_reclaims: leases a job may lose before it goes dead as `WorkerLost`.
        history_size: finished attempts `history()` remembers, per queue.
        promote_batch: due jobs one script call promotes at most (keeps scripts short).
        owns_client: close the client in `close()` (set by `jobkit.connect`).
        fair: within each priority, serve tenants in turns (True, the default);
            False serves each priority first in, first out. Decided when a job
            becomes ready, so every process writing to one Redis should agree.
    """

    def __init__(
        self,
        client: Any,
        prefix: str = "jobkit",
        clock: Clock | None = None,
        *,
        max_reclaims: int = 3,
        history_size: int = 1000,
        promote_batch: int = 1000,
        owns_client: bool = False,
        fair: bool = True,
    ) -> None:
        self.client = client
        self.keys = KeySchema(prefix)
        self.prefix = prefix
        self.cluster = _is_cluster(client)
        self._fixed_clock = clock is not None
        self.clock: Clock = clock if clock is not None else ServerClock(client)
        self.max_reclaims = max_reclaims
        self.history_size = history_size
        self.promote_batch = promote_batch
        self.owns_client = owns_client
        if not isinstance(fair, bool):
            raise ValueError(f"fair={fair!r} must be True or False")
        self.fair = fair
        # the scripts' ARGV[1]: global block present (standalone), tenants served fairly
        self._global_flag = ("0" if self.cluster else "1") + ("1" if self.fair else "0")
        self._script_keys: dict[str, list[str]] = {}  # queue -> KEYS of a one-queue call
        self._scripts = scripts.Runner(client)

    # -- running scripts ---------------------------------------------------------------

    def _run(self, name: str, queues: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """Run a script over the blocks of `queues`; apply its global and per-tenant
        deltas on Cluster; return its own reply values (without the deltas)."""
        if len(queues) == 1:
            keys = self._script_keys.get(queues[0])
            if keys is None:
                keys = self._script_keys[queues[0]] = self._keys_for(queues)
        else:
            keys = self._keys_for(queues)
        reply = self._scripts(name, keys, [self._global_flag, len(queues), *args])
        *values, deltas, tenant_deltas = reply
        if self.cluster:
            self._apply_global(deltas, tenant_deltas=tenant_deltas)
        return values

    def _keys_for(self, queues: Sequence[str]) -> list[str]:
        """KEYS of a script call: each queue's block, then (standalone) the global one."""
        keys = [k for q in queues for k in self.keys.block(q)]
        return keys if self.cluster else keys + self.keys.global_block

    def _apply_global(
        self,
        deltas: Sequence[Any] = (),
        *,
        tenant_deltas: Sequence[Any] = (),
        index: dict[str, str] | None = None,
        unindex: Sequence[str] = (),
    ) -> None:
        """Cluster only: bring the global counters, directory and queue set, and the
        per-tenant counters and status tallies, up to date."""
        pipe = self.client.pipeline(transaction=False)
        for key, n in zip(self.keys.global_counters, deltas, strict=False):
            if int(n):
                pipe.incrby(key, int(n))
        for i in range(0, len(tenant_deltas), 3):
            tenant = _text(tenant_deltas[i])
            pipe.sadd(self.keys.tenant_set, tenant)
            for counter, n in zip(COUNTERS, _text(tenant_deltas[i + 1]).split(","), strict=True):
                if int(n):
                    pipe.incrby(self.keys.tenant_counter(tenant, counter), int(n))
            for item in filter(None, _text(tenant_deltas[i + 2]).split(",")):
                status, _, n = item.partition("=")
                pipe.hincrby(self.keys.tenant_statuses(tenant), status, int(n))
        if index:
            pipe.hset(self.keys.directory, mapping=index)
            pipe.sadd(self.keys.queue_set, *set(index.values()))
        if unindex:
            pipe.hdel(self.keys.directory, *unindex)
        if len(pipe):
            pipe.execute()

    def _now_arg(self, now: datetime | None) -> str:
        """`now` for a script: explicit, else the injected clock, else '' (Redis TIME)."""
        if now is not None:
            return str(to_us(now))
        if self._fixed_clock:
            return str(to_us(self.clock.now()))
        return ""

    # -- queue -------------------------------------------------------------------------

    def enqueue(self, job: Job) -> Job:
        """See JobQueue.enqueue."""
        return self.enqueue_many([job])[0]

    def enqueue_many(self, jobs: Sequence[Job]) -> list[Job]:
        """See JobQueue.enqueue_many: all or none, in one round trip when it can.

        Idempotent for a retried call: jobs already stored with identical JSON (a
        reply lost on a dropped connection) are not an error."""
        jobs = list(jobs)
        check_new_jobs(jobs)
        if not jobs:
            return []
        if self.cluster:
            self._refuse_existing(jobs, same_queue_ok=True)  # other queues: best effort
            for queue, group in _group_by_queue(jobs).items():
                self._enqueue_chunk(group)
                self._apply_global(index={j.id: queue for j in group})
        elif len(jobs) <= _MAX_BATCH:
            self._enqueue_chunk(jobs)
        else:
            self._refuse_existing(jobs)
            for start in range(0, len(jobs), _MAX_BATCH):
                self._enqueue_chunk(jobs[start : start + _MAX_BATCH])
        return jobs

    def _enqueue_chunk(self, jobs: Sequence[Job]) -> None:
        """One enqueue script call (see enqueue.lua's header for the two shapes)."""
        args: list[Any] = [len(jobs)]
        if _uniform(jobs):
            first = jobs[0]
            queues = [first.queue]
            args += (first.priority.rank, first.tenant_id or "", *queues)
            for job in jobs:
                args += (job.id, to_us(job.created_at), job.to_json_bytes())
        else:
            queues = list(_group_by_queue(jobs))
            block = {q: i for i, q in enumerate(queues, start=1)}
            args += ("", "", *queues)
            for job in jobs:
                created = to_us(job.created_at)
                args += (
                    block[job.queue],
                    job.id,
                    job.status.value,
                    job.priority.rank,
                    created if job.run_at is job.created_at else to_us(job.run_at),
                    created,
                    job.to_json_bytes(),
                    job.tenant_id or "",
                )
        reply = self._run("enqueue", queues, args)
        if _text(reply[0]) == "DUP":
            raise DuplicateJobError(_text(reply[1]))

    def _refuse_existing(self, jobs: Sequence[Job], *, same_queue_ok: bool = False) -> None:
        """Raise DuplicateJobError for an id the directory knows (with `same_queue_ok`,
        only in another queue: the queue's own script then decides)."""
        for start in range(0, len(jobs), _CHUNK):
            chunk = jobs[start : start + _CHUNK]
            found = self.client.hmget(self.keys.directory, [j.id for j in chunk])
            for job, queue in zip(chunk, found, strict=True):
                if queue is not None and (not same_queue_ok or _text(queue) != job.queue):
                    raise DuplicateJobError(job.id)

    def dequeue(
        self,
        queue: str,
        worker_id: str,
        *,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> Claim | None:
        """See JobQueue.dequeue."""
        claims = self.dequeue_many(
            queue, worker_id, 1, lease_seconds=lease_seconds, now=now, tenants=tenants
        )
        return claims[0] if claims else None

    def dequeue_many(
        self,
        queue: str,
        worker_id: str,
        count: int,
        *,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> list[Claim]:
        """See JobQueue.dequeue_many: one round trip for the whole batch."""
        groups = tenant_groups(tenants)
        if count <= 0 or not _valid_name(queue) or groups == frozenset():
            return []
        claims: list[Claim] = []
        while len(claims) < count:
            got, unreadable = self._claim(
                queue, worker_id, count - len(claims), lease_seconds, now, groups
            )
            claims += got
            if not unreadable:  # a quarantined body leaves room: claim again
                break
        return claims

    def _claim(
        self,
        queue: str,
        worker_id: str,
        count: int,
        lease_seconds: float,
        now: datetime | None,
        groups: frozenset[str] | None,
    ) -> tuple[list[Claim], int]:
        """One dequeue script call: the readable claims and how many were quarantined."""
        token_prefix = f"{secrets.token_hex(6)}.{worker_id}."
        reply = self._run(
            "dequeue",
            [queue],
            [
                self._now_arg(now),
                round(lease_seconds * 1_000_000),
                count,
                token_prefix,
                self.promote_batch,
                *sorted(groups or ()),
            ],
        )
        started, expires = from_us(_text(reply[0])), from_us(_text(reply[1]))
        claims: list[Claim] = []
        for i in range(2, len(reply), 3):
            job_id, token, raw = _text(reply[i]), _text(reply[i + 1]), reply[i + 2]
            job = self._read_claimed(queue, job_id, token, raw, started)
            if job is not None:
                claims.append(Claim(job, token, worker_id, expires))
        return claims, (len(reply) - 2) // 3 - len(claims)

    def _read_claimed(
        self, queue: str, job_id: str, token: str, raw: Any, now: datetime
    ) -> Job | None:
        """The running job from a claimed body; an unreadable body is quarantined."""
        try:
            if raw is None:
                raise InvalidJobError("json", None, "the job body is missing from Redis")
            job = Job.from_json(raw)
            if job.id != job_id or job.queue != queue:
                raise InvalidJobError(
                    "id", f"{job.queue}/{job.id}", f"the body stored for {queue}/{job_id}"
                )
        except (InvalidJobError, ValueError, TypeError) as exc:
            self._quarantine(queue, job_id, token, raw, exc)
            return None
        return started(job, now)

    def _quarantine(self, queue: str, job_id: str, token: str, raw: Any, exc: Exception) -> None:
        payload = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
        record = json.dumps(
            {
                "id": job_id,
                "queue": queue,
                "payload": payload,
                "error": f"{type(exc).__name__}: {exc}",
                "at": self.clock.now().isoformat(),
            }
        )
        self._run("quarantine", [queue], [job_id, token, record])
        log.error("quarantined job %s of queue %s: %s", job_id, queue, exc)

    def heartbeat(
        self, claim: Claim, *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> Claim:
        """See JobQueue.heartbeat."""
        renewed = self.heartbeat_many([claim], lease_seconds=lease_seconds, now=now)[0]
        if renewed is None:
            raise LeaseLostError(claim.job.id, claim.token)
        return renewed

    def heartbeat_many(
        self, claims: Sequence[Claim], *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> list[Claim | None]:
        """Extend many leases, one round trip per queue; None where a lease was lost."""
        out: list[Claim | None] = [None] * len(claims)
        for queue, positions in _positions_by_queue(c.job.queue for c in claims).items():
            args: list[Any] = [self._now_arg(now), round(lease_seconds * 1_000_000)]
            for i in positions:
                args += (claims[i].job.id, claims[i].token)
            expiries = self._run("heartbeat", [queue], args)
            for i, expiry in zip(positions, expiries, strict=True):
                if int(expiry):
                    c = claims[i]
                    out[i] = Claim(c.job, c.token, c.worker_id, from_us(expiry))
        return out

    def ack(self, claim: Claim, outcome: Job, *, now: datetime | None = None) -> Job:
        """See JobQueue.ack."""
        stored = self.ack_many([(claim, outcome)], now=now)[0]
        if stored is None:
            raise LeaseLostError(claim.job.id, claim.token)
        return stored

    def ack_many(
        self, pairs: Sequence[tuple[Claim, Job]], *, now: datetime | None = None
    ) -> list[Job | None]:
        """Record many outcomes, one round trip per queue; each is checked against its
        own lease (None where the lease was lost: refused and counted)."""
        pairs = list(pairs)
        check_outcomes(pairs)
        out: list[Job | None] = [None] * len(pairs)
        for queue, positions in _positions_by_queue(c.job.queue for c, _ in pairs).items():
            args: list[Any] = [self.history_size]
            for i in positions:
                claim, outcome = pairs[i]
                args += (
                    outcome.id,
                    claim.token,
                    outcome.status.value,
                    outcome.priority.rank,
                    _score(outcome),
                    outcome.to_json_bytes(),
                    _ack_deltas(outcome),
                )
            for i, done in zip(positions, self._run("ack", [queue], args), strict=True):
                if int(done):
                    out[i] = pairs[i][1]
        return out

    def release(self, claims: Sequence[Claim], *, now: datetime | None = None) -> list[Job]:
        """See JobQueue.release: one round trip per queue."""
        now_dt = now or self.clock.now()
        released: list[Job] = []
        for queue, positions in _positions_by_queue(c.job.queue for c in claims).items():
            jobs = [lifecycle.release(claims[i].job, now_dt) for i in positions]
            args: list[Any] = []
            for i, job in zip(positions, jobs, strict=True):
                args += (job.id, claims[i].token, job.priority.rank, job.to_json_bytes())
            flags = self._run("release", [queue], args)
            released += [job for job, flag in zip(jobs, flags, strict=True) if int(flag)]
        return released

    def reclaim_abandoned(
        self, queue: str | None = None, *, now: datetime | None = None
    ) -> list[Job]:
        """See JobQueue.reclaim_abandoned. Reads the expired leases, computes each job's
        next version, then moves each only if its lease is unchanged and still expired."""
        now_dt = now or self.clock.now()
        names = self._names(queue)
        reclaimed: list[Job] = []
        for name in names:
            reclaimed += self._reclaim_queue(name, now_dt, now)
        return reclaimed

    def _reclaim_queue(self, queue: str, now_dt: datetime, now: datetime | None) -> list[Job]:
        keys = self.keys
        done: list[Job] = []
        skipped = 0
        while True:
            expired = self.client.zrangebyscore(
                keys.queue(queue, "inflight"), "-inf", to_us(now_dt), start=skipped, num=_CHUNK
            )
            if not expired:
                return done
            ids = [_text(i) for i in expired]
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(keys.queue(queue, "jobs"), ids)
            pipe.hmget(keys.queue(queue, "state"), ids)
            pipe.hmget(keys.queue(queue, "leases"), ids)
            bodies, states, tokens = pipe.execute()
            args: list[Any] = [self._now_arg(now)]
            moved: list[Job] = []
            for job_id, raw, state, token in zip(ids, bodies, states, tokens, strict=True):
                if token is None or state is None or not _text(state).startswith("running:"):
                    skipped += 1
                    continue
                try:
                    running = with_state(Job.from_json(raw), _text(state))
                except (InvalidJobError, ValueError, TypeError) as exc:
                    self._quarantine(queue, job_id, _text(token), raw, exc)
                    continue
                job = lifecycle.reclaim(running, now_dt, self.max_reclaims)
                args += (
                    job_id,
                    _text(token),
                    job.status.value,
                    job.priority.rank,
                    _score(job),
                    job.to_json_bytes(),
                    _csv(transition_counts(_R, job, reclaimed=True)),
                )
                moved.append(job)
            if moved:
                flags = self._run("reclaim", [queue], args)
                for job, flag in zip(moved, flags, strict=True):
                    if int(flag):
                        done.append(job)
                    else:
                        skipped += 1
            if len(ids) < _CHUNK:
                return done

    def promote_due(self, now: datetime | None = None, queue: str | None = None) -> int:
        """See JobQueue.promote_due (in batches of `promote_batch` per script call)."""
        names = self._names(queue)
        now_arg = self._now_arg(now)
        moved = 0
        for name in names:
            while True:
                n = int(self._run("promote_due", [name], [now_arg, self.promote_batch])[0])
                moved += n
                if n < self.promote_batch:
                    break
        return moved

    def next_due_at(self, queue: str | None = None) -> datetime | None:
        """See JobQueue.next_due_at."""
        names = self._names(queue)
        if not names:
            return None
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zrange(self.keys.queue(name, "scheduled"), 0, 0, withscores=True)
        firsts = [int(hit[0][1]) for hit in pipe.execute() if hit]
        return from_us(min(firsts)) if firsts else None

    def peek(self, queue: str, limit: int = 10) -> list[Job]:
        """See JobQueue.peek."""
        if limit <= 0 or not _valid_name(queue):
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys.ready(queue):
            pipe.zrange(key, 0, limit - 1)
        ids = [_text(i) for chunk in pipe.execute() for i in chunk][:limit]
        return [job for _, job in self._load(queue, ids)]

    def delete(self, job_id: str) -> bool:
        """See JobQueue.delete. A running job's lease goes too; its worker's ack is refused."""
        queue = self._locate(job_id)
        if queue is None:
            return False
        deleted = bool(int(self._run("delete", [queue], [job_id])[0]))
        if self.cluster:
            self._apply_global(unindex=[job_id])
        return deleted

    def cancel(self, job_id: str, *, now: datetime | None = None) -> Job:
        """See JobQueue.cancel."""
        return self._change(job_id, lambda job: lifecycle.cancel(job, now or self.clock.now()))

    def size(self, queue: str) -> int:
        """See JobQueue.size."""
        return sum(self.sizes(queue).values())

    def sizes(self, queue: str) -> dict[Priority, int]:
        """See JobQueue.sizes."""
        if not _valid_name(queue):
            return dict.fromkeys(PRIORITIES, 0)
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys.ready(queue):
            pipe.zcard(key)
        return dict(zip(PRIORITIES, (int(n) for n in pipe.execute()), strict=True))

    def queues(self) -> list[str]:
        """See JobQueue.queues."""
        return sorted(_text(q) for q in self.client.smembers(self.keys.queue_set))

    def wait_for_jobs(
        self,
        queues: Iterable[str] | None,
        timeout: float,
        *,
        tenants: Collection[str | None] | None = None,
    ) -> bool:
        """See JobQueue.wait_for_jobs. Blocks on the queues' wake-up lists (BLPOP) where
        one call can (a standalone Redis, or one queue on Cluster), else polls. A mark
        popped from a wake-up list answers True at once, without asking the ready sets
        again (a round trip less between an enqueue and the worker's claim), unless only
        some tenants' jobs count: the mark may be for another tenant's job."""
        deadline = time.monotonic() + timeout
        fixed = None if queues is None else [q for q in queues if _valid_name(q)]
        groups = tenant_groups(tenants)
        while True:
            names = self.queues() if fixed is None else fixed
            if names and self._any_ready(names, groups):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            step = min(remaining, 0.25 if fixed is None else remaining, 5.0)
            if names and (not self.cluster or len(names) == 1):
                signals = [self.keys.queue(q, "signal") for q in names]
                woken = self.client.blpop(signals, timeout=max(step, 0.01))
                if woken is not None and groups is None:
                    return True
            else:
                time.sleep(min(step, 0.05))

    def _any_ready(self, names: Sequence[str], groups: frozenset[str] | None) -> bool:
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            for rank, key in enumerate(self.keys.ready(name)):
                if groups is None:
                    pipe.zcard(key)
                for group in groups or ():
                    pipe.zcard(self.keys.ready_group(name, rank, group or None))
        return any(int(n) for n in pipe.execute())

    # -- store -------------------------------------------------------------------------

    def save(self, job: Job) -> Job:
        """See JobStore.save. Running jobs are refused: finish them with `ack`."""
        if job.status is _R:
            refuse_running()
        for _ in range(_CAS_ATTEMPTS):
            old_queue = self._locate(job.id)
            state = None
            if old_queue is not None:
                state = self._state(old_queue, job.id)
                if state is not None and state.startswith("running:"):
                    refuse_running()
                if old_queue != job.queue:
                    self._run("delete", [old_queue], [job.id])
                    state = None
            if self._move(job, state or "", {}):
                return job
        raise RuntimeError(f"save({job.id!r}): the job kept changing; try again")

    def get(self, job_id: str) -> Job | None:
        """See JobStore.get."""
        queue = self._locate(job_id)
        if queue is None:
            return None
        loaded = self._load(queue, [job_id])
        return loaded[0][1] if loaded else None

    def find(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        queue: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        """See JobStore.find: oldest first (by created_at, then id)."""
        wanted = None if status is None else JobStatus.coerce(status)
        names = self._names(queue)

        def matches(job: Job) -> bool:
            return (job_type is None or job.job_type == job_type) and (
                tenant_id is None or job.tenant_id == tenant_id
            )

        streams = [self._scan_index(name, "created", wanted, matches) for name in names]
        merged = heapq.merge(*streams, key=lambda item: item[0])
        return [job for _, job in itertools.islice(merged, limit)]

    def dead_letters(
        self, limit: int | None = 100, *, queue: str | None = None, tenant_id: str | None = None
    ) -> list[Job]:
        """See JobStore.dead_letters: oldest death first."""
        names = self._names(queue)
        streams = [
            self._scan_index(
                name, "dead", JobStatus.DEAD, lambda j: tenant_id in (None, j.tenant_id)
            )
            for name in names
        ]
        merged = heapq.merge(*streams, key=lambda item: item[0])
        return [job for _, job in itertools.islice(merged, limit)]

    def retry_dead(self, job_id: str, *, now: datetime | None = None) -> Job:
        """See JobStore.retry_dead."""
        return self._change(job_id, lambda job: lifecycle.retry_dead(job, now or self.clock.now()))

    def quarantined(self, queue: str | None = None) -> list[dict[str, Any]]:
        """Jobs whose stored body could not be read: id, queue, payload, error, at."""
        names = self._names(queue)
        records = []
        for name in names:
            for raw in self.client.hvals(self.keys.queue(name, "quarantine")):
                records.append(json.loads(raw))
        return sorted(records, key=lambda r: (r["at"], r["id"]))

    # -- stats -------------------------------------------------------------------------

    def stats(self) -> Stats:
        """See JobStats.stats."""
        names = self.queues()
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys.global_counters:  # one per slot on Cluster: no MGET
            pipe.get(key)
        for name in names:
            pipe.hgetall(self.keys.queue(name, "statuses"))
        replies = pipe.execute()
        totals = _statuses({})
        for raw in replies[len(COUNTERS) :]:
            for status, n in _statuses(raw).items():
                totals[status] += n
        return Stats(_counters(replies[: len(COUNTERS)]), totals)

    def queue_stats(self, queue: str) -> Stats:
        """See JobStats.queue_stats."""
        if not _valid_name(queue):
            return Stats(empty_counters(), _statuses({}))
        return self._read_stats(
            [self.keys.queue_counter(queue, c) for c in COUNTERS],
            self.keys.queue(queue, "statuses"),
        )

    def tenant_stats(self, tenant_id: str) -> Stats:
        """See JobStats.tenant_stats."""
        if not _valid_name(tenant_id):
            return Stats(empty_counters(), _statuses({}))
        return self._read_stats(
            [self.keys.tenant_counter(tenant_id, c) for c in COUNTERS],
            self.keys.tenant_statuses(tenant_id),
        )

    def _read_stats(self, counter_keys: list[str], statuses_key: str) -> Stats:
        pipe = self.client.pipeline(transaction=False)
        for key in counter_keys:  # GETs, not MGET: Cluster pipelines refuse MGET
            pipe.get(key)
        pipe.hgetall(statuses_key)
        *values, raw = pipe.execute()
        return Stats(_counters(values), _statuses(raw))

    def tenants(self) -> list[str]:
        """See JobStats.tenants."""
        return sorted(_text(t) for t in self.client.smembers(self.keys.tenant_set))

    def history(self, job_type: str | None = None, limit: int = 100) -> list[Job]:
        """See JobStats.history: newest first, across queues by time of finishing."""
        names = self.queues()
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.lrange(self.keys.queue(name, "history"), 0, self.history_size - 1)
        streams = []
        for entries in pipe.execute() if names else []:
            jobs = (Job.from_json(raw) for raw in entries)
            streams.append(j for j in jobs if job_type is None or j.job_type == job_type)
        merged = heapq.merge(*streams, key=lambda j: j.updated_at, reverse=True)
        return list(itertools.islice(merged, limit))

    # -- lifecycle of the backend --------------------------------------------------------

    def clear(self) -> None:
        """Delete every key under this backend's prefix (SCAN + UNLINK)."""
        batch: list[Any] = []
        for key in self.client.scan_iter(match=self.keys.pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self._unlink(batch)
                batch = []
        if batch:
            self._unlink(batch)

    def _unlink(self, keys: list[Any]) -> None:
        if self.cluster:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.unlink(key)
            pipe.execute()
        else:
            self.client.unlink(*keys)

    def close(self) -> None:
        """Give back the connections the script calls kept, and close the client if this
        backend created it (`jobkit.connect`)."""
        self._scripts.close()
        if self.owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r}, server={_describe(self.client)})"

    # -- internals -----------------------------------------------------------------------

    def _names(self, queue: str | None) -> list[str]:
        """`[queue]` (none if the name cannot exist), or every queue for None."""
        if queue is None:
            return self.queues()
        return [queue] if _valid_name(queue) else []

    def _locate(self, job_id: str) -> str | None:
        """The queue holding `job_id`, from the directory (or, on Cluster when the
        directory lags, by asking every queue)."""
        found = self.client.hget(self.keys.directory, job_id)
        if found is not None:
            return _text(found)
        if not self.cluster:
            return None
        for name in self.queues():
            if self.client.hexists(self.keys.queue(name, "state"), job_id):
                return name
        return None

    def _state(self, queue: str, job_id: str) -> str | None:
        raw = self.client.hget(self.keys.queue(queue, "state"), job_id)
        return None if raw is None else _text(raw)

    def _load(self, queue: str, ids: Sequence[str]) -> list[tuple[str, Job]]:
        """(state, job) for each readable id of `queue`, in order; unreadable bodies are
        logged and skipped (a worker that claims one quarantines it)."""
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.keys.queue(queue, "jobs"), list(ids))
        pipe.hmget(self.keys.queue(queue, "state"), list(ids))
        bodies, states = pipe.execute()
        out = []
        for job_id, raw, state in zip(ids, bodies, states, strict=True):
            if raw is None or state is None:
                continue
            try:
                out.append((_text(state), with_state(Job.from_json(raw), _text(state))))
            except (InvalidJobError, ValueError, TypeError) as exc:
                log.error("job %s of queue %s is unreadable: %s", job_id, queue, exc)
        return out

    def _scan_index(
        self,
        queue: str,
        index: str,
        status: JobStatus | None,
        matches: Any,
    ) -> Iterator[tuple[tuple[int, str], Job]]:
        """Jobs of `queue` in the order of one of its sorted sets, lazily, in chunks:
        ((score, id), job) for those in `status` (if given) that `matches`."""
        key = self.keys.queue(queue, index)
        start = 0
        while True:
            chunk = self.client.zrange(key, start, start + _CHUNK - 1, withscores=True)
            if not chunk:
                return
            start += len(chunk)
            scores = {_text(m): int(s) for m, s in chunk}
            ids = list(scores)
            if status is not None:
                states = self.client.hmget(self.keys.queue(queue, "state"), ids)
                prefix = f"{status.value}:"
                ids = [
                    i for i, s in zip(ids, states, strict=True) if s and _text(s).startswith(prefix)
                ]
            for _, job in self._load(queue, ids):
                if matches(job):
                    yield (scores[job.id], job.id), job
            if len(chunk) < _CHUNK:
                return

    def _change(self, job_id: str, transition: Any) -> Job:
        """Apply a lifecycle transition to a stored job with compare-and-set."""
        for _ in range(_CAS_ATTEMPTS):
            queue = self._locate(job_id)
            loaded = self._load(queue, [job_id]) if queue is not None else []
            if not loaded:
                raise JobNotFoundError(job_id)
            state, job = loaded[0]
            changed = transition(job)
            if self._move(changed, state, transition_counts(job.status, changed)):
                return changed  # type: ignore[no-any-return]
        raise RuntimeError(f"job {job_id!r} kept changing; try again")

    def _move(self, job: Job, expected_state: str, deltas: dict[str, int]) -> bool:
        reply = self._run(
            "move",
            [job.queue],
            [
                job.id,
                expected_state,
                job.status.value,
                job.priority.rank,
                _score(job),
                to_us(job.created_at),
                job.to_json_bytes(),
                _csv(deltas),
                job.queue,
                job.tenant_id or "",
            ],
        )
        ok = _text(reply[0]) == "OK"
        if ok and self.cluster:
            self._apply_global(index={job.id: job.queue})
        return ok


def _counters(values: Sequence[Any]) -> dict[str, int]:
    """Counter values read in COUNTERS order (missing keys are 0)."""
    return {c: int(v or 0) for c, v in zip(COUNTERS, values, strict=True)}


def _statuses(raw: dict[Any, Any]) -> dict[str, int]:
    """Jobs per status from a `statuses` hash; every status is present."""
    counts = {_text(k): int(v) for k, v in raw.items()}
    return {s.value: counts.get(s.value, 0) for s in JobStatus}


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def _uniform(jobs: Sequence[Job]) -> bool:
    """Every job pending, in one queue, at one priority and of one tenant (or none):
    enqueue.lua's uniform shape, which sends three values per job instead of eight."""
    first = jobs[0]
    queue, priority, tenant = first.queue, first.priority, first.tenant_id
    pending = JobStatus.PENDING
    return all(
        job.status is pending
        and job.queue == queue
        and job.priority is priority
        and job.tenant_id == tenant
        for job in jobs
    )


def _group_by_queue(jobs: Iterable[Job]) -> dict[str, list[Job]]:
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.queue, []).append(job)
    return groups


def _positions_by_queue(queues: Iterable[str]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for i, queue in enumerate(queues):
        positions.setdefault(queue, []).append(i)
    return positions


def _is_cluster(client: Any) -> bool:
    try:
        from redis.cluster import RedisCluster
    except ImportError:  # pragma: no cover - redis is a dependency of this adapter
        return False
    return isinstance(client, RedisCluster)


def _describe(client: Any) -> str:
    """host:port/db of a client, never its credentials."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if isinstance(kwargs, dict) and "host" in kwargs:
        return f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
    if _is_cluster(client):
        node = client.get_default_node()
        return f"cluster@{node.host}:{node.port}"
    return type(client).__name__
