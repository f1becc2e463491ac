"""The job model: priorities, statuses, the immutable `Job`, and validated construction.

Pure: no I/O, no clock reads, no randomness. `build_job` takes the id and the
current time from its caller; `jobkit.create_job` is the convenient shell around it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from jobkit.core.errors import InvalidJobError

try:  # a faster JSON codec for job bodies, when installed (the redis extra brings it)
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the no-extras install
    _orjson = None  # type: ignore[assignment]

JSONDict = dict[str, Any]

#: Queue names and tenant ids become parts of Redis keys and hash tags, so they are
#: restricted to characters that can never break a key or move a hash slot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
NAME_RULE = "1-64 characters from A-Z a-z 0-9 _ . -"
MAX_JOB_TYPE_LENGTH = 200


class Priority(StrEnum):
    """Job priority; strict order critical > high > default > low > bulk."""

    CRITICAL = "critical"
    HIGH = "high"
    DEFAULT = "default"
    LOW = "low"
    BULK = "bulk"

    @property
    def rank(self) -> int:
        """0 for critical (served first) up to 4 for bulk (served last)."""
        return _PRIORITY_RANK[self]

    @classmethod
    def coerce(cls, value: Priority | str, *, field_name: str = "priority") -> Priority:
        """Return the Priority for a member or its string name, or raise InvalidJobError."""
        if isinstance(value, str):
            found = _PRIORITY_BY_VALUE.get(value)  # a member (str enum) or its exact value
            if found is not None:
                return found
            try:
                return cls(value.lower())
            except ValueError:
                pass
        allowed = ", ".join(p.value for p in cls)
        raise InvalidJobError(field_name, value, f"must be one of: {allowed}")

    # A plain string operand is coerced (unknown names raise InvalidJobError): returning
    # NotImplemented for it would make Python fall back to *lexical* str order, so
    # `Priority.LOW > "high"` would silently be True.

    def __lt__(self, other: object) -> bool:
        """Lower means *less urgent*: bulk < low < default < high < critical."""
        if not isinstance(other, str):
            return NotImplemented
        return self.rank > Priority.coerce(other).rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank >= Priority.coerce(other).rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank < Priority.coerce(other).rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank <= Priority.coerce(other).rank


PRIORITIES: tuple[Priority, ...] = tuple(Priority)  # most urgent first
_PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
_PRIORITY_BY_VALUE: dict[str, Priority] = {p.value: p for p in Priority}


class JobStatus(StrEnum):
    """Where a job is in its life. `dead` means: in the dead-letter queue."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    RETRYING = "retrying"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @classmethod
    def coerce(cls, value: JobStatus | str, *, field_name: str = "status") -> JobStatus:
        """Return the JobStatus for a member or its string name, or raise InvalidJobError."""
        if isinstance(value, str):
            found = _STATUS_BY_VALUE.get(value)  # a member (str enum) or its exact value
            if found is not None:
                return found
            try:
                return cls(value.lower())
            except ValueError:
                pass
        allowed = ", ".join(s.value for s in cls)
        raise InvalidJobError(field_name, value, f"must be one of: {allowed}")


_STATUS_BY_VALUE: dict[str, JobStatus] = {s.value: s for s in JobStatus}

