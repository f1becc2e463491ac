"""The Redis key schema. Everything lives under one prefix (default `jobkit`).

Every key of one queue carries the queue's hash tag `{<queue>}`, so all of a queue's
keys sit in one Cluster slot and one Lua script can touch them atomically:

    <prefix>:{<q>}:jobs              hash    id -> job JSON (opaque to the scripts)
    <prefix>:{<q>}:state             hash    id -> "<status>:<priority rank>[:<µs>]"
    <prefix>:{<q>}:created           zset    id scored by created_at (µs): find() order
    <prefix>:{<q>}:ready:<priority>  zset    ready ids in serving order (critical, high,
                                             default, low, bulk; lua/_lib.lua "Ready pushes")
    <prefix>:{<q>}:ready:<priority>:t:<tenant>, <prefix>:{<q>}:ready:<priority>:none
                                     zset    the same, per tenant group (made by the scripts)
    <prefix>:{<q>}:scheduled         zset    scheduled and retrying ids scored by run_at (µs)
    <prefix>:{<q>}:inflight          zset    running ids scored by lease expiry (µs)
    <prefix>:{<q>}:leases            hash    id -> owner token of the live lease
    <prefix>:{<q>}:dead              zset    dead-letter ids scored by time of death (µs)
    <prefix>:{<q>}:statuses          hash    status -> jobs of the queue in that status
    <prefix>:{<q>}:history           list    JSON of recently finished attempts, newest first
    <prefix>:{<q>}:signal            list    wake-up marks for idle workers (BLPOP)
    <prefix>:{<q>}:quarantine        hash    id -> {"payload", "error", "at"} of unreadable jobs
    <prefix>:{<q>}:tenants           hash    id -> tenant, for jobs that have one
    <prefix>:{<q>}:seq               hash    priority rank -> ready pushes so far
    <prefix>:stats:queue:{<q>}:<counter>     per-queue counters (the seed's names)

Global keys (no hash tag; on a standalone Redis the scripts update them atomically with
the queue's keys, on Redis Cluster the backend updates them right after each script):

    <prefix>:stats:global:<counter>  global counters
    <prefix>:ids                     hash    id -> queue (so get(id) needs no queue)
    <prefix>:queues                  set     names of every queue that held a job
    <prefix>:tenants                 set     every tenant that had a job
    <prefix>:stats:tenant:{<t>}:<counter>    per-tenant counters
    <prefix>:tenant:{<t>}:statuses   hash    status -> the tenant's jobs in that status

The `state` time overrides the JSON's `updated_at` (and `started_at` while running):
scripts move jobs (promote, start) without parsing JSON; the next write from Python
folds it back in.
"""

from __future__ import annotations

from jobkit.core.errors import InvalidJobError
from jobkit.core.model import NAME_PATTERN, NAME_RULE, PRIORITIES
from jobkit.core.stats import COUNTERS

#: per-queue keys, in the order the scripts expect (see lua/_lib.lua)
QUEUE_KEYS: tuple[str, ...] = (
    "jobs",
    "state",
    "created",
    *(f"ready:{p.value}" for p in PRIORITIES),
    "scheduled",
    "inflight",
    "leases",
    "dead",
    "statuses",
    "history",
    "signal",
    "quarantine",
    "tenants",
    "seq",
)


class KeySchema:
    """Key names for one prefix. Queue names must already be valid (`validate_name`),
    so they can never contain `{`, `}`, `:` or glob characters."""

    def __init__(self, prefix: str = "jobkit") -> None:
        if not isinstance(prefix, str) or not NAME_PATTERN.fullmatch(prefix):
            raise InvalidJobError("prefix", prefix, f"must be {NAME_RULE}")
        self.prefix = prefix
        self.directory = f"{prefix}:ids"
        self.queue_set = f"{prefix}:queues"
        self.tenant_set = f"{prefix}:tenants"
        self.global_counters = [f"{prefix}:stats:global:{c}" for c in COUNTERS]
        #: counters, directory, queue set, tenant set: the scripts' global block
        self.global_block = [
            *self.global_counters,
            self.directory,
            self.queue_set,
            self.tenant_set,
        ]
        self._blocks: dict[str, list[str]] = {}

    def queue(self, queue: str, name: str) -> str:
        """One per-queue key, e.g. `queue("default", "jobs")` -> `jobkit:{default}:jobs`."""
        return f"{self.prefix}:{{{queue}}}:{name}"

    def queue_counter(self, queue: str, counter: str) -> str:
        """`<prefix>:stats:queue:{<queue>}:<counter>`."""
        return f"{self.prefix}:stats:queue:{{{queue}}}:{counter}"

    def tenant_counter(self, tenant_id: str, counter: str) -> str:
        """`<prefix>:stats:tenant:{<tenant>}:<counter>`."""
        return f"{self.prefix}:stats:tenant:{{{tenant_id}}}:{counter}"

    def tenant_statuses(self, tenant_id: str) -> str:
        """`<prefix>:tenant:{<tenant>}:statuses`: status -> the tenant's jobs."""
        return f"{self.prefix}:tenant:{{{tenant_id}}}:statuses"

    def ready_group(self, queue: str, priority: int, tenant_id: str | None) -> str:
        """The ready set of one tenant group (None: jobs without a tenant) of a level."""
        level = self.ready(queue)[priority]
        return f"{level}:none" if tenant_id is None else f"{level}:t:{tenant_id}"

    def block(self, queue: str) -> list[str]:
        """The queue's keys in script order: QUEUE_KEYS, then its counters."""
        block = self._blocks.get(queue)
        if block is None:
            block = [self.queue(queue, k) for k in QUEUE_KEYS]
            block += [self.queue_counter(queue, c) for c in COUNTERS]
            self._blocks[queue] = block
        return block

    def ready(self, queue: str) -> list[str]:
        """The ready lists of `queue`, most urgent priority first."""
        return self.block(queue)[3 : 3 + len(PRIORITIES)]

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of this prefix (and no other prefix)."""
        return f"{self.prefix}:*"
