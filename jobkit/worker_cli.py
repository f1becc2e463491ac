"""`jobkit worker`: run a pool of worker threads until SIGTERM or SIGINT.

The command imports the application named by `--app module:attr` (the current
directory is put on `sys.path` first), takes its registry and retry policy, connects
to `--url` (or uses the application's own backend), and runs a `WorkerPool`.

Shutdown: the first SIGTERM or SIGINT stops the workers from taking new jobs and
waits up to `--shutdown-timeout` seconds for each to finish the job in hand, then
logs a summary, closes the backend and exits 0. A second signal during that wait
exits at once with 128 + the signal number (130 for SIGINT, 143 for SIGTERM): the
jobs in hand are then neither finished nor acked, and a shared backend (Redis) hands
them to another worker when their lease expires (`--visibility-timeout`). If the
shutdown timeout passes with jobs still in hand, the command exits 1 the same way.

Everything is reported through logging (logger `jobkit.cli`); the URL is shown only
redacted, and its password is scrubbed from every log record while the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from jobkit.kit import JobKit
from jobkit.registry import Registry
from jobkit.worker import WorkerPool

log = logging.getLogger("jobkit.cli")

URL_ENV = "JOBKIT_URL"
SIGNALS = (signal.SIGTERM, signal.SIGINT)
_POLL_SECONDS = 0.1  # how often the main thread looks for a signal or dead workers
_SECRET_QUERY_KEYS = ("pass", "secret", "token", "key", "auth", "cred")

EPILOG = f"""\
examples:
  # myproject/jobs.py:  kit = jobkit.connect("memory://")  plus @kit.handler(...) functions
  jobkit worker --app myproject.jobs:kit --url redis://localhost:6379/0 \\
      --queue critical --queue default --workers 8

  # a Registry (or a zero-argument factory returning a JobKit or a Registry);
  # the URL from the environment keeps its password out of `ps`
  {URL_ENV}=redis://:secret@redis:6379/0 jobkit worker --app myproject.jobs:registry

signals:
  SIGTERM / SIGINT   stop taking jobs, let each worker finish the job in hand (up to
                     --shutdown-timeout), log a summary, close the backend, exit 0
  a second signal    exit at once with 143 (SIGTERM) / 130 (SIGINT); the jobs in hand
                     are recovered by lease expiry (--visibility-timeout) on a shared
                     backend such as Redis (an in-memory backend dies with the process)

exit codes: 0 clean stop, 1 runtime failure or shutdown timeout, 2 bad arguments or --app,
            130 / 143 second signal
"""


class WorkerCommandError(Exception):
    """A bad argument or `--app` value; reported as a usage error (exit code 2)."""


class WorkerFailedError(Exception):
    """A failure already logged (e.g. the backend is unreachable); exit code 1."""


# -- arguments ---------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _seconds(text: str, *, allow_zero: bool) -> float:
    bound = ">= 0" if allow_zero else "> 0"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds {bound}, got {text!r}"
        ) from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"must be a number of seconds {bound}, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    return _seconds(text, allow_zero=False)


def _non_negative_seconds(text: str) -> float:
    return _seconds(text, allow_zero=True)


def add_worker_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the `worker` subcommand to `subparsers`; returns its parser."""
    worker = subparsers.add_parser(
        "worker",
        help="run a production worker pool until SIGTERM or SIGINT",
        description="Run N worker threads on the backend at --url with the handlers "
        "of --app, until SIGTERM or SIGINT; then stop gracefully.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.add_argument(
        "--app",
        required=True,
        metavar="MODULE:ATTR",
        help="the application: a jobkit.JobKit, a jobkit.registry.Registry, or a "
        "zero-argument callable returning either (the current directory is importable)",
    )
    worker.add_argument(
        "--url",
        default=os.environ.get(URL_ENV) or None,
        help="backend URL, e.g. redis://localhost:6379/0 (default: $JOBKIT_URL, else the "
        "JobKit's own backend; required for a Registry)",
    )
    worker.add_argument(
        "--queue",
        dest="queues",
        action="append",
        metavar="NAME",
        help="a queue to serve; repeat it, most important first (default: every queue)",
    )
    worker.add_argument(
        "--tenant",
        dest="tenants",
        action="append",
        metavar="ID",
        help="serve only this tenant's jobs; repeat it for several (default: every job)",
    )
    worker.add_argument(
        "--without-tenant",
        action="store_true",
        help="serve jobs that have no tenant (with --tenant: as well; alone: only those)",
    )
    worker.add_argument(
        "--workers", type=_positive_int, default=5, metavar="N", help="worker threads (default 5)"
    )
    worker.add_argument(
        "--poll-interval",
        type=_positive_seconds,
        default=0.5,
        metavar="S",
        help="longest wait between checks for new jobs when idle (default 0.5)",
    )
    worker.add_argument(
        "--visibility-timeout",
        type=_positive_seconds,
        default=30.0,
        metavar="S",
        help="lease of a claimed job without a heartbeat (default 30)",
    )
    worker.add_argument(
        "--heartbeat-interval",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds between lease renewals; shorter than --visibility-timeout (default 10)",
    )
    worker.add_argument(
        "--shutdown-timeout",
        type=_non_negative_seconds,
        default=30.0,
        metavar="S",
        help="how long the first signal waits for the jobs in hand (default 30)",
    )
    worker.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="jobs a worker claims, and acknowledges, per round trip (default 1; "
        "larger batches pay off for many short jobs on Redis)",
    )
    worker.add_argument(
        "--prefix",
        default=None,
        help="key prefix on Redis (default: the --app JobKit's own prefix, else jobkit)",
    )
    worker.set_defaults(worker_parser=worker)
    return worker


