"""JobKit: one object holding a backend, a handler registry, a clock and a retry policy.

>>> import jobkit
>>> kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
>>> @kit.handler("greet")
... def greet(args):
...     return f"hello {args['name']}"
>>> job = kit.enqueue("greet", {"name": "Ada"}, priority="high")
>>> kit.run_until_idle()
1
>>> kit.get(job.id).result
'hello Ada'
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jobkit.clock import SystemClock
from jobkit.core.errors import InvalidJobError, InvalidUrlError, JobNotFoundError
from jobkit.core.model import (
    Job,
    JobStatus,
    Priority,
    build_job,
    evolved,
    json_object,
    require_aware,
    validate_id,
    validate_name,
)
from jobkit.core.retry import MAX_SECONDS, RetryPolicy
from jobkit.core.stats import Stats
from jobkit.ids import new_job_id
from jobkit.ports import Clock, Handler, JobBackend
from jobkit.registry import HandlerSpec, Registry
from jobkit.worker import Worker, WorkerPool

if TYPE_CHECKING:
    import pandas as pd

    from jobkit.widgets import Dashboard

_UNSET: Any = object()
_MAX_TEMPLATES = 256  # build() templates kept per kit (job type x options combinations)
_MEMORY_OPTIONS = ("max_reclaims", "history_size", "keep_finished", "fair")
_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "fakeredis")
_BUILD_OPTIONS = frozenset(
    {
        "job_type",
        "args",
        "queue",
        "priority",
        "max_retries",
        "run_at",
        "delay",
        "tenant_id",
        "metadata",
        "id",
    }
)


def create_job(
    job_type: str,
    args: Mapping[str, Any] | None = None,
    *,
    queue: str = "default",
    priority: Priority | str = Priority.DEFAULT,
    max_retries: int = 3,
    run_at: datetime | None = None,
    tenant_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    id: str | None = None,
    now: datetime | None = None,
) -> Job:
    """A validated new Job (pending, or scheduled if `run_at` is in the future).

    `id` defaults to a fresh random id and `now` to the system time; the pure
    `jobkit.core.model.build_job` does the validation. Raises InvalidJobError naming
    the bad field and value; nothing is enqueued.
    """
    return build_job(
        job_type,
        args,
        id=new_job_id() if id is None else id,
        now=datetime.now(UTC) if now is None else now,
        queue=queue,
        priority=priority,
        max_retries=max_retries,
        run_at=run_at,
        tenant_id=tenant_id,
        metadata=metadata,
    )


class JobKit:
    """The facade most code uses: enqueue, run, inspect.

    `backend`, `registry`, `clock` and `retry_policy` are public attributes.
    """

    def __init__(
        self,
        backend: JobBackend,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        retry_policy: RetryPolicy | None = None,
        tenant_id: str | None = None,
        id_factory: Callable[[], str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = backend
        self.registry = registry if registry is not None else Registry()
        self.clock: Clock = clock or getattr(backend, "clock", None) or SystemClock()
        self.retry_policy = retry_policy or RetryPolicy.default()
        self.tenant_id = tenant_id
        self.id_factory = id_factory or new_job_id
        self.rng = rng or random.Random()
        self._inline: Worker | None = None
        # build()'s templates: (job type, options as given) -> (the handler spec they
        # were built under, the job)
        self._templates: dict[tuple[Any, ...], tuple[HandlerSpec | None, Job]] = {}

    # -- handlers ---------------------------------------------------------------------

    def handler(self, job_type: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator registering a handler; options as in `Registry.register`."""
        return self.registry.handler(job_type, **options)

    def register(self, job_type: str, fn: Handler, **options: Any) -> Handler:
        """Register `fn` for `job_type` (see `Registry.register`)."""
        return self.registry.register(job_type, fn, **options)

    # -- enqueue ----------------------------------------------------------------------

    def build(
        self,
        job_type: str,
        args: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: Priority | str | None = None,
        max_retries: int | None = None,
        run_at: datetime | None = None,
        delay: float | timedelta | None = None,
        tenant_id: str | None = _UNSET,
        metadata: Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> Job:
        """A validated job with this kit's defaults filled in, not yet enqueued.

        Unset options come from the handler's registration, then the library
        defaults (queue "default", priority "default", max_retries 3)."""
        spec = self.registry.spec(job_type) if isinstance(job_type, str) else None
        now = self.clock.now()
        if run_at is None and delay is None and now.tzinfo is UTC:
            options = (job_type, queue, priority, max_retries, type(max_retries), tenant_id)
            job = self._from_template(options, spec, args, metadata, id, now)
            if job is not None:
                return job
        if delay is not None:
            if run_at is not None:
                raise InvalidJobError("delay", delay, "give run_at or delay, not both")
            run_at = now + _delay(delay)
        return self._build_validated(
            job_type, args, spec, now, queue, priority, max_retries, run_at, tenant_id, metadata, id
        )

    def _build_validated(
        self,
        job_type: str,
        args: Mapping[str, Any] | None,
        spec: HandlerSpec | None,
        now: datetime,
        queue: str | None,
        priority: Priority | str | None,
        max_retries: int | None,
        run_at: datetime | None,
        tenant_id: str | None,
        metadata: Mapping[str, Any] | None,
        id: str | None,
    ) -> Job:
        """`build` without templates: the defaults resolved, every field checked."""
        return build_job(
            job_type,
            args,
            id=id if id is not None else self.id_factory(),
            now=now,
            queue=_first_set(queue, spec.queue if spec else None, "default"),
            priority=_first_set(priority, spec.priority if spec else None, Priority.DEFAULT),
            max_retries=_first_set(max_retries, spec.max_retries if spec else None, 3),
            run_at=run_at,
            tenant_id=self._tenant(self.tenant_id if tenant_id is _UNSET else tenant_id),
            metadata=metadata,
        )

    def _from_template(
        self,
        options: tuple[Any, ...],
        spec: HandlerSpec | None,
        args: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        id: str | None,
        now: datetime,
    ) -> Job | None:
        """A job due now: a copy of the one this kit built (and validated) the first
        time it saw these options (job type, queue, priority, max_retries and its type,
        tenant) under this handler spec, with its own id, args, metadata and times. Most
        of a build is resolving and checking the options, which repeat from call to call.
        None when the options cannot be a key (unhashable): the full path names them."""
        try:
            cached = self._templates.get(options)
        except TypeError:
            return None
        if cached is None or cached[0] is not spec:
            job_type, queue, priority, max_retries, _, tenant_id = options
            template = self._build_validated(
                job_type, None, spec, now, queue, priority, max_retries, None, tenant_id, None,
                "template",
            )  # fmt: skip
            if len(self._templates) >= _MAX_TEMPLATES:
                self._templates.clear()
            cached = self._templates[options] = (spec, template)
        return evolved(
            cached[1],
            {
                "id": validate_id(self.id_factory() if id is None else id),
                "args": json_object("args", args),
                "metadata": json_object("metadata", metadata),
                "run_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )

    def enqueue(self, job_type: str, args: Mapping[str, Any] | None = None, **options: Any) -> Job:
        """Validate and enqueue one job; returns it (pending, or scheduled with run_at/delay).

        Options: queue, priority, max_retries, run_at, delay, tenant_id, metadata, id.
        Bad input raises InvalidJobError and enqueues nothing."""
        return self.backend.enqueue(self.build(job_type, args, **options))

    def enqueue_many(self, jobs: Iterable[Mapping[str, Any] | Job]) -> list[Job]:
        """Enqueue many jobs atomically (all or none). Each item is a Job or a dict of
        `enqueue` keyword arguments including `job_type`."""
        built = [item if isinstance(item, Job) else self._build_from(item) for item in jobs]
        if self.tenant_id is not None:
            for job in built:
                self._tenant(job.tenant_id)
        return self.backend.enqueue_many(built)

    def _build_from(self, item: Mapping[str, Any]) -> Job:
        if not isinstance(item, Mapping):
            raise InvalidJobError(
                "jobs", item, "items must be Jobs or dicts of enqueue() arguments"
            )
        options = dict(item)
        if "job_type" not in options:
            raise InvalidJobError("job_type", None, "is required in each enqueue_many() dict")
        unknown = options.keys() - _BUILD_OPTIONS
        if unknown:
            raise InvalidJobError(
                "jobs",
                sorted(unknown),
                f"unknown keys; allowed: {', '.join(sorted(_BUILD_OPTIONS))}",
            )
        return self.build(**options)

    def _tenant(self, tenant_id: str | None) -> str | None:
        """The tenant a new job gets: a tenant-scoped kit only writes its own jobs."""
        if self.tenant_id is not None and tenant_id != self.tenant_id:
            raise InvalidJobError(
                "tenant_id", tenant_id, f"this kit acts for tenant {self.tenant_id!r} only"
            )
        return tenant_id

    def schedule(
        self,
        job_type: str,
        args: Mapping[str, Any] | None = None,
        *,
        run_at: datetime | None = None,
        delay: float | timedelta | None = None,
        **options: Any,
    ) -> Job:
        """Enqueue a job to run at `run_at` (aware datetime) or after `delay` seconds."""
        if (run_at is None) == (delay is None):
            raise InvalidJobError(
                "run_at", run_at, "schedule() needs exactly one of run_at or delay"
            )
        if run_at is not None:
            run_at = require_aware("run_at", run_at)
        return self.enqueue(job_type, args, run_at=run_at, delay=delay, **options)

    # -- inspect and manage ----------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None (another tenant's job is None too)."""
        job = self.backend.get(job_id)
        if job is not None and self.tenant_id is not None and job.tenant_id != self.tenant_id:
            return None
        return job

    def find(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        queue: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        """Jobs matching every filter (see JobStore.find); scoped to this kit's tenant."""
        return self.backend.find(
            status=status,
            job_type=job_type,
            queue=queue,
            tenant_id=self.tenant_id or tenant_id,
            limit=limit,
        )

    def cancel(self, job_id: str) -> Job:
        """Cancel a job that has not started yet."""
        self._require(job_id)
        return self.backend.cancel(job_id, now=self.clock.now())

    def delete(self, job_id: str) -> bool:
        """Remove a job entirely; False if it did not exist."""
        if self.get(job_id) is None:
            return False
        return self.backend.delete(job_id)

    def dead_letters(self, limit: int | None = 100, *, queue: str | None = None) -> list[Job]:
        """Jobs in the dead-letter queue (this kit's tenant only, if it has one)."""
        return self.backend.dead_letters(limit, queue=queue, tenant_id=self.tenant_id)

    def retry_dead(self, job_id: str) -> Job:
        """Put a dead job back as pending with its retry count reset."""
        self._require(job_id)
        return self.backend.retry_dead(job_id, now=self.clock.now())

    def stats(self) -> Stats:
        """Global counters and jobs per status (this kit's tenant's, if it has one)."""
        if self.tenant_id is not None:
            return self.backend.tenant_stats(self.tenant_id)
        return self.backend.stats()

    def tenant_stats(self, tenant_id: str) -> Stats:
        """Counters and jobs per status of one tenant, over every queue."""
        return self.backend.tenant_stats(validate_name("tenant_id", tenant_id))

    def tenants(self) -> list[str]:
        """Every tenant that had a job, sorted."""
        return self.backend.tenants()

    def queue_stats(self, queue: str) -> Stats:
        """Counters and jobs per status of one queue."""
        return self.backend.queue_stats(queue)

    def sizes(self, queue: str = "default") -> dict[Priority, int]:
        """Ready jobs of `queue` per priority."""
        return self.backend.sizes(queue)

    def queues(self) -> list[str]:
        """Every queue name the backend knows."""
        return self.backend.queues()

    # -- run --------------------------------------------------------------------------

    def run_until_idle(
        self, max_jobs: int | None = None, *, queues: Sequence[str] | None = None
    ) -> int:
        """Process ready jobs in this thread until none is ready; how many ran.

        Deterministic; call it from one thread at a time. Scheduled jobs and retries
        wait for their time: advance a FakeClock to run them."""
        if queues is not None:
            return self.worker(queues=queues).run_until_idle(max_jobs)
        if self._inline is None:
            self._inline = self.worker(worker_id="inline")
        return self._inline.run_until_idle(max_jobs)

    def worker(
        self, *, visibility_timeout: float = 30.0, heartbeat_interval: float = 10.0, **options: Any
    ) -> Worker:
        """A Worker on this kit's backend, registry, clock, policy and rng."""
        self._worker_defaults(options)
        return Worker(
            self.backend,
            self.registry,
            visibility_timeout=visibility_timeout,
            heartbeat_interval=heartbeat_interval,
            **options,
        )

    def pool(self, worker_count: int = 5, poll_interval: float = 0.5, **options: Any) -> WorkerPool:
        """A WorkerPool (not started) on this kit; use `with kit.pool() as pool:`."""
        self._worker_defaults(options)
        return WorkerPool(
            self.backend,
            self.registry,
            worker_count=worker_count,
            poll_interval=poll_interval,
            **options,
        )

    def _worker_defaults(self, options: dict[str, Any]) -> None:
        options.setdefault("clock", self.clock)
        options.setdefault("retry_policy", self.retry_policy)
        options.setdefault("rng", self.rng)
        if self.tenant_id is not None:  # a tenant's kit runs that tenant's jobs only
            options.setdefault("tenants", [self.tenant_id])

    # -- tenants ----------------------------------------------------------------------

    def for_tenant(self, tenant_id: str) -> JobKit:
        """The same kit (backend, registry, clock, policy) acting for `tenant_id`:
        enqueues carry it; get/find/dead_letters/stats see only its jobs, and its
        workers, pools and run_until_idle run only its jobs."""
        return JobKit(
            self.backend,
            registry=self.registry,
            clock=self.clock,
            retry_policy=self.retry_policy,
            tenant_id=validate_name("tenant_id", tenant_id),
            id_factory=self.id_factory,
            rng=self.rng,
        )

    # -- frames -----------------------------------------------------------------------

    def jobs_frame(self, **filters: Any) -> pd.DataFrame:
        """Every job (or those matching `find` filters) as a typed DataFrame."""
        from jobkit.frames import jobs_frame

        return jobs_frame(self, **filters)

    def stats_frame(self) -> pd.DataFrame:
        """Counters per queue and globally as a DataFrame."""
        from jobkit.frames import stats_frame

        return stats_frame(self)

    # -- notebooks --------------------------------------------------------------------

    def dashboard(self, **options: Any) -> Dashboard:
        """A live `jobkit.widgets.Dashboard` of this kit (options as in Dashboard:
        refresh=1.0, recent=10, dead_limit=20, autostart=True); needs jobkit[notebook].
        Call its `close()` to stop the background refresh."""
        from jobkit.widgets import Dashboard

        return Dashboard(self, **options)

    def _repr_html_(self) -> str:
        """An HTML overview for Jupyter: backend, clock, handlers, jobs per status,
        counters and ready jobs per queue (`jobkit.core.display.kit_html`); a backend
        error is shown in place of the numbers instead of raising."""
        from jobkit.core.display import escape, kit_html

        try:
            stats = self.backend.stats()
            queues = {
                q: {p.value: n for p, n in self.backend.sizes(q).items()}
                for q in self.backend.queues()
            }
        except Exception as exc:
            return (
                f'<div class="jobkit-kit"><code>{escape(repr(self))}</code><br/>'
                f'<span class="jobkit-error" style="color:#dc2626">could not read the backend: '
                f"{escape(type(exc).__name__)}: {escape(exc)}</span></div>"
            )
        return kit_html(
            backend=repr(self.backend),
            handlers=self.registry.job_types(),
            counts=stats.statuses,
            counters=stats.counters,
            queues=queues,
            tenant_id=self.tenant_id,
            clock=repr(self.clock),
        )

    @contextlib.contextmanager
    def using(self, backend: JobBackend, *, clock: Clock | None = None) -> Iterator[JobKit]:
        """Run this kit on `backend` (and `clock`: by default the backend's) until the
        block ends, then put the old ones back. The kit object itself is changed, so
        every thread and every module holding it sees the swap: how a test points an
        application's kit at a throwaway backend (the pytest plugin's `jobkit_app`)."""
        saved = (self.backend, self.clock, self._inline)
        self.backend = backend
        self.clock = clock or getattr(backend, "clock", None) or self.clock
        self._inline = None
        try:
            yield self
        finally:
            self.backend, self.clock, self._inline = saved

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()

    def __repr__(self) -> str:
        tenant = f", tenant_id={self.tenant_id!r}" if self.tenant_id else ""
        return f"JobKit({self.backend!r}, handlers={self.registry.job_types()!r}{tenant})"

    def _require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job


def connect(
    url: str = "memory://",
    *,
    clock: Clock | None = None,
    retry_policy: RetryPolicy | None = None,
    registry: Registry | None = None,
    **options: Any,
) -> JobKit:
    """A JobKit on the backend the URL names.

    Supported:
    - `memory://`: the in-memory default (options: max_reclaims, history_size,
      keep_finished, fair — see InMemoryBackend);
    - `redis://[user:password@]host:port/db`, `rediss://…` (TLS), `unix:///socket`,
      `redis+cluster://host:port` (Redis Cluster), `fakeredis://` (a private in-process
      Redis): RedisBackend (options: prefix, max_reclaims, history_size, promote_batch,
      fair). With `fair=False`, each priority is served first in, first out instead of
      letting tenants take turns.
      With no `clock`, time is the Redis server's clock. Needs `pip install jobkit[redis]`.

    Raises InvalidUrlError naming the URL's scheme otherwise; the URL is never shown
    with its password.
    """
    scheme = urlsplit(url).scheme if isinstance(url, str) else None
    backend: JobBackend
    if scheme == "memory":
        from jobkit.adapters.memory import InMemoryBackend

        backend_options = {k: options.pop(k) for k in _MEMORY_OPTIONS if k in options}
        backend = InMemoryBackend(clock, **backend_options)
    elif scheme in _REDIS_SCHEMES:
        from jobkit.adapters.redis.connect import backend_from_url

        try:
            backend = backend_from_url(url, clock, options)
        except InvalidJobError:  # a bad option, named with its value
            raise
        except ValueError as exc:  # redis-py's own URL errors may quote the URL
            raise InvalidUrlError(
                f"invalid url={_redact(url)!r}: {str(exc).replace(url, str(_redact(url)))}"
            ) from None
    else:
        raise InvalidUrlError(
            f"invalid url={_redact(url)!r}: unsupported scheme {scheme!r}; supported: "
            + ", ".join(f"{s}://" for s in ("memory", *_REDIS_SCHEMES))
        )
    return JobKit(backend, registry=registry, clock=clock, retry_policy=retry_policy, **options)


def _redact(url: object) -> object:
    """The URL without credentials, so errors and logs never leak them.

    Everything between `scheme://` and the last `@` (user info, whatever characters a
    password holds) becomes `***`, and a query string (`?password=...`) becomes `?***`.
    """
    if not isinstance(url, str):
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:
        rest = "***" + rest[rest.rindex("@") :]
    if "?" in rest:
        rest = rest[: rest.index("?")] + "?***"
    return f"{scheme}{sep}{rest}"


def _delay(delay: float | timedelta) -> timedelta:
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_SECONDS
    ):
        raise InvalidJobError(
            "delay", delay, f"must be a number of seconds from 0 to {MAX_SECONDS:g} or a timedelta"
        )
    return timedelta(seconds=seconds)


def _first_set(*values: Any) -> Any:
    """The first value that is not None (the last is the library default)."""
    for value in values:
        if value is not None:
            return value
    raise AssertionError("unreachable: the last default is never None")
