"""Every error jobkit raises on purpose.

Each class names one kind of mistake; each message says what was wrong (the field
and the value) and what to do instead. They live in the pure core because the core
raises them too; `jobkit.errors` is the public name for this module.
"""

from __future__ import annotations


class JobkitError(Exception):
    """Base class of every error jobkit raises on purpose."""


class InvalidJobError(JobkitError, ValueError):
    """A job (or an argument that makes one) is malformed; nothing was enqueued.

    Attributes:
        field: the name of the offending field.
        value: the offending value.
    """

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"invalid {field}={value!r}: {expected}")


class InvalidTransitionError(JobkitError):
    """A lifecycle function was asked for a move the state machine does not allow."""

    def __init__(
        self, job_id: str, action: str, status: str, allowed_from: tuple[str, ...]
    ) -> None:
        self.job_id = job_id
        self.action = action
        self.status = status
        self.allowed_from = allowed_from
        froms = ", ".join(allowed_from)
        super().__init__(
            f"cannot {action} job {job_id!r} in status {status!r}; "
            f"{action} is allowed only from: {froms}"
        )


class InvalidPolicyError(JobkitError, ValueError):
    """A retry policy was built with impossible parameters."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"invalid retry policy {field}={value!r}: {expected}")


class JobNotFoundError(JobkitError, KeyError):
    """No job with this id exists in the backend."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}; check the id (find() lists known jobs)")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class DuplicateJobError(JobkitError, ValueError):
    """A job with this id already exists; ids must be unique."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"a job with id {job_id!r} already exists; omit id= to get a fresh one")


class LeaseLostError(JobkitError):
    """A worker tried to finish or renew a job whose lease it no longer holds.

    This happens when the lease expired and the job was reclaimed (and perhaps
    claimed by another worker). The outcome is refused so the new owner's result
    is never overwritten.
    """

    def __init__(self, job_id: str, token: str) -> None:
        self.job_id = job_id
        self.token = token
        super().__init__(
            f"lease on job {job_id!r} (token {token[:8]}…) is no longer held; "
            "the job was reclaimed after its lease expired. Raise visibility_timeout "
            "or lower heartbeat_interval for long handlers."
        )


class DuplicateHandlerError(JobkitError, ValueError):
    """A second handler was registered for a job type that already has one."""

    def __init__(self, job_type: str) -> None:
        self.job_type = job_type
        super().__init__(
            f"job_type {job_type!r} already has a handler; pass replace=True to override it"
        )


class NoHandlerError(JobkitError, LookupError):
    """No handler is registered for a job type.

    A worker records this as the job's failure and the job follows the normal retry
    path, so a fleet that is mid-deploy does not lose it.
    """

    def __init__(self, job_type: str, known: tuple[str, ...] = ()) -> None:
        self.job_type = job_type
        hint = f"registered types: {', '.join(known)}" if known else "no handlers are registered"
        super().__init__(
            f"no handler registered for job_type {job_type!r} ({hint}); "
            "register one with @kit.handler(job_type)"
        )


class InvalidUrlError(JobkitError, ValueError):
    """jobkit.connect() got a URL it does not understand."""


class NotIdleError(JobkitError, RuntimeError):
    """run_until_idle() hit its max_jobs limit before the queues emptied."""


class InvalidWorkloadError(JobkitError, ValueError):
    """A workload (records, a JSON Lines or CSV file) holds a bad arrival; nothing ran.

    Attributes:
        source: the file name, or "records".
        line: the 1-based line (file) or record number, or None for the whole workload.
        field: the offending field.
        value: the offending value.
    """

    def __init__(
        self, source: str, line: int | None, field: str, value: object, expected: str
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.value = value
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: invalid {field}={value!r}: {expected}")


class InvalidBehaviorError(JobkitError, ValueError):
    """A simulated behavior (duration distribution or failure model) is malformed."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"invalid behavior {field}={value!r}: {expected}")