# -- the application ---------------------------------------------------------------------


_EXPECTED = (
    "expected a jobkit.JobKit, a jobkit.registry.Registry, or a zero-argument callable "
    "returning one of them"
)


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}, not an instance"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (of type {type(value).__name__})"


def load_app(spec: str) -> JobKit | Registry:
    """Import `module:attr` and return the JobKit or Registry it names.

    `attr` may be dotted (`module:app.kit`) and may name a zero-argument factory,
    which is called. The current directory goes on `sys.path` first. Raises
    WorkerCommandError with a message naming what was wrong.
    """
    module_name, colon, attr_path = spec.partition(":")
    module_name, attr_path = module_name.strip(), attr_path.strip()
    if not colon or not module_name or not attr_path:
        raise WorkerCommandError(
            f"--app {spec!r} must be MODULE:ATTR, e.g. 'myproject.jobs:kit' "
            "(a module and the JobKit or Registry in it, separated by a colon)"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            raise WorkerCommandError(
                f"--app {spec!r}: cannot import module {module_name!r}: no module named "
                f"{exc.name!r} (looked in the current directory {cwd!r} and sys.path)"
            ) from None
        log.error("importing module %r failed", module_name, exc_info=True)
        raise WorkerCommandError(
            f"--app {spec!r}: importing module {module_name!r} failed: {exc} "
            "(the traceback is above)"
        ) from None
    except Exception as exc:
        log.error("importing module %r failed", module_name, exc_info=True)
        raise WorkerCommandError(
            f"--app {spec!r}: importing module {module_name!r} failed: "
            f"{type(exc).__name__}: {exc} (the traceback is above)"
        ) from None
    target: Any = module
    for name in attr_path.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise WorkerCommandError(
                f"--app {spec!r}: module {module_name!r} has no attribute {attr_path!r}"
                + (f" (no {name!r})" if name != attr_path else "")
            ) from None
    if isinstance(target, JobKit | Registry):
        return target
    if not callable(target) or isinstance(target, type):
        raise WorkerCommandError(f"--app {spec!r} is {_describe(target)}; {_EXPECTED}")
    try:
        inspect.signature(target).bind()
    except TypeError:
        raise WorkerCommandError(
            f"--app {spec!r} is a callable that needs arguments; {_EXPECTED}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): just call it
        pass
    try:
        made = target()
    except Exception as exc:
        log.error("calling the factory %r failed", spec, exc_info=True)
        raise WorkerCommandError(
            f"--app {spec!r}: calling the factory failed: {type(exc).__name__}: {exc} "
            "(the traceback is above)"
        ) from None
    if not isinstance(made, JobKit | Registry):
        raise WorkerCommandError(
            f"--app {spec!r} returned {_describe(made)}; expected a jobkit.JobKit or a "
            "jobkit.registry.Registry"
        )
    return made


def connect_app(
    app: JobKit | Registry, url: str | None, spec: str, *, prefix: str | None = None
) -> tuple[JobKit, str]:
    """The JobKit to run: `app` itself, or a new one on `url` with `app`'s registry
    (and retry policy) and key `prefix` (default: the app kit's own backend prefix, so
    `--url` points the worker at the same keys). Returns it and how to show its
    backend (URL redacted)."""
    from jobkit.kit import _redact, connect

    own_prefix = getattr(app.backend, "prefix", None) if isinstance(app, JobKit) else None
    if url is None:
        if isinstance(app, Registry):
            raise WorkerCommandError(
                f"--app {spec!r} is a Registry, which has no backend: give --url "
                f"(e.g. redis://localhost:6379/0) or set ${URL_ENV}"
            )
        if prefix not in (None, own_prefix):
            raise WorkerCommandError("--prefix needs --url (the --app kit has its own backend)")
        return app, f"backend={type(app.backend).__name__} (from --app {spec})"
    shown = f"url={_redact(url)}"
    registry = app if isinstance(app, Registry) else app.registry
    retry_policy = None if isinstance(app, Registry) else app.retry_policy
    in_memory = urlsplit(url).scheme == "memory"
    prefix = prefix or own_prefix
    options = {"prefix": prefix} if prefix and not in_memory else {}
    try:
        kit = connect(url, registry=registry, retry_policy=retry_policy, **options)
    except ValueError as exc:  # InvalidUrlError and friends: the URL is wrong
        raise WorkerCommandError(f"--url: {exc}") from None
    except Exception as exc:  # unreachable server, missing client library, ...
        log.error("cannot connect to %s", _redact(url), exc_info=True)
        raise WorkerFailedError(f"cannot connect to {_redact(url)}: {exc}") from None
    if in_memory:
        log.warning(
            "--url memory:// is a new in-memory backend private to this process: it "
            "holds no jobs unless --app enqueues them into it"
        )
    return kit, shown


# -- secrets -----------------------------------------------------------------------------


def url_secrets(url: str | None) -> list[tuple[str, str]]:
    """What to replace so that nothing secret in `url` is ever shown: the URL itself
    becomes its redacted form, and its password (raw and percent-decoded) and
    secret-looking query values become `***`. Pairs (old, new), longest first."""
    from jobkit.kit import _redact

    if not url:
        return []
    found: dict[str, str] = {}
    redacted = str(_redact(url))
    if redacted != url:
        found[url] = redacted
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        parts, password = None, None
    secrets: set[str] = set()
    userinfo = url.partition("://")[2].rpartition("@")[0]
    if ":" in userinfo:
        secrets.update({userinfo, userinfo.partition(":")[2]})
    if password:
        secrets.update({password, unquote(password), quote(unquote(password), safe="")})
    if parts is not None:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if any(word in key.lower() for word in _SECRET_QUERY_KEYS):
                secrets.update({value, quote(value, safe="")})
    found.update((secret, "***") for secret in secrets if secret)
    return sorted(found.items(), key=lambda pair: len(pair[0]), reverse=True)


def scrub(text: str, redactions: Sequence[tuple[str, str]]) -> str:
    """`text` with each redaction's old string replaced by its new one, in order."""
    for old, new in redactions:
        text = text.replace(old, new)
    return text


class SecretFilter(logging.Filter):
    """A handler filter that scrubs secrets from messages, tracebacks and stacks."""

    def __init__(self, redactions: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.secrets = list(redactions)

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub `record` in place; never drops it."""
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: show it, scrubbed, rather than fail
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = scrub(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.secrets)
        return True


# -- signals -----------------------------------------------------------------------------


def _hard_exit(code: int) -> NoReturn:
    """Flush the logs and end the process now, without waiting for any thread."""
    for stream in [*logging.getLogger().handlers, sys.stdout, sys.stderr]:
        with contextlib.suppress(Exception):  # exiting anyway
            stream.flush()
    os._exit(code)


@dataclass
class ShutdownSignals:
    """Records the first SIGTERM/SIGINT; a second one exits the process at once.

    The handler only sets `signum`: the main thread polls it, so nothing that takes a
    lock runs inside the first signal's handler.
    """

    signum: int | None = None
    hard_exit: Callable[[int], NoReturn] = _hard_exit
    _previous: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on (call from the main thread). Calling it
        again takes them back from whoever replaced them (an application's import)."""
        for signum in SIGNALS:
            previous = signal.signal(signum, self.handle)
            self._previous.setdefault(signum, previous)

    def restore(self) -> None:
        """Put back the handlers `install` replaced."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler."""
        if self.signum is None:
            self.signum = signum
            return
        log.warning(
            "received %s again: exiting now with %d; the jobs in hand are not finished "
            "and are recovered when their leases expire",
            signal.Signals(signum).name,
            128 + signum,
        )
        self.hard_exit(128 + signum)

    @property
    def name(self) -> str:
        """The received signal's name (SIGTERM), or '' if none."""
        return "" if self.signum is None else signal.Signals(self.signum).name


# -- running -----------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    """Run the `worker` command with parsed `args`; returns the exit code.

    Usage errors exit 2 through the worker parser's `error`; a second signal and a
    timed-out shutdown end the process directly (see the module docstring).
    """
    parser: argparse.ArgumentParser = args.worker_parser
    secrets = url_secrets(args.url)
    redactor = SecretFilter(secrets)
    handlers: list[logging.Handler] = []
    signals = ShutdownSignals()

    def guard() -> None:
        """Scrub every root log handler's output and own the signals (again after the
        application's import, which may have added handlers or taken signals)."""
        for handler in logging.getLogger().handlers:
            if handler not in handlers:
                handler.addFilter(redactor)
                handlers.append(handler)
        signals.install()

    guard()
    try:
        return _run(args, signals, guard)
    except WorkerCommandError as exc:
        parser.error(scrub(str(exc), secrets))
    except WorkerFailedError:
        return 1
    except Exception:
        log.exception("jobkit worker failed")
        return 1
    finally:
        signals.restore()
        for handler in handlers:
            handler.removeFilter(redactor)


def _run(args: argparse.Namespace, signals: ShutdownSignals, guard: Callable[[], None]) -> int:
    extra: dict[str, Any] = {}
    if args.batch_size is not None:
        extra["batch_size"] = args.batch_size
    if args.tenants or args.without_tenant:
        extra["tenants"] = [*(args.tenants or ()), *([None] if args.without_tenant else [])]
    app = load_app(args.app)
    kit, shown = connect_app(app, args.url, args.app, prefix=args.prefix)
    guard()
    try:
        try:
            pool = kit.pool(
                worker_count=args.workers,
                poll_interval=args.poll_interval,
                queues=args.queues,
                visibility_timeout=args.visibility_timeout,
                heartbeat_interval=args.heartbeat_interval,
                **extra,
            )
        except ValueError as exc:  # bad queue or tenant names, heartbeat >= visibility timeout
            raise WorkerCommandError(str(exc)) from None
        try:  # fail fast, as RQ does, rather than log an error per poll per worker
            kit.queues()
        except Exception as exc:
            log.error("cannot reach the backend (%s): %s", shown, exc, exc_info=True)
            return 1
        if signals.signum is not None:
            log.info("received %s before the workers started; exiting", signals.name)
            return 0
        return _serve(args, pool, shown, signals)
    finally:  # not reached after a hard exit: then workers may still use the backend
        _close(kit)


def _close(kit: JobKit) -> None:
    try:
        kit.close()
    except Exception:
        log.warning("closing the backend failed", exc_info=True)


def _serve(args: argparse.Namespace, pool: WorkerPool, shown: str, signals: ShutdownSignals) -> int:
    started = time.monotonic()
    tenants = pool.workers[0].tenants
    log.info(
        "jobkit worker starting: %d worker(s), queues=%s%s, %s, pid=%d",
        len(pool.workers),
        ", ".join(args.queues) if args.queues else "all",
        "" if tenants is None else ", tenants=" + ", ".join(t or "(none)" for t in tenants),
        shown,
        os.getpid(),
    )
    pool.start()
    while signals.signum is None:
        if not pool.running:
            log.error("every worker thread ended unexpectedly; exiting")
            return 1
        time.sleep(_POLL_SECONDS)
    log.info(
        "received %s: stopping; each worker finishes the job in hand (waiting up to %gs; "
        "send the signal again to exit at once)",
        signals.name,
        args.shutdown_timeout,
    )
    pool.stop(timeout=args.shutdown_timeout)
    statuses = pool.status()
    log.info(
        "jobkit worker stopped: processed %d job(s) (%d succeeded, %d failed) in %.1fs",
        sum(s.processed for s in statuses),
        sum(s.succeeded for s in statuses),
        sum(s.failed for s in statuses),
        time.monotonic() - started,
    )
    if pool.running:
        in_hand = [s.current_job_id for s in statuses if s.running and s.current_job_id]
        log.error(
            "shutdown timed out after %gs with %d job(s) still in hand (%s); exiting; "
            "they are recovered when their leases expire",
            args.shutdown_timeout,
            len(in_hand),
            ", ".join(in_hand) or "none",
        )
        signals.hard_exit(1)
    return 0
