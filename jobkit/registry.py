"""The handler registry: which function runs each job type, with its per-type defaults.

>>> registry = Registry()
>>> @registry.handler("email.send", max_retries=5, queue="mail")
... def send(args):
...     return {"sent": args["to"]}
>>> registry.get("email.send") is send
True
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobkit.core.errors import DuplicateHandlerError, InvalidJobError
from jobkit.core.model import MAX_JOB_TYPE_LENGTH, Priority, validate_name
from jobkit.core.retry import RetryPolicy
from jobkit.ports import Handler


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A registered handler and the defaults jobs of its type get."""

    job_type: str
    fn: Handler
    is_async: bool
    queue: str | None = None
    priority: Priority | None = None
    max_retries: int | None = None
    retry_policy: RetryPolicy | None = None


class Registry:
    """Maps job types to handlers. Thread-safe; one registry can serve many workers."""

    def __init__(self) -> None:
        self._specs: dict[str, HandlerSpec] = {}
        self._lock = threading.Lock()

    def register(
        self,
        job_type: str,
        fn: Handler,
        *,
        queue: str | None = None,
        priority: Priority | str | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        replace: bool = False,
    ) -> Handler:
        """Register `fn` (plain or `async def`, taking the args dict) for `job_type`.

        The options are defaults for jobs of this type; `enqueue` arguments override
        them. A second registration raises DuplicateHandlerError unless `replace`.
        """
        if not isinstance(job_type, str) or not job_type.strip():
            raise InvalidJobError("job_type", job_type, "must be a non-empty string")
        if len(job_type) > MAX_JOB_TYPE_LENGTH:  # build_job would reject every job of it
            raise InvalidJobError(
                "job_type", job_type, f"must be at most {MAX_JOB_TYPE_LENGTH} characters"
            )
        if not callable(fn):
            raise InvalidJobError("handler", fn, "must be callable as fn(args: dict)")
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise InvalidJobError("max_retries", max_retries, "must be an int >= 0")
        spec = HandlerSpec(
            job_type=job_type,
            fn=fn,
            is_async=inspect.iscoroutinefunction(fn),
            queue=None if queue is None else validate_name("queue", queue),
            priority=None if priority is None else Priority.coerce(priority),
            max_retries=max_retries,
            retry_policy=retry_policy,
        )
        with self._lock:
            if job_type in self._specs and not replace:
                raise DuplicateHandlerError(job_type)
            self._specs[job_type] = spec
        return fn

    def handler(self, job_type: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator form of `register`: `@registry.handler("report.build")`."""

        def decorate(fn: Handler) -> Handler:
            return self.register(job_type, fn, **options)

        return decorate

    def unregister(self, job_type: str) -> bool:
        """Forget the handler of `job_type`; False if there was none."""
        with self._lock:
            return self._specs.pop(job_type, None) is not None

    def get(self, job_type: str) -> Handler | None:
        """The handler for `job_type`, or None."""
        spec = self._specs.get(job_type)
        return None if spec is None else spec.fn

    def spec(self, job_type: str) -> HandlerSpec | None:
        """The full registration of `job_type` (handler and defaults), or None."""
        return self._specs.get(job_type)

    def job_types(self) -> list[str]:
        """Every registered job type, sorted."""
        return sorted(self._specs)

    def __contains__(self, job_type: object) -> bool:
        return job_type in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"Registry({self.job_types()!r})"
