"""Client process entry: ``python -m bench.peers.client NAME PHASE --url URL --count N``.

Sets the library's client up, prints ``ready``, waits for a line on stdin (the harness
resets Redis's statistics meanwhile), runs the phase and prints one JSON line:

- ``enqueue``: N jobs, one call each; ``{"seconds": ...}``;
- ``bulk``: N jobs with the library's bulk call; ``{"seconds": ...}``;
- ``latency``: one warm-up job (waits until a worker ran it), then N jobs at ``--rate``
  jobs/s, each carrying the time just before its enqueue call; waits until the worker
  ran them all; ``{"latencies": [seconds, ...]}`` (handler start minus that time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import redis

from bench.peers import load
from bench.peers.common import DONE_KEY, READY_KEY, Client

#: longest wait for the worker's warm-up and for the last latency job, in seconds
WAIT = 60


def latency(client: Client, url: str, count: int, rate: float) -> dict[str, object]:
    """Send `count` jobs at `rate` per second after a warm-up job; their latencies."""
    # redis-py 8 gives up reading after 5 s by default: the BLPOPs below wait up to WAIT
    admin = redis.Redis.from_url(url, socket_timeout=WAIT + 5)
    client.send(-1.0)
    if admin.blpop([READY_KEY], timeout=WAIT) is None:
        raise TimeoutError(f"the worker did not run the warm-up job within {WAIT} s")
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client.send(time.time())
    done = admin.blpop([DONE_KEY], timeout=WAIT)
    if done is None:
        raise TimeoutError(f"the worker did not finish the latency jobs within {WAIT} s")
    sent_for = time.perf_counter() - start
    return {"latencies": json.loads(done[1])["latencies"], "send_seconds": sent_for}


def main() -> None:
    """Run one phase (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("phase", choices=["enqueue", "bulk", "latency"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    client = load(args.name).client(args.url)
    if args.phase == "bulk" and not client.has_bulk:
        print(json.dumps({"unsupported": True}), flush=True)
        return
    print("ready", flush=True)
    sys.stdin.readline()
    out: dict[str, object]
    if args.phase == "latency":
        out = latency(client, args.url, args.count, args.rate)
    else:
        work = client.enqueue if args.phase == "enqueue" else client.enqueue_bulk
        t0 = time.perf_counter()
        work(args.count)
        out = {"seconds": time.perf_counter() - t0}
    client.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
