"""Assertions on what code under test enqueued: `assert_enqueued`, `assert_not_enqueued`,
`all_enqueued`.

"Enqueued" means waiting to run: pending, scheduled, or retrying (drain or a worker
turns them into completed or dead jobs, which no longer count). Filters are exact,
except `args`, which matches partially: every key given must be present with an equal
value, and a dict value matches a dict that holds at least its keys, recursively.

A failing assertion says what it looked for and lists what WAS enqueued:

    AssertionError: expected 1 enqueued job matching job_type='email.send',
    args ⊇ {'to': 'ada@example.com'}; found 0. Enqueued jobs (2):
      - email.send args={'to': 'bob@example.com'} queue=default priority=default pending
      - report.build args={} queue=reports priority=low scheduled for 2026-01-01T01:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobkit.core.model import WAITING_STATUSES, Job, JobStatus, Priority

if TYPE_CHECKING:
    from jobkit.kit import JobKit

#: statuses that count as enqueued (waiting to run)
ENQUEUED_STATUSES: tuple[JobStatus, ...] = (JobStatus.PENDING, *sorted(WAITING_STATUSES))
_SHOWN = 20  # jobs listed in a failure message


def all_enqueued(
    kit: JobKit,
    job_type: str | None = None,
    args: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: Priority | str | None = None,
    *,
    tenant_id: str | None = None,
) -> list[Job]:
    """Every enqueued (pending, scheduled or retrying) job matching the filters, oldest
    first; `args` matches partially."""
    wanted = None if priority is None else Priority.coerce(priority)
    return [
        job
        for job in _enqueued(kit, job_type, queue, tenant_id)
        if (wanted is None or job.priority is wanted)
        and (args is None or _contains(job.args, args))
    ]


def assert_enqueued(
    kit: JobKit,
    job_type: str,
    args: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: Priority | str | None = None,
    count: int | None = None,
    *,
    tenant_id: str | None = None,
) -> list[Job]:
    """Assert that jobs matching the filters are enqueued: at least one, or exactly
    `count`. Returns the matches (so a test can look further)."""
    found = all_enqueued(kit, job_type, args, queue=queue, priority=priority, tenant_id=tenant_id)
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    expected = "at least 1" if count is None else str(count)
    what = _describe(job_type, args, queue, priority, tenant_id)
    raise AssertionError(
        f"expected {expected} enqueued job(s) matching {what}; found {len(found)}. " + _listing(kit)
    )


def assert_not_enqueued(
    kit: JobKit,
    job_type: str,
    args: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: Priority | str | None = None,
    *,
    tenant_id: str | None = None,
) -> None:
    """Assert that no enqueued job matches the filters."""
    found = all_enqueued(kit, job_type, args, queue=queue, priority=priority, tenant_id=tenant_id)
    if found:
        what = _describe(job_type, args, queue, priority, tenant_id)
        shown = "\n".join(f"  - {_line(job)}" for job in found[:_SHOWN])
        raise AssertionError(
            f"expected no enqueued job matching {what}; found {len(found)}:\n{shown}"
        )


def _enqueued(
    kit: JobKit, job_type: str | None, queue: str | None, tenant_id: str | None
) -> list[Job]:
    """Waiting jobs of the kit (a tenant-scoped kit sees only its tenant), oldest first
    (jobs created at the same instant keep the backend's order)."""
    jobs: list[Job] = []
    for status in ENQUEUED_STATUSES:
        jobs.extend(
            kit.find(status=status, job_type=job_type, queue=queue, tenant_id=tenant_id, limit=None)
        )
    return sorted(jobs, key=lambda j: j.created_at)


def _contains(actual: Any, expected: Any) -> bool:
    """Whether `actual` holds `expected`: dicts partially (recursively), the rest equal."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    return bool(actual == expected)


def _describe(
    job_type: str,
    args: Mapping[str, Any] | None,
    queue: str | None,
    priority: Priority | str | None,
    tenant_id: str | None,
) -> str:
    parts = [f"job_type={job_type!r}"]
    if args is not None:
        parts.append(f"args ⊇ {dict(args)!r}")
    for name, value in (("queue", queue), ("priority", priority), ("tenant_id", tenant_id)):
        if value is not None:
            shown = value.value if isinstance(value, Priority) else value
            parts.append(f"{name}={shown!r}")
    return ", ".join(parts)


def _listing(kit: JobKit) -> str:
    everything = _enqueued(kit, None, None, None)
    if not everything:
        return "Nothing is enqueued."
    lines = [f"  - {_line(job)}" for job in everything[:_SHOWN]]
    if len(everything) > _SHOWN:
        lines.append(f"  ... and {len(everything) - _SHOWN} more")
    return f"Enqueued jobs ({len(everything)}):\n" + "\n".join(lines)


def _line(job: Job) -> str:
    state = job.status.value
    if job.status is not JobStatus.PENDING:
        state += f" for {job.run_at.isoformat()}"
    tenant = f" tenant={job.tenant_id}" if job.tenant_id else ""
    return (
        f"{job.job_type} args={job.args!r} queue={job.queue} "
        f"priority={job.priority.value}{tenant} {state}"
    )
