"""Tenant context: which tenant the running code acts for.

A worker enters `tenant_scope(job.tenant_id)` around each handler, so
`jobkit.current_tenant()` inside a handler (and in threads started with a copied
context) names the job's tenant; None means the default context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from jobkit.core.model import validate_name

#: The tenant of the running code; workers set it around each handler.
TENANT_VAR: ContextVar[str | None] = ContextVar("jobkit_tenant", default=None)


def current_tenant() -> str | None:
    """The tenant id the current code runs for, or None in the default context."""
    return TENANT_VAR.get()


@contextmanager
def tenant_scope(tenant_id: str | None) -> Iterator[str | None]:
    """Run the block as `tenant_id` (validated; None = default context), then restore."""
    if tenant_id is not None:
        validate_name("tenant_id", tenant_id)
    token = TENANT_VAR.set(tenant_id)
    try:
        yield tenant_id
    finally:
        TENANT_VAR.reset(token)
