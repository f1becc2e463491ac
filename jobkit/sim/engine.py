"""The discrete-event engine: a workload replayed through real Workers on a FakeClock.

Nothing here models the queue. Each arrival becomes the job `JobKit.build` makes of it
(registered defaults filled in) and is enqueued on the backend at its time; N virtual
`Worker`s claim with `Worker.begin` and record outcomes with `Worker.finish` — the step
functions worker threads use — on any backend (in-memory by default, or a Redis URL).
The engine only decides *when* things happen: an attempt that starts at `t` and whose
behavior says it takes `d` seconds is finished at `t + d` in virtual time, its worker
holding (and, for attempts longer than the heartbeat interval, renewing) the lease
all along. A retry is promoted when it comes due, as a polling worker would.

Time is kept in integer microseconds since the workload start (datetimes have
microsecond resolution, so every backend sees exactly the same instants). Events at
the same instant run in a fixed order: finished attempts, heartbeats, retries coming
due, arrivals, then idle workers claim work (the worker idle longest first). Every
random draw comes from generators seeded by `seed`, in event order, so a run is
reproducible on any backend.
"""

from __future__ import annotations

import heapq
import itertools
import random
import struct
import uuid
from array import array
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobkit import step
from jobkit.clock import FakeClock
from jobkit.core.model import PRIORITIES, Job, JobError, JobStatus, evolved
from jobkit.core.retry import RetryPolicy
from jobkit.kit import JobKit, connect
from jobkit.ports import Claim
from jobkit.registry import Registry
from jobkit.sim.behavior import AttemptInfo, Behavior, Constant
from jobkit.sim.workload import Arrival, Workload
from jobkit.step import Outcome
from jobkit.worker import Worker

if TYPE_CHECKING:
    from jobkit.sim.result import SimulationResult

#: Called now and then during a run with (jobs finished, jobs in the workload).
Progress = Callable[[int, int], None]

_US = 1_000_000
_FINISH, _HEARTBEAT, _WAKE = 0, 1, 2  # event kinds, in their order at one instant
#: the codes the recorder uses for an attempt's outcome (a job status; see result.py)
STATUS_CODES: tuple[JobStatus, ...] = (
    JobStatus.PENDING,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.RETRYING,
    JobStatus.DEAD,
    JobStatus.SCHEDULED,
    JobStatus.CANCELLED,
)
_CODE = {s: i for i, s in enumerate(STATUS_CODES)}
_RUNNING = _CODE[JobStatus.RUNNING]
_RETRYING = JobStatus.RETRYING
_LOST = -1  # an attempt whose outcome the backend refused (the lease was lost)
_PROGRESS_EVERY = 8192
_NEVER = 1 << 62  # µs: later than any event
#: what the recorder keeps per attempt, in this order
ATTEMPT_FIELDS = ("job", "number", "started", "finished", "outcome", "error", "next", "worker")
#: one attempt row as the bytes `Recorder.attempt_rows` (an array of int64) appends:
#: packing and `frombytes` cost about a third of `array.extend` with a tuple
_ROW = struct.Struct(f"={len(ATTEMPT_FIELDS)}q").pack


