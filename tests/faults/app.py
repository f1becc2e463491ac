"""The application the worker subprocesses of the fault tests run.

    python -m jobkit worker --app tests.faults.app:make_kit ...

`make_kit` builds a JobKit from the environment (`JOBKIT_FAULT_URL`, `JOBKIT_FAULT_PREFIX`),
so each test's workers use that test's own key prefix: `jobkit worker --url` has no way to
pass a prefix, so the command is run without `--url` and takes the kit's own backend.

Every execution of the `work` handler appends two JSON lines to the ledger file
`JOBKIT_FAULT_LEDGER` (O_APPEND, one unbuffered `write` per line, so a SIGKILL after the
call cannot lose the line): `{"event": "start", ...}` before the handler's work and
`{"event": "done", ...}` after it. Executions are counted by their `start` lines.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import jobkit

URL_ENV = "JOBKIT_FAULT_URL"
PREFIX_ENV = "JOBKIT_FAULT_PREFIX"
LEDGER_ENV = "JOBKIT_FAULT_LEDGER"


def record(event: str, job: jobkit.Job) -> None:
    """Append one ledger line for `job` (O_APPEND: concurrent writers never interleave)."""
    line = json.dumps(
        {
            "event": event,
            "job_id": job.id,
            "pid": os.getpid(),
            "reclaim_count": job.reclaim_count,
            "retry_count": job.retry_count,
            "t": time.time(),
        }
    )
    fd = os.open(os.environ[LEDGER_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def work(args: dict[str, Any]) -> dict[str, Any]:
    """Record the start, sleep `args["sleep"]` seconds, record the end."""
    job = jobkit.current_job()
    assert job is not None
    record("start", job)
    time.sleep(float(args.get("sleep", 0.0)))
    record("done", job)
    return {"pid": os.getpid()}


def make_kit() -> jobkit.JobKit:
    """A JobKit on $JOBKIT_FAULT_URL under $JOBKIT_FAULT_PREFIX with the `work` handler."""
    kit = jobkit.connect(os.environ[URL_ENV], prefix=os.environ[PREFIX_ENV])
    kit.register("work", work)
    return kit
