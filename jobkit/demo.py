"""`jobkit demo`: the whole job lifecycle on the in-memory default, in about a second.

Five handlers (one flaky, one hopeless), jobs of every priority, a pool of worker
threads, and a FakeClock that jumps to each scheduled retry, so the seed's 30 s /
5 min / 1 h backoff plays at once. Ends with a summary and the retry timelines.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from jobkit.clock import FakeClock
from jobkit.core.model import Job, JobStatus
from jobkit.kit import JobKit, connect
from jobkit.step import Failure, current_job

DEMO_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def build_demo_kit(seed: int = 0) -> JobKit:
    """A memory kit on a FakeClock with the demo's handlers registered."""
    ids = random.Random(seed)
    kit = connect(
        "memory://",
        clock=FakeClock(DEMO_START),
        rng=random.Random(seed),
        id_factory=lambda: f"{ids.getrandbits(64):016x}",
    )

    @kit.handler("payment.capture", priority="critical")
    def capture(args: dict[str, Any]) -> dict[str, Any]:
        return {"captured_cents": args["cents"], "order": args["order"]}

    @kit.handler("email.send", priority="high")
    def send_email(args: dict[str, Any]) -> dict[str, Any]:
        job = current_job()
        # The mail provider rejects the first two tries for this address.
        if args["to"] == "flaky@example.com" and job is not None and job.retry_count < 2:
            raise ConnectionError("SMTP 421: service not available, try again later")
        return {"delivered_to": args["to"]}

    @kit.handler("report.build")
    def build_report(args: dict[str, Any]) -> dict[str, Any]:
        return {"rows": 100 * args["month"]}

    @kit.handler("webhook.deliver", priority="low")
    def deliver(args: dict[str, Any]) -> Any:
        if "unreachable" in args["url"]:
            return Failure(f"POST {args['url']} -> 503", type="HTTPError")
        return {"status": 200}

    @kit.handler("image.thumbnail", priority="bulk")
    def thumbnail(args: dict[str, Any]) -> dict[str, Any]:
        return {"size": [128, 128], "image": args["image"]}

    return kit


def enqueue_demo_jobs(kit: JobKit) -> dict[str, Job]:
    """Enqueue jobs of every priority; returns the two whose retries the demo follows."""
    for n in range(3):
        kit.enqueue("payment.capture", {"order": f"A-{n}", "cents": 1999 + n})
    for n in range(5):
        kit.enqueue("email.send", {"to": f"user{n}@example.com"})
    flaky = kit.enqueue("email.send", {"to": "flaky@example.com"})
    for month in range(1, 5):
        kit.enqueue("report.build", {"month": month})
    for n in range(3):
        kit.enqueue("webhook.deliver", {"url": f"https://hooks.example.com/{n}"})
    hopeless = kit.enqueue("webhook.deliver", {"url": "https://unreachable.example.com/"})
    for n in range(8):
        kit.enqueue("image.thumbnail", {"image": f"img-{n}.png"})
    kit.enqueue("report.build", {"month": 12}, delay=timedelta(minutes=10))
    return {"flaky email": flaky, "unreachable webhook": hopeless}


def run_with_pool(kit: JobKit, workers: int = 5) -> int:
    """Run a pool until no job is left, jumping the fake clock to each due retry.

    Returns how many times the clock jumped."""
    jumps = 0
    with kit.pool(worker_count=workers, poll_interval=0.05) as pool:
        while True:
            pool.wait_until_idle(timeout=30)
            due = kit.backend.next_due_at()
            if due is None:
                break
            assert isinstance(kit.clock, FakeClock)
            kit.clock.set(max(due, kit.clock.now()))
            kit.backend.promote_due()
            jumps += 1
    return jumps


def attempt_timeline(kit: JobKit, job_id: str) -> list[Job]:
    """The stored snapshot after each finished attempt of a job, oldest first."""
    return [j for j in reversed(kit.backend.history(limit=10_000)) if j.id == job_id]


def main(out: TextIO, *, seed: int = 0, workers: int = 5) -> int:
    """Run the demo and write its report to `out`; returns the exit code."""
    kit = build_demo_kit(seed)
    followed = enqueue_demo_jobs(kit)
    total = len(kit.find(limit=None))
    w = out.write
    w(f"jobkit demo — in-memory backend, FakeClock at {DEMO_START:%Y-%m-%d %H:%M} UTC\n")
    w(f"enqueued {total} jobs; ready per priority: ")
    w(", ".join(f"{p.value}={n}" for p, n in kit.sizes("default").items()) + "\n")
    jumps = run_with_pool(kit, workers)
    elapsed = kit.clock.now() - DEMO_START
    w(
        f"a pool of {workers} worker threads ran everything; the fake clock jumped {jumps} times "
        f"and now reads +{_fmt(elapsed)}\n\n"
    )

    w("jobs by type\n")
    w(f"  {'job type':<18}{'priority':<10}{'completed':>10}{'dead':>6}{'attempts':>10}\n")
    for job_type in kit.registry.job_types():
        jobs = kit.find(job_type=job_type, limit=None)
        done = sum(j.status is JobStatus.COMPLETED for j in jobs)
        dead = sum(j.status is JobStatus.DEAD for j in jobs)
        attempts = sum(j.attempts for j in jobs)
        prio = jobs[0].priority.value if jobs else "-"
        w(f"  {job_type:<18}{prio:<10}{done:>10}{dead:>6}{attempts:>10}\n")

    stats = kit.stats()
    w("\ncounters  " + "  ".join(f"{k}={v}" for k, v in stats.counters.items() if v) + "\n")
    rate = stats.success_rate
    w(f"success rate per attempt: {rate:.1%}\n" if rate is not None else "")

    for label, job in followed.items():
        w(f"\nretry timeline — {label} ({job.job_type} {job.args})\n")
        first: datetime | None = None
        for n, snap in enumerate(attempt_timeline(kit, job.id), start=1):
            assert snap.started_at is not None
            first = first or snap.started_at
            outcome = snap.status.value
            detail = f"{snap.error.type}: {snap.error.message}" if snap.error else "ok"
            nxt = (
                f"; next attempt at +{_fmt(snap.run_at - first)}"
                if snap.status is JobStatus.RETRYING
                else ""
            )
            w(f"  attempt {n} at +{_fmt(snap.started_at - first):<9} {outcome:<10} {detail}{nxt}\n")

    dead_jobs = kit.dead_letters()
    w(f"\ndead-letter queue: {len(dead_jobs)} job(s)\n")
    for job in dead_jobs:
        err = job.error.type if job.error else "?"
        w(f"  {job.id}  {job.job_type:<16} {err} after {job.attempts} attempts\n")
    w("retry one with kit.retry_dead(job_id); see README.md for more.\n")
    settled = (JobStatus.COMPLETED, JobStatus.DEAD)
    return 0 if all(j.status in settled for j in kit.find(limit=None)) else 1


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{secs}s" if secs or not seconds else "")
    return "".join(parts)