class Simulation:
    """Replays workloads through the real worker step on a fake clock.

    Args:
        kit_or_registry: a JobKit (its registry and retry policy are used) or a Registry;
            None for behaviors only.
        workers: virtual workers running attempts in parallel.
        retry_policy: the default policy (handlers may register their own); default:
            the kit's, else `RetryPolicy.default()` (+30 s, +5 min, +1 h, then dead).
        seed: seeds every random draw (durations, failures, retry jitter): the same
            workload and seed give identical results.
        behaviors: job type -> Behavior; overrides those the workload declares.
        backend: where the jobs live during the run: "memory://" (default),
            "fakeredis://", or a Redis URL (jobs are kept under a private prefix that is
            cleared afterwards).
        queues: the queues workers serve, most important first; None serves all.
        default_duration: seconds an attempt takes for a job type that has a registered
            handler but no behavior (the handler runs for real; time is simulated).
        default_behavior: for job types with neither a behavior nor a handler.
        sample_every: seconds between queue-depth samples; None picks about 500 samples
            over the workload's span (at least one per second of virtual time).
        visibility_timeout / heartbeat_interval: the workers' lease settings; attempts
            longer than the interval renew their lease, as worker threads do.
        fair: tenants take turns within each priority (True, the default, as in
            production); False serves each priority first in, first out. Compare the
            two to see what fair scheduling does for small tenants.
    """

    def __init__(
        self,
        kit_or_registry: JobKit | Registry | None = None,
        *,
        workers: int = 5,
        retry_policy: RetryPolicy | None = None,
        seed: int = 0,
        behaviors: Mapping[str, Behavior] | None = None,
        backend: str = "memory://",
        queues: Sequence[str] | None = None,
        default_duration: float = 1.0,
        default_behavior: Behavior | None = None,
        sample_every: float | None = None,
        visibility_timeout: float = 30.0,
        heartbeat_interval: float = 10.0,
        fair: bool = True,
    ) -> None:
        if not isinstance(fair, bool):
            raise ValueError(f"fair={fair!r} must be True or False")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be an int >= 1")
        if sample_every is not None and not sample_every > 0:
            raise ValueError(f"sample_every={sample_every!r} must be a number of seconds > 0")
        if isinstance(kit_or_registry, JobKit):
            self.registry = kit_or_registry.registry
            policy = retry_policy or kit_or_registry.retry_policy
        else:
            self.registry = kit_or_registry if kit_or_registry is not None else Registry()
            policy = retry_policy or RetryPolicy.default()
        self.retry_policy = policy
        self.workers = workers
        self.seed = seed
        self.behaviors = dict(behaviors or {})
        self.backend_url = backend
        self.queues = None if queues is None else list(queues)
        self.default_duration = Constant(default_duration)
        self.default_behavior = default_behavior or Behavior()
        self.sample_every = sample_every
        self.visibility_timeout = visibility_timeout
        self.heartbeat_interval = heartbeat_interval
        self.fair = fair

    def behavior_for(self, job_type: str, workload: Workload | None = None) -> Behavior:
        """The behavior attempts of `job_type` follow: this simulation's, else the
        workload's, else the registered handler (run for real, `default_duration`
        long), else `default_behavior`."""
        found = self.behaviors.get(job_type)
        if found is None and workload is not None:
            found = workload.behaviors.get(job_type)
        if found is not None:
            return found
        if self.registry.spec(job_type) is not None:
            return Behavior(duration=self.default_duration, handler=True)
        return self.default_behavior

    def run(
        self,
        workload: Workload,
        *,
        until: float | datetime | None = None,
        progress: Progress | None = None,
    ) -> SimulationResult:
        """Replay `workload` until every job is finished (completed or dead), or until
        `until` (seconds after the start, or a datetime); returns the result frames."""
        from jobkit.sim.result import SimulationResult

        run = _Run(self, workload, until, progress)
        try:
            recorder = run.play()
        finally:
            run.close()
        return SimulationResult(recorder, self, workload)

    @staticmethod
    def compare(results: Mapping[str, SimulationResult]) -> Any:
        """One tidy DataFrame of several results' summaries (see `jobkit.sim.compare`)."""
        from jobkit.sim.result import compare

        return compare(results)

    def __repr__(self) -> str:
        return (
            f"Simulation(workers={self.workers}, seed={self.seed}, backend={self.backend_url!r}, "
            f"retry_policy={self.retry_policy!r}, fair={self.fair})"
        )


class Recorder:
    """What a run records, as compact columns (microseconds since the start, codes)."""

    def __init__(self, count: int, start: datetime) -> None:
        self.start = start
        self.end_us = 0
        self.arrived = 0  #: jobs 0..arrived-1 were enqueued (arrivals are in time order)
        # per job, indexed by arrival number: when it arrived, and its kind (an index into
        # `kinds`); everything else about a job is worked out from its attempts
        self.enqueued = array("q")
        self.kind = array("l", bytes(8 * count))
        #: per kind: (job_type code, queue code, priority rank, tenant code)
        self.kinds: list[tuple[int, int, int, int]] = []
        #: per attempt, ATTEMPT_FIELDS values one after another (one extend per attempt)
        self.attempt_rows = array("q")
        # interned strings: code -> text
        self.names: dict[str, list[str | None]] = {
            "job_type": [],
            "queue": [],
            "tenant": [None],
            "error": [None],
        }
        self._codes: dict[str, dict[str | None, int]] = {
            key: {v: i for i, v in enumerate(values)} for key, values in self.names.items()
        }
        # queue depth samples: (at µs, queue code, priority rank, pending, running, retrying)
        self.depth: list[tuple[int, int, int, int, int, int]] = []
        self.counters: list[tuple[str, dict[str, int]]] = []

    def code(self, kind: str, value: str | None) -> int:
        """The small int standing for `value` in column `kind`."""
        codes = self._codes[kind]
        found = codes.get(value)
        if found is None:
            found = codes[value] = len(self.names[kind])
            self.names[kind].append(value)
        return found