#: Waiting for a future run_at (a scheduled job, or a failed one waiting to retry).
WAITING_STATUSES = frozenset({JobStatus.SCHEDULED, JobStatus.RETRYING})
#: Statuses a job never leaves on its own.
TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.DEAD, JobStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class JobError:
    """What went wrong in a failed attempt."""

    #: The exception's class name, or the type given to `Failure`.
    type: str
    message: str
    traceback: str | None = None

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict; `JobError.from_dict` reverses it."""
        return {"type": self.type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobError:
        """Rebuild a JobError from `to_dict` output."""
        return cls(str(data["type"]), str(data["message"]), data.get("traceback"))


@dataclass(frozen=True)
class Job:
    """One unit of background work. Immutable: lifecycle functions return new Jobs.

    All datetimes are timezone-aware UTC.
    """

    id: str
    job_type: str
    queue: str
    args: JSONDict
    priority: Priority
    status: JobStatus
    retry_count: int  #: failed attempts that were retried so far
    max_retries: int  #: retries allowed after the first attempt before the job is dead
    run_at: datetime  #: earliest time the next attempt may start
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None  #: start of the latest attempt
    finished_at: datetime | None = None  #: end of the latest attempt
    result: Any = None
    error: JobError | None = None  #: error of the latest failed attempt
    tenant_id: str | None = None
    metadata: JSONDict = field(default_factory=dict)
    #: times a worker lost its lease on this job and it was handed out again
    reclaim_count: int = 0

    @property
    def attempts(self) -> int:
        """Attempts started so far (a running attempt counts)."""
        return self.retry_count + (1 if self.status in _ATTEMPT_USED else 0)

    def to_dict(self) -> JSONDict:
        """A JSON-ready dict; `Job.from_dict(json.loads(json.dumps(job.to_dict())))` == job."""
        return {
            "id": self.id,
            "job_type": self.job_type,
            "queue": self.queue,
            "args": self.args,
            "priority": self.priority.value,
            "status": self.status.value,
            "retry_count": self.retry_count,
            "max_retries": self.max_retries,
            "run_at": _dt_out(self.run_at),
            "created_at": _dt_out(self.created_at),
            "updated_at": _dt_out(self.updated_at),
            "started_at": _dt_out(self.started_at),
            "finished_at": _dt_out(self.finished_at),
            "result": self.result,
            "error": self.error.to_dict() if self.error is not None else None,
            "tenant_id": self.tenant_id,
            "metadata": self.metadata,
            "reclaim_count": self.reclaim_count,
        }

    def _repr_html_(self) -> str:
        """The job as a small escaped HTML table, for Jupyter (`jobkit.core.display`)."""
        from jobkit.core.display import job_html

        return job_html(self)

    def to_json(self) -> str:
        """Compact JSON text of `to_dict()` (see `to_json_bytes`)."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """`to_json()` as UTF-8 bytes, for writers that send bytes (no str in between).

        With orjson installed, the fields go to it as they are (it writes datetimes in
        the same ISO-8601 form as `datetime.isoformat`, and enums as their values);
        the json module writes what orjson refuses (ints beyond 64 bits)."""
        if _orjson is not None:
            data = self.__dict__
            if self.error is not None:
                data = {**data, "error": self.error.to_dict()}
            try:
                return _orjson.dumps(data)  # reads the fields, never changes them
            except TypeError:
                pass
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Rebuild a Job from `to_dict` output; raises InvalidJobError naming a bad field."""
        try:
            state = dict(
                id=_require_str(data, "id"),
                job_type=_require_str(data, "job_type"),
                queue=_require_str(data, "queue"),
                args=_dict_in(data, "args"),
                priority=Priority.coerce(data["priority"]),
                status=JobStatus.coerce(data["status"]),
                retry_count=_int_in(data, "retry_count", 0),
                max_retries=_int_in(data, "max_retries"),
                run_at=_dt_in(data, "run_at"),
                created_at=_dt_in(data, "created_at"),
                updated_at=_dt_in(data, "updated_at"),
                started_at=_opt_dt_in(data, "started_at"),
                finished_at=_opt_dt_in(data, "finished_at"),
                result=data.get("result"),
                error=_error_in(data),
                tenant_id=data.get("tenant_id"),
                metadata=_dict_in(data, "metadata"),
                reclaim_count=_int_in(data, "reclaim_count", 0),
            )
        except KeyError as exc:
            raise InvalidJobError(str(exc.args[0]), None, "is required in a job dict") from None
        job = _new_object(cls)  # every field is checked above: skip the frozen __init__
        job.__dict__.update(state)
        return job

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        """Parse `to_json` output back into a Job."""
        try:
            data = loads(text)
        except ValueError as exc:
            raise InvalidJobError("json", _preview(text), f"is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InvalidJobError("json", _preview(text), "must be a JSON object")
        return cls.from_dict(data)

    def evolve(self, **changes: Any) -> Job:
        """A copy with `changes` applied, without validation; a field name that Job does
        not have raises TypeError. Copies the instance dict directly (about 4x faster
        than dataclasses.replace); the lifecycle uses `evolved`, the same minus the
        name check."""
        if not _FIELD_SET.issuperset(changes):
            raise TypeError(f"Job has no field(s) {sorted(changes.keys() - _FIELD_SET)}")
        return evolved(self, changes)


#: Statuses in which the latest attempt has not been counted in retry_count.
_ATTEMPT_USED = frozenset({JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.DEAD})

JOB_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Job))
_new_object = object.__new__
_FIELD_SET = frozenset(JOB_FIELDS)


