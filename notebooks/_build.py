"""Write the notebooks in this directory from the cells below (outputs stripped).

The notebooks are generated so they stay small, reviewable and diffable:

    python notebooks/_build.py          # rewrites notebooks/*.ipynb
    python notebooks/_build.py --check  # exit 1 if a notebook differs from what this makes

To change a notebook, edit its cells here and run the script again (or edit it in
JupyterLab, then port the change here so `--check`, which the tests run, passes).
Each cell is a string: `md(...)` marks a Markdown cell, any other string is code
(both are dedented).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent

#: the notebook metadata every notebook carries (tests/notebooks checks it)
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

MD = "md:"


def md(text: str) -> str:
    """A Markdown cell."""
    return MD + dedent(text).strip()


NB01 = [
    md("""
    # 01 · Prototype handlers in a notebook

    Write a few job handlers, enqueue work, run it and look at what happened — all in
    this notebook, with no Redis and no waiting. The kit below keeps its jobs in memory
    and reads the time from a `FakeClock`, which only moves when we move it: a retry
    due in an hour runs as soon as we say an hour has passed.
    """),
    """
    import asyncio

    import pandas as pd

    import jobkit
    from jobkit import Failure, FakeClock

    clock = FakeClock()  # 2026-01-01 00:00 UTC until we advance it
    kit = jobkit.connect("memory://", clock=clock)
    kit
    """,
    md("""
    ## Handlers

    A handler takes the job's `args` dict and returns a JSON result. Four flavours:

    - a plain function that succeeds;
    - an `async def` handler (it works in a notebook too, where an event loop is already running);
    - one that fails *without* an exception by returning `Failure(...)`
      (`retryable=False` sends the job straight to the dead-letter queue);
    - one that raises: the exception's type, message and traceback are recorded and the job
      follows its retry policy.

    Registration options (`priority`, `max_retries`, `queue`) are defaults for that job type.
    """),
    """
    @kit.handler("email.send")
    def send_email(args):
        return {"sent_to": args["to"]}


    @kit.handler("report.build", priority="low")
    async def build_report(args):
        await asyncio.sleep(0)  # a real report would await a database here
        return {"month": args["month"], "pages": 12}


    @kit.handler("card.charge")
    def charge_card(args):
        if args["amount"] > 1000:
            return Failure("amount is over the card limit", type="LimitExceeded", retryable=False)
        return {"charged": args["amount"]}


    @kit.handler("image.resize", max_retries=2)
    def resize_image(args):
        if args["width"] <= 0:
            raise ValueError(f"width must be positive, got {args['width']}")
        return {"width": args["width"]}


    kit.registry.job_types()
    """,
    md("""
    ## Enqueue with priorities

    Enqueuing only stores the job; nothing runs yet. Priorities are strict:
    `critical > high > default > low > bulk`, first in first out within one priority.
    The report takes `low` from its handler's registration.
    """),
    """
    report = kit.enqueue("report.build", {"month": 11})
    welcome = kit.enqueue("email.send", {"to": "ada@example.com"}, priority="high")
    charge = kit.enqueue("card.charge", {"amount": 5000})
    resize = kit.enqueue("image.resize", {"width": 0})
    alert = kit.enqueue("email.send", {"to": "ops@example.com"}, priority="critical")

    {priority.value: count for priority, count in kit.sizes().items()}
    """,
    md("""
    ## Run them

    `kit.run_until_idle()` processes every ready job in this thread, deterministically, and
    returns how many ran. The backend's history (newest first) shows the order: critical,
    high, the two default jobs in arrival order, then low.
    """),
    """
    print("ran", kit.run_until_idle(), "jobs")
    [(job.job_type, job.priority.value) for job in reversed(kit.backend.history())]
    """,
    md("""
    ## Inspect

    `kit.get(job_id)` returns the stored `Job`; in a notebook it renders as a small table.
    The resize job failed once and is `retrying`: its `run_at` is 30 s from now, the first
    delay of the default retry policy.
    """),
    """
    kit.get(resize.id)
    """,
    md("""
    `kit.jobs_frame()` gives every job as a typed pandas DataFrame (priority and status are
    categoricals, times are UTC datetimes), ready to filter or plot.
    """),
    """
    kit.jobs_frame()[["job_type", "priority", "status", "attempts", "error_type", "result"]]
    """,
    md("""
    The card charge returned `Failure(..., retryable=False)`, so it skipped the retries and
    went straight to the dead-letter queue:
    """),
    """
    [(j.job_type, j.status.value, j.error.type, j.error.message) for j in kit.dead_letters()]
    """,
    md("""
    ## Test a flaky handler with `jobkit.testing`

    The same helpers your pytest suite uses work here. This webhook times out on its first
    two attempts (`jobkit.current_job()` tells the handler which attempt it is).

    - `perform(kit, job_type, args)` runs the handler once, inline, after a JSON round trip
      of the args, and re-raises what it raises;
    - `drain(kit)` runs everything and, on a `FakeClock`, jumps the clock to each retry, so
      the whole retry timeline plays in milliseconds.
    """),
    """
    from jobkit.testing import drain, perform


    @kit.handler("webhook.call")
    def call_webhook(args):
        attempt = jobkit.current_job().attempts
        if attempt < 3:
            raise TimeoutError(f"{args['url']} did not answer (attempt {attempt})")
        return {"status": 200, "attempt": attempt}


    try:
        perform(kit, "webhook.call", {"url": "https://partner.example/hook"})
    except TimeoutError as exc:
        print("perform re-raised:", repr(exc))
    """,
    """
    start = clock.now()
    hook = kit.enqueue("webhook.call", {"url": "https://partner.example/hook"})
    drained = drain(kit)
    print(drained)
    pd.DataFrame(
        {
            "job_type": [a.job_type for a in drained.attempts],
            "attempt": [a.attempts for a in drained.attempts],
            "started_after": [a.started_at - start for a in drained.attempts],
            "status_after": [a.status.value for a in drained.attempts],
        }
    )
    """,
    md("""
    `drain` also ran the resize job's pending retries: with `max_retries=2` its third
    attempt failed too, so it is dead now. The webhook succeeded on attempt 3, 5 min 30 s
    after its first try (+30 s, then +5 min).
    """),
    """
    for job in (hook, resize):
        print(f"{job.job_type:<13} {kit.get(job.id).status.value}")
    print("the clock is now", clock.now())
    """,
    md("""
    ## Walk through scheduled work with `ClockControl`

    `kit.schedule(...)` enqueues a job for later. `ClockControl(kit)` is a small widget for
    a kit on a `FakeClock`: each button moves the clock (+1 s, +1 min, +1 h, or straight to
    the next due job) and then runs whatever became due. Click around, or drive it from code
    as the next cell does.
    """),
    """
    from jobkit.widgets import ClockControl

    kit.schedule("email.send", {"to": "ada@example.com", "template": "reminder"}, delay=90)
    kit.schedule("report.build", {"month": 12}, delay=3600)

    controls = ClockControl(kit)
    controls
    """,
    """
    print("+1 min     ran", controls.step(60), "job(s), now", clock.now())
    print("next due   ran", controls.jump_to_next_due(), "job(s), now", clock.now())
    print("next due   ran", controls.jump_to_next_due(), "job(s), now", clock.now())
    print("next due   ran", controls.jump_to_next_due(), "job(s): nothing is scheduled")
    """,
    md("""
    The reminder was not due after one minute; "next due" jumped to it (90 s), then to the
    report an hour later. Next: how retries are spaced out, in
    `02_retry_backoff_timelines.ipynb`.
    """),
]

NB02 = [
    md("""
    # 02 · Retry backoff timelines

    When a job fails, its retry policy decides when it runs again; after `max_retries`
    retries it goes to the dead-letter queue. This notebook shows the default policy, lets
    you play with the others, and checks on a `FakeClock` that a job which always fails
    really runs when the policy says.
    """),
    """
    import random

    import pandas as pd

    import jobkit
    from jobkit import FakeClock, RetryPolicy
    from jobkit.testing import drain
    from jobkit.widgets import RetryTimeline
    """,
    md("""
    ## The default policy

    `RetryPolicy.default()` is the seed's schedule: attempt 1 at once, then waits of 30 s,
    5 min and 1 h. `policy.timeline(max_retries)` gives each attempt's start, counted from
    the first one (assuming every attempt fails instantly).
    """),
    """
    default = RetryPolicy.default()
    for attempt, offset in enumerate(default.timeline(max_retries=3), start=1):
        print(f"attempt {attempt}: +{offset}")
    """,
    md("""
    ## Try other policies

    `RetryTimeline()` shows the same thing as a plot with controls: pick a strategy
    (`schedule`, `exponential`, `linear`, `constant`), change the delays, jitter and number
    of retries, and see when each attempt would run. It opens on the default policy; bad
    values show the error instead of raising.
    """),
    """
    timeline = RetryTimeline()
    timeline
    """,
    md("""
    The widget's `policy`, `schedule` and `frame` properties read what the controls
    describe:
    """),
    """
    print(timeline.policy)
    timeline.frame
    """,
    md("""
    The other strategies, side by side (seconds from the first attempt; jitter is not
    applied to a timeline):
    """),
    """
    policies = {
        "exponential 10 s x2, max 10 min": RetryPolicy.exponential(10, factor=2, max_delay=600),
        "linear 60 s": RetryPolicy.linear(60),
        "constant 2 min": RetryPolicy.constant(120),
        "schedule 5 s, 1 min, 15 min": RetryPolicy.schedule([5, 60, 900]),
    }
    pd.DataFrame(
        {name: [t.total_seconds() for t in p.timeline(6)] for name, p in policies.items()},
        index=pd.RangeIndex(1, 8, name="attempt"),
    )
    """,
    """
    RetryTimeline(policies["exponential 10 s x2, max 10 min"], max_retries=6)
    """,
    md("""
    ## Jitter

    Jitter spreads each delay over `delay * (1 ± jitter)` so that jobs that failed together
    do not all come back at the same instant. It draws only from a `random.Random` you pass
    in (to a kit: `connect(..., rng=random.Random(7))`), so a run can be replayed exactly.
    """),
    """
    jittered = RetryPolicy.exponential(10, jitter=0.3)
    rng = random.Random(7)
    pd.DataFrame(
        {
            "retry": range(1, 6),
            "nominal_s": [jittered.nominal_seconds(n) for n in range(1, 6)],
            "drawn_s": [round(jittered.delay(n, rng).total_seconds(), 1) for n in range(1, 6)],
        }
    )
    """,
    md("""
    ## A job that always fails, on a fake clock

    The partner API is down. `drain(kit)` runs the job, and each time nothing else is
    ready it moves the `FakeClock` to the next retry, so the whole hour plays at once.
    """),
    """
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)


    @kit.handler("webhook.call")
    def call_partner(args):
        raise ConnectionError("partner API answered 503")


    start = clock.now()
    job = kit.enqueue("webhook.call", {"url": "https://partner.example/hook"})
    result = drain(kit)
    result
    """,
    md("""
    Each attempt's start, next to what the policy promised:
    """),
    """
    attempts = pd.DataFrame(
        {
            "attempt": [a.attempts for a in result.attempts],
            "started_after": [a.started_at - start for a in result.attempts],
            "policy_says": kit.retry_policy.timeline(job.max_retries),
            "status_after": [a.status.value for a in result.attempts],
            "error": [a.error.message for a in result.attempts],
        }
    )
    attempts["on_time"] = attempts["started_after"] == attempts["policy_says"]
    attempts
    """,
    md("""
    ## The dead-letter queue

    After its fourth failure the job is `dead`: it stays in the dead-letter queue with its
    last error until someone looks at it.
    """),
    """
    [(j.job_type, j.status.value, j.attempts, j.error.type) for j in kit.dead_letters()]
    """,
    md("""
    The partner is back. `kit.retry_dead(job_id)` puts the job back as `pending` with its
    retry count reset, and the next run completes it.
    """),
    """
    kit.register("webhook.call", lambda args: {"status": 200}, replace=True)  # the fix

    retried = kit.retry_dead(job.id)
    print("after retry_dead:", retried.status.value, "retry_count", retried.retry_count)
    print(drain(kit))
    kit.get(job.id)
    """,
    md("""
    ## A policy per job type

    A handler can register its own policy and retry budget. Here: exponential from 5 s,
    five retries.
    """),
    """
    @kit.handler("cache.warm", retry_policy=RetryPolicy.exponential(5), max_retries=5)
    def warm_cache(args):
        raise TimeoutError("cache node is still starting")


    start = clock.now()
    kit.enqueue("cache.warm", {"node": 3})
    [str(a.started_at - start) for a in drain(kit).attempts]
    """,
]

NB03 = [
    md("""
    # 03 · Live inspection with the Dashboard

    A kit with real worker threads and the real clock, watched live. Three job types:
    `email.send` and `report.build` succeed; `webhook.call` fails the first time it runs a
    job and succeeds afterwards. It is registered with `max_retries=0`, so its first
    failure sends the job straight to the dead-letter queue, where the dashboard lets you
    retry (or delete) it by hand.
    """),
    """
    import os
    import time

    import jobkit
    from jobkit.widgets import Dashboard

    kit = jobkit.connect("memory://")  # in-memory backend, SystemClock (real time)
    kit
    """,
    """
    seen_webhooks: set[str] = set()  # ids of webhook jobs that already ran once


    @kit.handler("email.send")
    def send_email(args):
        return {"sent_to": args["to"]}


    @kit.handler("report.build", priority="low")
    def build_report(args):
        time.sleep(0.2)  # a little work
        return {"month": args["month"]}


    @kit.handler("webhook.call", max_retries=0)
    def call_webhook(args):
        job_id = jobkit.current_job().id
        if job_id not in seen_webhooks:
            seen_webhooks.add(job_id)
            raise ConnectionError(f"{args['url']} refused the connection")
        return {"status": 200}
    """,
    md("""
    ## Enqueue a mix and start a pool

    Nine emails at three priorities, three reports and exactly two webhooks. A
    `WorkerPool` of three threads picks them up; `wait_until_idle` returns once nothing is
    pending or running. The pool keeps running afterwards, so jobs enqueued (or retried)
    later are processed too.
    """),
    """
    for i, priority in enumerate(["critical", "high", "default"] * 3):
        kit.enqueue("email.send", {"to": f"user{i}@example.com"}, priority=priority)
    for month in (10, 11, 12):
        kit.enqueue("report.build", {"month": month})
    for partner in ("billing", "crm"):
        kit.enqueue("webhook.call", {"url": f"https://{partner}.example/hook"}, priority="high")

    pool = kit.pool(worker_count=3, poll_interval=0.05)
    pool.start()
    pool.wait_until_idle(timeout=30)
    """,
    """
    kit.stats_frame()
    """,
    md("""
    ## The dashboard

    Queue depth per priority, a count per status, throughput, the dead-letter list and the
    most recent jobs, refreshed every half second. Both webhooks are in the dead-letter
    list: click **Retry** on one and watch it leave the list as the pool runs it again
    (this time it succeeds, so `completed` goes up by one). **Delete** removes a job for
    good; **Pause** stops the refreshing.
    """),
    """
    dash = Dashboard(kit, refresh=0.5)
    dash
    """,
    md("""
    ## Optional: the same on Redis

    The dashboard works the same on a Redis backend (`Dashboard(redis_kit)`). This cell
    runs a few jobs on a local Redis if one answers on `127.0.0.1:6379` (under a private
    key prefix, cleared afterwards), and skips otherwise.
    """),
    """
    import uuid

    REDIS_URL = "redis://127.0.0.1:6379/0"


    def redis_reachable(url: str) -> bool:
        try:
            import redis
        except ImportError:
            return False
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False


    if redis_reachable(REDIS_URL):
        redis_kit = jobkit.connect(REDIS_URL, prefix=f"jobkit-notebook-{uuid.uuid4().hex[:8]}")
        redis_kit.register("email.send", send_email)
        for i in range(3):
            redis_kit.enqueue("email.send", {"to": f"redis{i}@example.com"})
        print("ran", redis_kit.run_until_idle(), "jobs on", redis_kit.backend)
        print(redis_kit.stats_frame().loc["global", ["enqueued", "completed", "pending"]].to_dict())
        redis_kit.backend.clear()
        redis_kit.close()
    else:
        print(f"No Redis at {REDIS_URL}: skipped (the memory example above is all you need).")
    """,
    md("""
    ## Shutting down

    In JupyterLab, leave the pool and the dashboard running while you explore; stop them
    with `dash.close(); pool.stop()` when you are done (or restart the kernel). The cell
    below does that only when `JOBKIT_NOTEBOOK_SHUTDOWN=1`, as the automated notebook tests
    set it, so "Run All" in a browser leaves everything live.
    """),
    """
    if os.environ.get("JOBKIT_NOTEBOOK_SHUTDOWN") == "1":
        dash.close()
        pool.stop()
    """,
]

NB04 = [
    md("""
    # 04 · Replay a workload

    What does a 20-minute outage of the mail provider do to the queues? The fixture
    `outage.jsonl` is two hours of traffic (about 0.7 jobs/s) during which every
    `send_email` attempt started between 10:00 and 10:20 UTC times out after 10 s. The
    simulator replays it through the real worker code on a fake clock — in well under a
    second — and hands back pandas DataFrames.
    """),
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    from jobkit import sim
    from jobkit.widgets import SimulationExplorer

    # the mail provider is down from 10:00 to 10:20 UTC: we shade that window in the plots
    OUTAGE = [pd.Timestamp(f"2026-01-01 {hhmm}", tz="UTC") for hhmm in ("10:00", "10:20")]
    """,
    md("""
    ## The workload

    A workload file starts with a header naming its job types' behaviors (how long an
    attempt takes, when it fails); then one arrival per line.
    """),
    """
    workload = sim.Workload.load("../fixtures/workloads/outage.jsonl")
    print(workload)
    print(workload.behaviors["send_email"])
    workload.to_frame().head()
    """,
    md("""
    ## Run it with five workers

    `Simulation(workers=5, seed=0).run(workload)` — the same seed gives the same frames,
    every time.
    """),
    """
    r5 = sim.Simulation(workers=5, seed=0).run(workload)
    r5
    """,
    md("""
    The result is a handful of typed DataFrames: `jobs` (one row per job), `attempts` (one
    row per attempt), `queue_depth` (samples over time per queue and priority) and
    `summary()` (throughput and waits per priority and job type).
    """),
    """
    r5.jobs.head()
    """,
    """
    r5.attempts[r5.attempts["outcome"] != "completed"].head()
    """,
    """
    r5.queue_depth.head()
    """,
    """
    columns = ["jobs", "completed", "dead", "attempts", "wait_p50_s", "wait_p95_s", "wait_max_s"]
    r5.summary()[columns]
    """,
    md("""
    ## Queue depth per priority

    Pending jobs per priority over time (the outage is shaded). Strict priority keeps
    `critical` and `high` near zero while the lower priorities pile up behind the timeouts.
    """),
    """
    pending = r5.queue_depth.pivot_table(
        index="at", columns="priority", values="pending", aggfunc="sum", observed=True
    )
    retrying = r5.queue_depth.groupby("at")["retrying"].sum()

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    pending.plot(ax=top, title="pending jobs per priority (5 workers)")
    retrying.plot(ax=bottom, color="tab:red", title="jobs waiting for a retry")
    for ax in (top, bottom):
        ax.axvspan(*OUTAGE, color="grey", alpha=0.2)
    plt.show()
    """,
    md("""
    ## Wait per priority

    Seconds from enqueue to first start, per priority (log scale). The median wait is 0
    everywhere — most jobs arrive outside the outage — so the tail tells the story.
    """),
    """
    waits = r5.summary().loc["priority", ["wait_p95_s", "wait_p99_s", "wait_max_s"]]
    ax = waits.plot.bar(logy=True, figsize=(8, 4), title="wait per priority (s)", rot=0)
    ax.set_xlabel("priority")
    plt.show()
    """,
    md("""
    ## Attempts per minute

    The retry storm, attempt by attempt. During the outage only about 30 attempts start
    per minute: each email attempt holds a worker for its 10 s timeout, and fails. At 10:20
    the backlog drains in a burst, and the jobs that failed three times come back an hour
    after their third try (11:05 to 11:20) as a wave of retries on top of live traffic.
    """),
    """
    attempts = r5.attempts
    kind = attempts["attempt"].gt(1).map({False: "first try", True: "retry"})
    result = attempts["outcome"].eq("completed").map({True: "ok", False: "failed"})
    colors = {
        "first try, ok": "tab:blue",
        "retry, ok": "tab:cyan",
        "first try, failed": "tab:orange",
        "retry, failed": "tab:red",
    }
    per_minute = (
        attempts.groupby([pd.Grouper(key="started_at", freq="1min"), kind + ", " + result])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(colors), fill_value=0)
    )
    ax = per_minute.plot.area(figsize=(10, 4), color=colors, title="attempts started per minute")
    ax.axvspan(*OUTAGE, color="grey", alpha=0.2)
    plt.show()
    """,
    md("""
    ## Explore single jobs

    `SimulationExplorer(result)` lists the jobs (those with several attempts first); pick
    one to see its attempts on a timeline and in a table, next to the queue depth.
    Here we select the one job that ended up dead.
    """),
    """
    dead_id = r5.jobs.loc[r5.jobs["status"] == "dead", "id"].iloc[0]
    explorer = SimulationExplorer(r5)
    explorer.select(dead_id)
    explorer
    """,
    """
    explorer.selected_attempts
    """,
    md("""
    ## What if…?

    Two ways out, each replayed with the same workload and seed:

    - **more workers**: eight instead of five;
    - **a shorter timeout**: five workers, but a failing email call gives up after 2 s
      instead of 10 s (the workload's `send_email` behavior with another
      `failure_duration`).

    `sim.compare` stacks the summaries into one tidy frame, ready to plot side by side.
    """),
    """
    from dataclasses import replace

    r8 = sim.Simulation(workers=8, seed=0).run(workload)
    quick_fail = replace(workload.behaviors["send_email"], failure_duration=sim.constant(2))
    r2s = sim.Simulation(workers=5, seed=0, behaviors={"send_email": quick_fail}).run(workload)

    scenarios = {"5 workers": r5, "8 workers": r8, "5 workers, 2 s timeout": r2s}
    comparison = sim.compare(scenarios)
    comparison[comparison["scope"] == "all"].set_index("scenario")[columns]
    """,
    """
    priorities = ["critical", "high", "default", "low", "bulk"]
    wait_p95 = comparison[comparison["scope"] == "priority"].pivot(
        index="group", columns="scenario", values="wait_p95_s"
    )
    backlog = pd.DataFrame(
        {name: r.queue_depth.groupby("at")["pending"].sum() for name, r in scenarios.items()}
    )

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    wait_p95.reindex(priorities).plot.bar(ax=left, logy=True, rot=0, title="wait p95 (s)")
    left.set_xlabel("priority")
    left.legend(fontsize="small")
    backlog.plot(ax=right, title="pending jobs over time")
    right.axvspan(*OUTAGE, color="grey", alpha=0.2)
    plt.show()
    """,
    md("""
    Three more workers help the high priorities and shave the backlog, but it still builds
    up while every email attempt burns a worker for 10 s. The shorter timeout is the real
    fix: with five workers the backlog never forms and every priority waits seconds at
    most. Other what-ifs to try from here: another retry policy
    (`Simulation(retry_policy=RetryPolicy.exponential(10))`), fewer workers, or the same
    run through the Redis backend's Lua scripts (`Simulation(backend="fakeredis://")`).
    """),
    md("""
    ## Fair turns across tenants

    `multi_tenant.jsonl` is one tenant's 2,700-job batch next to five small tenants'
    steady trickle. Within a priority, jobkit lets tenants take turns (one job of each
    per round; on by default); `fair=False` serves first in, first out. Same workload,
    same seed, both ways:
    """),
    """
    tenants = sim.Workload.load("../fixtures/workloads/multi_tenant.jsonl")
    turns = {
        "first in, first out": sim.Simulation(workers=5, seed=0, fair=False).run(tenants),
        "fair turns": sim.Simulation(workers=5, seed=0).run(tenants),
    }
    by_tenant = sim.compare(turns)
    by_tenant[by_tenant["scope"] == "tenant"].pivot(
        index="group", columns="scenario", values="wait_p95_s"
    ).round(1)
    """,
    md("""
    First in, first out, every small tenant's job that arrives during the batch waits
    behind it (p95 of several minutes); with turns they wait about a second, and the big
    tenant's batch finishes at the same time.
    """),
]

NOTEBOOKS: dict[str, list[str]] = {
    "01_prototype_handlers.ipynb": NB01,
    "02_retry_backoff_timelines.ipynb": NB02,
    "03_live_inspection.ipynb": NB03,
    "04_replay_a_workload.ipynb": NB04,
}


def build(cells: list[str]) -> nbformat.NotebookNode:
    """A notebook (nbformat 4, no outputs) of `cells`, with stable cell ids."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    for number, cell in enumerate(cells, start=1):
        cell_id = f"cell-{number:02d}"
        if cell.startswith(MD):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[len(MD) :], id=cell_id))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(dedent(cell).strip(), id=cell_id))
    nbformat.validate(nb)
    return nb


def render(cells: list[str]) -> str:
    """The notebook file's text."""
    return nbformat.writes(build(cells)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) every notebook; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs")
    options = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(cells)
        if options.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    for name in stale:
        print(f"{name} differs from notebooks/_build.py: run python notebooks/_build.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