class _Run:
    """One replay: the backend, the workers and the event loop."""

    def __init__(
        self,
        sim: Simulation,
        workload: Workload,
        until: float | datetime | None,
        progress: Progress | None,
    ) -> None:
        self.sim = sim
        self.workload = workload
        self.start = workload.start
        self.clock = FakeClock(workload.start)
        self.until_us = _until_us(until, workload.start)
        self.progress = progress
        self.kit = self._connect(sim.backend_url)
        self.backend = self.kit.backend
        self.workers = [
            Worker(
                self.backend,
                sim.registry,
                queues=sim.queues,
                clock=self.clock,
                retry_policy=sim.retry_policy,
                worker_id=f"sim-{i}",
                visibility_timeout=sim.visibility_timeout,
                heartbeat_interval=sim.heartbeat_interval,
                rng=random.Random(f"jobkit-sim:{sim.seed}:jitter:{i}"),
            )
            for i in range(sim.workers)
        ]
        self.rng = random.Random(f"jobkit-sim:{sim.seed}:behavior")
        self.rec = Recorder(len(workload), workload.start)
        width = len(str(max(len(workload) - 1, 0)))
        self.job_id = f"sim-{{:0{width}d}}".format  # the id of arrival number i
        self.behaviors: dict[str, Behavior] = {}
        self.templates: dict[tuple[Any, ...], tuple[Job, int]] = {}  # kind -> (job, number)
        span = workload.span
        every = sim.sample_every if sim.sample_every is not None else max(1.0, span / 500)
        self.sample_us = max(1, round(every * _US))
        self.seq = itertools.count()  # orders events of one kind at one instant
        self.pending = 0  # jobs ready to claim (arrived or due, not yet claimed)
        self.heartbeat_us = round(sim.heartbeat_interval * _US)
        # handed to failure models, refilled for each attempt (they must not keep it)
        self.attempt_info = AttemptInfo({}, 0, workload.start, 0.0)

    def _connect(self, url: str) -> JobKit:
        options: dict[str, Any] = {"fair": self.sim.fair}
        if url.startswith("memory:"):
            # the recorder keeps what the frames need; nothing kept behind means the memory
            # of each finished job is reused at once (about 8% faster at 300,000 jobs)
            options["keep_finished"] = 0
            options["history_size"] = 0
        else:
            options["prefix"] = f"jobkit-sim-{uuid.uuid4().hex[:12]}"
        return connect(
            url,
            clock=self.clock,
            retry_policy=self.sim.retry_policy,
            registry=self.sim.registry,
            **options,
        )

    def close(self) -> None:
        """Drop what the run stored (a Redis prefix) and close the backend."""
        try:
            if not self.sim.backend_url.startswith("memory:"):
                self.backend.clear()
        finally:
            self.backend.close()

    # -- the loop ------------------------------------------------------------------------

    def play(self) -> Recorder:
        """Run every event in time order; returns the filled recorder."""
        rec = self.rec
        arrivals = self.workload.arrivals
        total = len(arrivals)
        at_us = [round(a.at * _US) for a in arrivals]
        rec.enqueued = array("q", at_us)
        at_us.append(_NEVER)  # a sentinel: no arrival left
        until = _NEVER - 1 if self.until_us is None else self.until_us
        events: list[tuple[int, int, int, Any]] = []  # (µs, kind, seq, payload)
        idle: deque[int] = deque(range(len(self.workers)))
        held: list[tuple[Claim, int, int, int, Outcome] | None] = [None] * len(self.workers)
        nxt = 0  # next arrival
        next_sample = 0
        done = 0
        report_at = _PROGRESS_EVERY
        now_us = 0
        start = self.start
        progress = self.progress
        while True:
            t = at_us[nxt]
            if events and events[0][0] <= t:
                t = events[0][0]
            if t == _NEVER:
                break
            if t > until:
                now_us = until
                break
            while next_sample <= t:
                self._sample(next_sample, held, events)
                next_sample += self.sample_us
            now_us = t
            now = start + timedelta(0, 0, t)
            while events and events[0][0] == t:
                _, kind, _, payload = heapq.heappop(events)
                if kind == _FINISH:
                    w = payload
                    entry = held[w]
                    assert entry is not None
                    held[w] = None
                    done += self._finish(w, entry, t, now, events)
                    idle.append(w)
                elif kind == _WAKE:
                    self.backend.promote_due(now, payload[0])
                    self.pending += 1
                else:  # heartbeat of a long attempt
                    w, token = payload
                    entry = held[w]
                    if entry is not None and entry[0].token == token:
                        self._heartbeat(w, entry, now, events, t)
            if at_us[nxt] == t:
                first = nxt
                while at_us[nxt] == t:
                    nxt += 1
                self._arrive(first, nxt, now)
                self.pending += nxt - first
            if self.pending and idle:
                self._dispatch(idle, held, events, now, t)
            if progress is not None and done >= report_at:
                progress(done, total)
                report_at = done + _PROGRESS_EVERY
        while next_sample <= now_us:
            self._sample(next_sample, held, events)
            next_sample += self.sample_us
        self.clock.set(start + timedelta(microseconds=now_us))
        self._unfinished(held)
        rec.arrived = nxt
        rec.end_us = now_us
        rec.counters = [("global", self.backend.stats().counters)] + [
            (q, self.backend.queue_stats(q).counters) for q in self.backend.queues()
        ]
        if self.progress:
            self.progress(done, total)
        return rec

    # -- steps ---------------------------------------------------------------------------

    def _arrive(self, first: int, stop: int, now: datetime) -> None:
        """Enqueue arrivals first..stop-1 (all at `now`) in one call.

        Each job is what `kit.build` makes of the arrival: `build` validates and fills in
        the registered defaults once per kind of arrival (job type, queue, priority,
        tenant); each arrival then gets its own id, args and times (its args were
        validated when the workload was read)."""
        rec = self.rec
        arrivals = self.workload.arrivals
        templates = self.templates
        job_id = self.job_id
        kinds = rec.kind
        jobs = []
        for i in range(first, stop):
            a = arrivals[i]
            key = (a.job_type, a.queue, a.priority, a.tenant_id)
            found = templates.get(key)
            if found is None:
                found = templates[key] = self._template(a, now)
            template, kind = found
            jobs.append(
                evolved(
                    template,
                    {
                        "id": job_id(i),
                        "args": dict(a.args),
                        "metadata": {},
                        "run_at": now,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            )
            kinds[i] = kind
        if len(jobs) == 1:
            self.backend.enqueue(jobs[0])
        else:
            self.backend.enqueue_many(jobs)

    def _template(self, a: Arrival, now: datetime) -> tuple[Job, int]:
        """The job `kit.build` makes for this kind of arrival, and the kind's number."""
        self.clock.set(now)
        job = self.kit.build(
            a.job_type, None, queue=a.queue, priority=a.priority, tenant_id=a.tenant_id, id="sim"
        )
        rec = self.rec
        rec.kinds.append(
            (
                rec.code("job_type", job.job_type),
                rec.code("queue", job.queue),
                job.priority.rank,
                rec.code("tenant", job.tenant_id),
            )
        )
        return job, len(rec.kinds) - 1

    def _dispatch(
        self,
        idle: deque[int],
        held: list[Any],
        events: list[tuple[int, int, int, Any]],
        now: datetime,
        t: int,
    ) -> None:
        """Idle workers claim jobs until none is ready (or none is idle)."""
        rng = self.rng
        info = self.attempt_info
        while idle and self.pending:
            w = idle[0]
            claim = self.workers[w].begin(now)
            if claim is None:  # what is pending is in queues these workers do not serve
                return
            idle.popleft()
            self.pending -= 1
            job = claim.job
            i = int(job.id[4:])
            number = job.retry_count + 1
            behavior = self.behaviors.get(job.job_type)
            if behavior is None:
                behavior = self.behaviors[job.job_type] = self.sim.behavior_for(
                    job.job_type, self.workload
                )
            info.args, info.attempt, info.now, info.elapsed = job.args, number, now, t / _US
            if behavior.failure.fails(rng, info):
                outcome = Outcome.failure(JobError(behavior.error_type, behavior.error_message))
            elif behavior.handler:  # the real handler, at the attempt's start
                self.clock.set(now)
                outcome = step.run(self.sim.registry, job)
            else:
                outcome = _SUCCESS
            took = behavior.duration
            if not outcome.ok and behavior.failure_duration is not None:
                took = behavior.failure_duration
            duration = round(took.sample(rng) * _US)
            held[w] = (claim, i, t, number, outcome)
            heapq.heappush(events, (t + duration, _FINISH, next(self.seq), w))
            if duration > self.heartbeat_us:
                beat = t + self.heartbeat_us
                heapq.heappush(events, (beat, _HEARTBEAT, next(self.seq), (w, claim.token)))

    def _finish(
        self,
        w: int,
        entry: tuple[Claim, int, int, int, Outcome],
        t: int,
        now: datetime,
        events: list[tuple[int, int, int, Any]],
    ) -> int:
        """Record the attempt's outcome through the worker; 1 if the job is finished."""
        claim, i, started, number, outcome = entry
        rec = self.rec
        job = self.workers[w].finish(claim, outcome, now)
        if job is None:  # refused: the lease was lost meanwhile
            rec.attempt_rows.frombytes(_ROW(i, number, started, t, _LOST, 0, -1, w))
            return 0
        status = job.status
        code = _CODE[status]
        error = rec.code("error", job.error.type) if job.error is not None else 0
        if status is _RETRYING:
            due = _us_between(self.start, job.run_at)
            rec.attempt_rows.frombytes(_ROW(i, number, started, t, code, error, due, w))
            heapq.heappush(events, (due, _WAKE, next(self.seq), (job.queue, job.priority.rank)))
            return 0
        rec.attempt_rows.frombytes(_ROW(i, number, started, t, code, error, -1, w))
        return 1

    def _heartbeat(
        self,
        w: int,
        entry: tuple[Claim, int, int, int, Outcome],
        now: datetime,
        events: list[tuple[int, int, int, Any]],
        t: int,
    ) -> None:
        """Renew a long attempt's lease, as a worker's heartbeat thread does."""
        worker = self.workers[w]
        claim = entry[0]
        renewed = self.backend.heartbeat_many(
            [claim], lease_seconds=worker.visibility_timeout, now=now
        )
        if renewed[0] is not None:
            beat = t + round(worker.heartbeat_interval * _US)
            heapq.heappush(events, (beat, _HEARTBEAT, next(self.seq), (w, claim.token)))

    def _sample(self, at: int, held: list[Any], events: list[tuple[int, int, int, Any]]) -> None:
        """Record queue depth per queue and priority at `at` µs: pending from the
        backend; running from the workers' hands; retrying from the retries not yet due."""
        rec = self.rec
        running: dict[tuple[int, int], int] = {}
        for entry in held:
            if entry is not None:
                _, queue, rank, _ = rec.kinds[rec.kind[entry[1]]]
                key = (queue, rank)
                running[key] = running.get(key, 0) + 1
        waiting: dict[tuple[int, int], int] = {}
        for _, kind, _, payload in events:
            if kind == _WAKE:  # a retry not yet promoted: still retrying in the backend
                key = (rec.code("queue", payload[0]), payload[1])
                waiting[key] = waiting.get(key, 0) + 1
        for queue in self.backend.queues():
            q = rec.code("queue", queue)
            sizes = self.backend.sizes(queue)
            for priority in PRIORITIES:
                key = (q, priority.rank)
                rec.depth.append(
                    (
                        at,
                        q,
                        priority.rank,
                        sizes[priority],
                        running.get(key, 0),
                        waiting.get(key, 0),
                    )
                )

    def _unfinished(self, held: list[Any]) -> None:
        """Attempts still running when the run stopped (at `until`) get a row too."""
        rec = self.rec
        for w, entry in enumerate(held):
            if entry is None:
                continue
            _, i, started, number, _ = entry
            rec.attempt_rows.frombytes(_ROW(i, number, started, -1, _RUNNING, 0, -1, w))


_SUCCESS = Outcome.success(None)


def _us_between(start: datetime, end: datetime) -> int:
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _until_us(until: float | datetime | None, start: datetime) -> int | None:
    if until is None:
        return None
    if isinstance(until, datetime):
        return _us_between(start, until)
    if isinstance(until, bool) or not isinstance(until, int | float) or not until >= 0:
        raise ValueError(f"until={until!r} must be seconds >= 0 after the start, or a datetime")
    return round(until * _US)


__all__ = ["ATTEMPT_FIELDS", "STATUS_CODES", "Progress", "Recorder", "Simulation"]
