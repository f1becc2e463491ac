"""One promoting process of tests/faults/test_concurrent_promote.py.

    python -m tests.faults.promoter URL PREFIX READY_FILE GO_FILE PROMOTE_BATCH

Connects, touches READY_FILE, waits for GO_FILE, then calls `backend.promote_due()`
(the Redis server's clock) as fast as it can until nothing is scheduled any more.
Prints one JSON line: {"pid", "moved", "calls", "nonzero_calls"}.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import jobkit

WAIT_S = 20.0  # longest wait for GO_FILE, and longest promoting loop


def main(argv: list[str]) -> int:
    url, prefix, ready_file, go_file, batch = argv
    kit = jobkit.connect(url, prefix=prefix, promote_batch=int(batch))
    try:
        backend = kit.backend
        backend.queues()  # connected before saying ready
        Path(ready_file).touch()
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(go_file):
            if time.monotonic() > deadline:
                print("GO_FILE never appeared", file=sys.stderr)
                return 2
            time.sleep(0.002)
        moved = calls = nonzero = 0
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            n = backend.promote_due()
            calls += 1
            moved += n
            nonzero += n > 0
            if n == 0 and backend.next_due_at() is None:
                break
        else:
            print("still scheduled jobs after the deadline", file=sys.stderr)
            return 3
        print(json.dumps({"pid": os.getpid(), "moved": moved, "calls": calls, "nonzero": nonzero}))
        return 0
    finally:
        kit.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
