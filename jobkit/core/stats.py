"""Pure aggregation of jobs and transitions into counters.

Both backends keep the same counters, globally and per queue (in Redis as
`<prefix>:stats:global:<counter>` and `<prefix>:stats:queue:{<name>}:<counter>`).
`transition_counts` decides which counters one state change bumps, so every backend
counts identically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from jobkit.core.model import Job, JobStatus

#: Every counter a backend keeps, in display order.
COUNTERS: tuple[str, ...] = (
    "enqueued",  # jobs accepted (scheduled ones included)
    "processed",  # attempts that finished, either way
    "succeeded",  # attempts that completed
    "failed",  # attempts that failed (retried or not)
    "retried",  # failures that scheduled another attempt
    "dead",  # jobs moved to the dead-letter queue
    "reclaimed",  # leases that expired and were handed back
    "cancelled",  # jobs cancelled before running
    "lease_lost",  # outcomes refused because the worker no longer held the lease
    "quarantined",  # stored job bodies that could not be read, set aside with the error
)


def transition_counts(
    before: JobStatus | None, after: Job, *, reclaimed: bool = False
) -> dict[str, int]:
    """The counter increments for a job moving from `before` to `after.status`.

    `before=None` means the job is new (enqueue). `reclaimed=True` marks the move of a
    job whose lease expired (`lifecycle.reclaim`): it counts as reclaimed (and dead,
    past the limit), not as a processed attempt. Moves that count nothing (start,
    promote, retry_dead) return an empty dict.
    """
    new = after.status
    if before is None:
        return {"enqueued": 1}
    if reclaimed:
        return {"reclaimed": 1, "dead": 1} if new is JobStatus.DEAD else {"reclaimed": 1}
    if before is JobStatus.RUNNING:
        if new is JobStatus.COMPLETED:
            return {"processed": 1, "succeeded": 1}
        if new is JobStatus.RETRYING:
            return {"processed": 1, "failed": 1, "retried": 1}
        if new is JobStatus.DEAD:
            return {"processed": 1, "failed": 1, "dead": 1}
    if new is JobStatus.CANCELLED:
        return {"cancelled": 1}
    return {}


def empty_counters() -> dict[str, int]:
    """Every counter at zero."""
    return dict.fromkeys(COUNTERS, 0)


def add_counts(into: dict[str, int], delta: Mapping[str, int]) -> None:
    """Add `delta` to the counters in `into` (in place)."""
    for name, n in delta.items():
        into[name] = into.get(name, 0) + n


def status_counts(jobs: Iterable[Job]) -> dict[str, int]:
    """How many jobs are in each status; every status is present."""
    counts = Counter(job.status.value for job in jobs)
    return {s.value: counts.get(s.value, 0) for s in JobStatus}


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of counters plus what is derived from them."""

    counters: dict[str, int] = field(default_factory=empty_counters)
    #: jobs per status right now (pending, scheduled, running, ...)
    statuses: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.counters.get(name, 0)

    @property
    def success_rate(self) -> float | None:
        """succeeded / processed, or None before anything was processed."""
        processed = self["processed"]
        return None if processed == 0 else self["succeeded"] / processed

    def to_dict(self) -> dict[str, object]:
        """Counters, statuses and the success rate as one flat JSON-ready dict."""
        out: dict[str, object] = dict(self.counters)
        out.update({f"status_{k}": v for k, v in self.statuses.items()})
        out["success_rate"] = self.success_rate
        return out