def evolved(job: Job, changes: Mapping[str, Any]) -> Job:
    """`job.evolve(**changes)` for callers whose field names are fixed in code (the
    lifecycle, the simulator): no field-name check, one call less per transition."""
    new = _new_object(Job)
    state = new.__dict__
    state.update(job.__dict__)
    state.update(changes)
    return new


def build_job(
    job_type: str,
    args: Mapping[str, Any] | None = None,
    *,
    id: str,
    now: datetime,
    queue: str = "default",
    priority: Priority | str = Priority.DEFAULT,
    max_retries: int = 3,
    run_at: datetime | None = None,
    tenant_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Job:
    """Validate every input and return a new pending (or scheduled) Job.

    The job is `scheduled` when `run_at` is later than `now`, else `pending`.
    Raises InvalidJobError naming the field, the value and what is allowed; it never
    returns a half-valid job.
    """
    if not isinstance(job_type, str) or not job_type.strip():
        raise InvalidJobError("job_type", job_type, "must be a non-empty string")
    if len(job_type) > MAX_JOB_TYPE_LENGTH:
        raise InvalidJobError(
            "job_type", job_type, f"must be at most {MAX_JOB_TYPE_LENGTH} characters"
        )
    validate_id(id)
    queue = validate_name("queue", queue)
    prio = Priority.coerce(priority)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidJobError("max_retries", max_retries, "must be an int >= 0")
    now = require_aware("now", now)
    due = now if run_at is None else require_aware("run_at", run_at)
    if tenant_id is not None:
        tenant_id = validate_name("tenant_id", tenant_id)
    # every field checked above: filled in directly, as the frozen dataclass __init__
    # (one object.__setattr__ per field) costs more than the checks
    job = _new_object(Job)
    job.__dict__.update(
        id=id,
        job_type=job_type,
        queue=queue,
        args=json_object("args", args),
        priority=prio,
        status=JobStatus.SCHEDULED if due > now else JobStatus.PENDING,
        retry_count=0,
        max_retries=max_retries,
        run_at=due,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        result=None,
        error=None,
        tenant_id=tenant_id,
        metadata=json_object("metadata", metadata),
        reclaim_count=0,
    )
    return job


def validate_id(value: object) -> str:
    """Return `value` if it is a valid job id, else raise InvalidJobError."""
    if not isinstance(value, str) or not value or len(value) > 128:
        raise InvalidJobError("id", value, "must be a non-empty string of at most 128 characters")
    return value


def validate_name(field_name: str, value: object) -> str:
    """Return `value` if it is a valid queue name / tenant id, else raise InvalidJobError."""
    if not isinstance(value, str) or NAME_PATTERN.fullmatch(value) is None:
        raise InvalidJobError(field_name, value, f"must be {NAME_RULE}")
    return value


def require_aware(field_name: str, value: object) -> datetime:
    """Return `value` converted to UTC, or raise InvalidJobError if it is not an aware datetime."""
    if not isinstance(value, datetime):
        raise InvalidJobError(field_name, value, "must be a timezone-aware datetime")
    if value.tzinfo is UTC:  # already what we want (the common case)
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidJobError(
            field_name,
            value,
            "must be timezone-aware; use datetime.now(timezone.utc) or "
            "dt.replace(tzinfo=timezone.utc)",
        )
    return value.astimezone(UTC)


def json_object(field_name: str, value: Mapping[str, Any] | None) -> JSONDict:
    """A deep JSON copy of a dict with string keys, or InvalidJobError naming the field.

    Copying through JSON guarantees what the job holds is exactly what any backend
    will store and return (tuples become lists, no shared mutable state).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidJobError(field_name, value, "must be a dict of JSON values")
    if not value:
        return {}
    return json_roundtrip(field_name, dict(value))  # type: ignore[no-any-return]


def loads(text: str | bytes) -> Any:
    """Parse JSON text (orjson when installed); ValueError if it is not JSON.

    orjson reads integers beyond 64 bits as floats, so when its result holds a float of
    that size (which may be such an integer) the text goes to the json module, which
    keeps them exact. (Walking the parsed values costs a third of searching the text
    for long digit runs.)"""
    if _orjson is not None:
        try:
            data = _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass  # the json module's message is the one users see
        else:
            if not _has_huge_float(data):
                return data
    return json.loads(text)


_HUGE = float(2**63)  # orjson reads every integer in [-2**63, 2**64) exactly
_NOT_CONTAINERS = frozenset({str, int, bool, type(None)})


def _has_huge_float(value: Any) -> bool:
    """Whether parsed JSON holds a float at least 2**63 in size, at any depth (True,
    to be safe, for nesting too deep to walk)."""
    try:
        return _huge_in(value)
    except RecursionError:
        return True


def _huge_in(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    elif kind is float:
        return bool(value >= _HUGE or value <= -_HUGE)
    else:
        return False
    for item in items:  # noqa: SIM110 (a plain loop: any() over a generator is slower)
        if type(item) not in _NOT_CONTAINERS and _huge_in(item):
            return True
    return False


def json_roundtrip(field_name: str, value: Any) -> Any:
    """`value` after a strict JSON round trip, or InvalidJobError saying what is not JSON."""
    if value is None or type(value) in _JSON_SCALARS:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidJobError(
            field_name, value, f"must be JSON-serialisable with string keys ({exc})"
        ) from None
    # json.dumps silently turns int/float/bool/None keys into strings, at any depth (a
    # dict inside a list too), so check every key of every nested object.
    if not all(isinstance(k, str) for k in _all_keys(value)):
        raise InvalidJobError(field_name, value, "must use string keys only (JSON objects)")
    return json.loads(text)


_JSON_SCALARS = frozenset({str, int, bool})


def _all_keys(value: Any) -> list[object]:
    keys: list[object] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return keys


def _dt_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt_in(data: Mapping[str, Any], name: str) -> datetime:
    raw = data[name]
    try:
        value = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidJobError(name, raw, "must be an ISO-8601 datetime with offset") from None
    return require_aware(name, value)


def _opt_dt_in(data: Mapping[str, Any], name: str) -> datetime | None:
    return None if data.get(name) is None else _dt_in(data, name)


def _int_in(data: Mapping[str, Any], name: str, default: int | None = None) -> int:
    """`data[name]` as an int (`default` if absent; KeyError if absent and no default)."""
    raw = data[name] if default is None else data.get(name, default)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise InvalidJobError(name, raw, "must be an integer") from None


def _dict_in(data: Mapping[str, Any], name: str) -> JSONDict:
    raw = data.get(name) or {}
    if not isinstance(raw, Mapping):
        raise InvalidJobError(name, raw, "must be a JSON object")
    return dict(raw)


def _error_in(data: Mapping[str, Any]) -> JobError | None:
    raw = data.get("error")
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "type" not in raw or "message" not in raw:
        raise InvalidJobError("error", raw, "must be null or an object with type and message")
    return JobError.from_dict(raw)


def _require_str(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not value:
        raise InvalidJobError(name, value, "must be a non-empty string")
    return value


def _preview(text: str | bytes) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return raw if len(raw) <= 80 else raw[:77] + "..."
