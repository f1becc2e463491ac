"""Workloads: the jobs that arrive during a simulation, and when.

An arrival has `at` (seconds since the workload's `start`, or an absolute time),
`job_type`, and optionally `args`, `priority`, `queue` and `tenant_id` (missing ones
take the handler's registered defaults, then the library's). Build a workload from
records, JSON Lines or CSV, or generate one (`poisson`, `burst`, `diurnal`, seeded);
combine them with `+`.

A JSON Lines file may start with one header line describing the workload as a whole:

    {"workload": {"name": "outage", "description": "...", "start": "2026-01-01T09:30:00Z",
                  "behaviors": {"send_email": {"duration": {...}, "failure": {...}}}}}

Every bad line is reported with its file, line number, field and value
(`InvalidWorkloadError`), and nothing runs.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from jobkit.clock import FAKE_EPOCH
from jobkit.core.errors import InvalidBehaviorError, InvalidJobError, InvalidWorkloadError
from jobkit.core.model import (
    MAX_JOB_TYPE_LENGTH,
    Priority,
    json_object,
    require_aware,
    validate_name,
)
from jobkit.sim.behavior import Behavior, behaviors_from_dict

#: The fields an arrival record may have.
ARRIVAL_FIELDS: tuple[str, ...] = ("at", "job_type", "args", "priority", "queue", "tenant_id")
_HEADER_KEYS = frozenset({"name", "description", "start", "behaviors"})
_NO_ARGS: Mapping[str, Any] = MappingProxyType({})

Weights = str | Sequence[str] | Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Arrival:
    """One job arriving `at` seconds after the workload's start."""

    at: float
    job_type: str
    args: Mapping[str, Any] = field(default_factory=lambda: _NO_ARGS)
    priority: Priority | None = None
    queue: str | None = None
    tenant_id: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready record; unset optional fields are left out."""
        record: dict[str, Any] = {"at": round(self.at, 6), "job_type": self.job_type}
        if self.args:
            record["args"] = dict(self.args)
        if self.priority is not None:
            record["priority"] = self.priority.value
        if self.queue is not None:
            record["queue"] = self.queue
        if self.tenant_id is not None:
            record["tenant_id"] = self.tenant_id
        return record


class Workload:
    """An ordered list of arrivals plus what describes them (name, start, behaviors).

    Arrivals are kept sorted by `at`; arrivals at the same instant keep their order.
    """

    def __init__(
        self,
        arrivals: Iterable[Arrival] = (),
        *,
        start: datetime = FAKE_EPOCH,
        name: str | None = None,
        description: str | None = None,
        behaviors: Mapping[str, Behavior] | None = None,
    ) -> None:
        self.arrivals: list[Arrival] = sorted(arrivals, key=_arrival_time)
        self.start = require_aware("start", start)
        self.name = name
        self.description = description
        self.behaviors: dict[str, Behavior] = dict(behaviors or {})

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        start: datetime | None = None,
        name: str | None = None,
        description: str | None = None,
        behaviors: Mapping[str, Behavior] | None = None,
        source: str = "records",
    ) -> Workload:
        """A workload from dicts with the ARRIVAL_FIELDS keys (`at` and `job_type` required).

        `at` is seconds since `start` (a number) or an absolute time (an aware datetime or
        an ISO 8601 string). Without `start`, the earliest absolute time is the start, or
        2026-01-01 UTC when every `at` is a number."""
        rows = [(n, _record(source, n, r)) for n, r in enumerate(records, 1)]
        return cls._assemble(rows, source, start, name, description, behaviors)

    @classmethod
    def from_jsonl(
        cls, path_or_file: str | Path | IO[str], *, start: datetime | None = None
    ) -> Workload:
        """A workload from JSON Lines: one arrival object per line, an optional header
        line first (see the module docs); blank lines are skipped."""
        source, text = _read(path_or_file)
        header: dict[str, Any] | None = None
        rows: list[tuple[int, dict[str, Any]]] = []
        # split on "\n" only: str.splitlines() also breaks at U+2028 and friends, which
        # JSON strings may hold unescaped
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise InvalidWorkloadError(
                    source, number, "line", _cut(line), f"is not valid JSON ({exc.args[0]})"
                ) from None
            if isinstance(data, dict) and "workload" in data and "at" not in data:
                if rows or header is not None:
                    raise InvalidWorkloadError(
                        source, number, "workload", _cut(line), "a header must be the first line"
                    )
                header = _header(source, number, data)
                continue
            rows.append((number, _record(source, number, data)))
        header = header or {}
        return cls._assemble(
            rows,
            source,
            start or header.get("start"),
            header.get("name"),
            header.get("description"),
            header.get("behaviors"),
        )

    @classmethod
    def from_csv(
        cls, path_or_file: str | Path | IO[str], *, start: datetime | None = None
    ) -> Workload:
        """A workload from CSV with a header row naming ARRIVAL_FIELDS columns (`at` and
        `job_type` required); `args` holds JSON text; an empty cell means unset."""
        source, text = _read(path_or_file)
        reader = csv.DictReader(io.StringIO(text))
        columns = reader.fieldnames or []
        for column in ("at", "job_type"):
            if column not in columns:
                raise InvalidWorkloadError(
                    source, 1, "header", columns, f"must have an {column!r} column"
                )
        rows = []
        for record in reader:
            number = reader.line_num
            if None in record:
                raise InvalidWorkloadError(
                    source, number, "row", record[None], "has more cells than the header"
                )
            data: dict[str, Any] = {k: v for k, v in record.items() if v not in ("", None)}
            if "at" in data:
                data["at"] = _csv_at(data["at"])
            if "args" in data:
                try:
                    data["args"] = json.loads(data["args"])
                except ValueError:
                    raise InvalidWorkloadError(
                        source, number, "args", data["args"], "must be a JSON object"
                    ) from None
            rows.append((number, _record(source, number, data)))
        return cls._assemble(rows, source, start, None, None, None)

    @classmethod
    def load(cls, path: str | Path, *, start: datetime | None = None) -> Workload:
        """A workload from a `.jsonl`/`.ndjson`/`.json` or `.csv` file, by its suffix."""
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            return cls.from_csv(path, start=start)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return cls.from_jsonl(path, start=start)
        raise InvalidWorkloadError(
            str(path), None, "path", str(path), "must end in .jsonl, .ndjson, .json or .csv"
        )

    @classmethod
    def _assemble(
        cls,
        rows: list[tuple[int, dict[str, Any]]],
        source: str,
        start: datetime | None,
        name: str | None,
        description: str | None,
        behaviors: Mapping[str, Behavior] | None,
    ) -> Workload:
        absolute = [r["at"] for _, r in rows if isinstance(r["at"], datetime)]
        if start is not None:
            origin = _absolute(source, None, "start", start)
        else:
            origin = min(absolute) if absolute else FAKE_EPOCH
        arrivals = []
        for number, r in rows:
            at = r["at"]
            if isinstance(at, datetime):
                at = (at - origin).total_seconds()
                if at < 0:
                    raise InvalidWorkloadError(
                        source,
                        number,
                        "at",
                        r["at"].isoformat(),
                        f"is before the workload start {origin.isoformat()}",
                    )
            arrivals.append(
                Arrival(at, r["job_type"], r["args"], r["priority"], r["queue"], r["tenant_id"])
            )
        return cls(arrivals, start=origin, name=name, description=description, behaviors=behaviors)

    # -- generators ------------------------------------------------------------------------

    @classmethod
    def poisson(
        cls,
        rate: float,
        *,
        duration: float | None = None,
        count: int | None = None,
        seed: int = 0,
        offset: float = 0.0,
        job_type: Weights = "job",
        priority: Weights | None = None,
        queue: Weights | None = None,
        tenant_id: Weights | None = None,
        args: Mapping[str, Any] | None = None,
        start: datetime = FAKE_EPOCH,
    ) -> Workload:
        """Arrivals at `rate` per second with exponential gaps, for `duration` seconds or
        until `count` jobs (give one), starting `offset` seconds in.

        `job_type`, `priority`, `queue` and `tenant_id` take one value, a list (equally
        likely) or a dict of weights, e.g. priority={"critical": 1, "bulk": 4}."""
        _positive("rate", rate)
        if (duration is None) == (count is None):
            raise InvalidWorkloadError(
                "poisson", None, "duration", duration, "give duration or count, not both"
            )
        at = _non_negative("offset", offset)
        rng = random.Random(seed)
        draw = _Chooser(job_type, priority, queue, tenant_id, args)
        arrivals: list[Arrival] = []
        end = math.inf if duration is None else offset + _non_negative("duration", duration)
        limit = math.inf if count is None else _count("count", count)
        while len(arrivals) < limit:
            at += rng.expovariate(rate)
            if at >= end:
                break
            arrivals.append(draw(rng, at))
        return cls(arrivals, start=start, name=f"poisson({rate}/s)")

    @classmethod
    def burst(
        cls,
        count: int,
        *,
        at: float = 0.0,
        over: float = 0.0,
        seed: int = 0,
        job_type: Weights = "job",
        priority: Weights | None = None,
        queue: Weights | None = None,
        tenant_id: Weights | None = None,
        args: Mapping[str, Any] | None = None,
        start: datetime = FAKE_EPOCH,
    ) -> Workload:
        """`count` jobs arriving together `at` seconds in, spread evenly at random over
        `over` seconds (0: all at the same instant)."""
        _count("count", count)
        _non_negative("at", at)
        _non_negative("over", over)
        rng = random.Random(seed)
        draw = _Chooser(job_type, priority, queue, tenant_id, args)
        times = sorted(at + rng.random() * over for _ in range(count)) if over else [at] * count
        return cls([draw(rng, t) for t in times], start=start, name=f"burst({count})")

    @classmethod
    def diurnal(
        cls,
        mean_rate: float,
        *,
        duration: float = 86_400.0,
        peak_at: float = 14 * 3600.0,
        amplitude: float = 0.8,
        seed: int = 0,
        job_type: Weights = "job",
        priority: Weights | None = None,
        queue: Weights | None = None,
        tenant_id: Weights | None = None,
        args: Mapping[str, Any] | None = None,
        start: datetime = FAKE_EPOCH,
    ) -> Workload:
        """A day-shaped Poisson process: the rate follows
        `mean_rate * (1 + amplitude * cos(2π (t - peak_at) / 1 day))`, highest `peak_at`
        seconds into each day (14:00 by default) and lowest 12 hours later."""
        _positive("mean_rate", mean_rate)
        _non_negative("duration", duration)
        if (
            isinstance(peak_at, bool)
            or not isinstance(peak_at, int | float)
            or not math.isfinite(peak_at)
        ):
            raise InvalidWorkloadError(
                "diurnal", None, "peak_at", peak_at, "must be a finite number of seconds"
            )
        if not 0 <= amplitude <= 1:
            raise InvalidWorkloadError(
                "diurnal", None, "amplitude", amplitude, "must be between 0 and 1"
            )
        rng = random.Random(seed)
        draw = _Chooser(job_type, priority, queue, tenant_id, args)
        top = mean_rate * (1 + amplitude)
        arrivals = []
        at = 0.0
        while True:  # thinning: candidates at the top rate, kept in proportion
            at += rng.expovariate(top)
            if at >= duration:
                break
            level = mean_rate * (1 + amplitude * math.cos(2 * math.pi * (at - peak_at) / 86_400.0))
            if rng.random() * top < level:
                arrivals.append(draw(rng, at))
        return cls(arrivals, start=start, name=f"diurnal({mean_rate}/s)")

    # -- combining and writing ----------------------------------------------------------------

    def __add__(self, other: Workload) -> Workload:
        """Both workloads' arrivals on one timeline (the left one's start and name);
        `other`'s times are moved so its arrivals keep their absolute time."""
        if not isinstance(other, Workload):
            return NotImplemented
        shift = (other.start - self.start).total_seconds()
        moved = other.arrivals if not shift else [_shifted(a, shift) for a in other.arrivals]
        if any(a.at < 0 for a in moved):
            raise InvalidWorkloadError(
                "workload",
                None,
                "start",
                other.start,
                f"is before the left workload's start {self.start}",
            )
        return Workload(
            [*self.arrivals, *moved],
            start=self.start,
            name=self.name,
            description=self.description,
            behaviors={**other.behaviors, **self.behaviors},
        )

    def named(self, name: str, description: str | None = None) -> Workload:
        """The same workload with a name (and description) for its file header."""
        return Workload(
            self.arrivals,
            start=self.start,
            name=name,
            description=description if description is not None else self.description,
            behaviors=self.behaviors,
        )

    def with_behaviors(self, behaviors: Mapping[str, Behavior]) -> Workload:
        """The same workload declaring `behaviors` (merged over its own)."""
        return Workload(
            self.arrivals,
            start=self.start,
            name=self.name,
            description=self.description,
            behaviors={**self.behaviors, **behaviors},
        )

    def records(self) -> Iterator[dict[str, Any]]:
        """Each arrival as a JSON-ready record (`at` in seconds since start)."""
        return (a.to_record() for a in self.arrivals)

    def header(self) -> dict[str, Any]:
        """The JSON Lines header object for this workload's name, start and behaviors."""
        meta: dict[str, Any] = {"start": self.start.isoformat()}
        if self.name:
            meta["name"] = self.name
        if self.description:
            meta["description"] = self.description
        if self.behaviors:
            meta["behaviors"] = {t: b.to_dict() for t, b in self.behaviors.items()}
        return {"workload": meta}

    def to_jsonl(self, path_or_file: str | Path | IO[str]) -> None:
        """Write the header line and one line per arrival (readable by `from_jsonl`)."""
        lines = [json.dumps(self.header())]
        lines.extend(json.dumps(r, separators=(",", ":")) for r in self.records())
        text = "\n".join(lines) + "\n"
        if isinstance(path_or_file, str | Path):
            Path(path_or_file).write_text(text, encoding="utf-8")
        else:
            path_or_file.write(text)

    def to_frame(self) -> Any:
        """The arrivals as a DataFrame for a quick look: `at` as datetime64[ns, UTC],
        priority an ordered categorical, the other columns objects (None where unset)."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "at": pd.Series([a.at for a in self.arrivals], dtype="float64"),
                "job_type": pd.Series([a.job_type for a in self.arrivals], dtype=object),
                "args": pd.Series([dict(a.args) for a in self.arrivals], dtype=object),
                "priority": pd.Categorical(
                    [None if a.priority is None else a.priority.value for a in self.arrivals],
                    categories=[p.value for p in Priority],
                    ordered=True,
                ),
                "queue": pd.Series([a.queue for a in self.arrivals], dtype=object),
                "tenant_id": pd.Series([a.tenant_id for a in self.arrivals], dtype=object),
            }
        )
        at = pd.Timestamp(self.start) + pd.to_timedelta(frame["at"], unit="s")
        frame["at"] = at.astype("datetime64[ns, UTC]")
        return frame

    @property
    def span(self) -> float:
        """Seconds from the start to the last arrival (0 when empty)."""
        return self.arrivals[-1].at if self.arrivals else 0.0

    def job_types(self) -> list[str]:
        """The job types that arrive, sorted."""
        return sorted({a.job_type for a in self.arrivals})

    def __len__(self) -> int:
        return len(self.arrivals)

    def __iter__(self) -> Iterator[Arrival]:
        return iter(self.arrivals)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"Workload{label}({len(self)} arrivals over {self.span:.0f}s "
            f"from {self.start.isoformat()})"
        )


# -- helpers --------------------------------------------------------------------------------


def _arrival_time(arrival: Arrival) -> float:
    return arrival.at


def _shifted(arrival: Arrival, shift: float) -> Arrival:
    return Arrival(
        arrival.at + shift,
        arrival.job_type,
        arrival.args,
        arrival.priority,
        arrival.queue,
        arrival.tenant_id,
    )


def _read(path_or_file: str | Path | IO[str]) -> tuple[str, str]:
    if isinstance(path_or_file, str | Path):
        path = Path(path_or_file)
        try:
            return str(path), path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidWorkloadError(str(path), None, "path", str(path), "no such file") from None
        except UnicodeDecodeError as exc:
            raise InvalidWorkloadError(
                str(path), None, "encoding", exc.reason, "must be UTF-8"
            ) from None
    return getattr(path_or_file, "name", "<file>"), path_or_file.read()


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _header(source: str, number: int, data: Mapping[str, Any]) -> dict[str, Any]:
    meta = data["workload"]
    if not isinstance(meta, Mapping):
        raise InvalidWorkloadError(source, number, "workload", meta, "must be an object")
    unknown = meta.keys() - _HEADER_KEYS
    if unknown or len(data) != 1:
        bad = sorted(unknown) or sorted(data.keys() - {"workload"})
        raise InvalidWorkloadError(
            source,
            number,
            "workload",
            bad,
            f"unknown keys; a header may hold {sorted(_HEADER_KEYS)}",
        )
    out: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in meta:
            if not isinstance(meta[key], str):
                raise InvalidWorkloadError(
                    source, number, f"workload.{key}", meta[key], "must be a string"
                )
            out[key] = meta[key]
    if "start" in meta:
        out["start"] = _absolute(source, number, "workload.start", meta["start"])
    if "behaviors" in meta:
        try:
            out["behaviors"] = behaviors_from_dict(meta["behaviors"])
        except InvalidBehaviorError as exc:
            raise InvalidWorkloadError(
                source, number, f"workload.behaviors.{exc.field}", exc.value, exc.expected
            ) from None
    return out


def _record(source: str, number: int, data: object) -> dict[str, Any]:
    """A checked arrival record: `at` a float or datetime, the rest validated."""
    if not isinstance(data, Mapping):
        raise InvalidWorkloadError(source, number, "record", data, "must be a JSON object")
    unknown = data.keys() - set(ARRIVAL_FIELDS)
    if unknown:
        raise InvalidWorkloadError(
            source,
            number,
            sorted(unknown)[0],
            data[sorted(unknown)[0]],
            f"is not an arrival field; allowed: {', '.join(ARRIVAL_FIELDS)}",
        )
    for key in ("at", "job_type"):
        if key not in data:
            raise InvalidWorkloadError(source, number, key, None, "is required")
    at = data["at"]
    if isinstance(at, str | datetime):
        at = _absolute(source, number, "at", at)
    elif isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
        raise InvalidWorkloadError(
            source,
            number,
            "at",
            at,
            "must be seconds since the start (a number >= 0) or an ISO 8601 time with a zone",
        )
    job_type = data["job_type"]
    if not isinstance(job_type, str) or not job_type.strip() or len(job_type) > MAX_JOB_TYPE_LENGTH:
        raise InvalidWorkloadError(
            source,
            number,
            "job_type",
            job_type,
            f"must be a non-empty string of at most {MAX_JOB_TYPE_LENGTH} characters",
        )
    try:
        args = json_object("args", data.get("args"))
        priority = None if data.get("priority") is None else Priority.coerce(data["priority"])
        queue = None if data.get("queue") is None else validate_name("queue", data["queue"])
        tenant = (
            None if data.get("tenant_id") is None else validate_name("tenant_id", data["tenant_id"])
        )
    except InvalidJobError as exc:
        raise InvalidWorkloadError(source, number, exc.field, exc.value, _reason(exc)) from None
    return {
        "at": at,
        "job_type": job_type,
        "args": args or _NO_ARGS,
        "priority": priority,
        "queue": queue,
        "tenant_id": tenant,
    }


def _reason(exc: InvalidJobError) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


def _absolute(source: str, number: int | None, field: str, value: object) -> datetime:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return require_aware(field, when)
    except (ValueError, InvalidJobError):
        raise InvalidWorkloadError(
            source,
            number,
            field,
            value,
            "must be an ISO 8601 time with a zone, e.g. 2026-01-01T10:00:00Z",
        ) from None


def _csv_at(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # an ISO time, checked by _record


def _positive(name: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidWorkloadError("generator", None, name, value, "must be a finite number > 0")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidWorkloadError("generator", None, name, value, "must be a finite number >= 0")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidWorkloadError("generator", None, name, value, "must be an int >= 0")
    return value


class _Chooser:
    """Builds generated arrivals, drawing each weighted field from the rng (a field
    with one choice draws nothing, so adding a field does not change the others)."""

    def __init__(
        self,
        job_type: Weights,
        priority: Weights | None,
        queue: Weights | None,
        tenant_id: Weights | None,
        args: Mapping[str, Any] | None,
    ) -> None:
        self.job_type = _choices("job_type", job_type, _job_type)
        self.priority = _choices("priority", priority, Priority.coerce)
        self.queue = _choices("queue", queue, lambda q: validate_name("queue", q))
        self.tenant = _choices("tenant_id", tenant_id, lambda t: validate_name("tenant_id", t))
        self.args = _checked("args", args, lambda a: json_object("args", a)) or _NO_ARGS

    def __call__(self, rng: random.Random, at: float) -> Arrival:
        return Arrival(
            at,
            self.job_type(rng),
            self.args,
            self.priority(rng),
            self.queue(rng),
            self.tenant(rng),
        )


def _job_type(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_JOB_TYPE_LENGTH:
        raise InvalidWorkloadError(
            "generator",
            None,
            "job_type",
            value,
            f"must be a non-empty string of at most {MAX_JOB_TYPE_LENGTH} characters",
        )
    return value


def _choices(
    name: str, spec: Weights | None, check: Callable[[Any], Any]
) -> Callable[[random.Random], Any]:
    """A function drawing one value per call from `spec` (None, a value, a list or weights)."""
    if spec is None:
        return lambda rng: None
    if isinstance(spec, str):
        value = _checked(name, spec, check)
        return lambda rng: value
    if isinstance(spec, Mapping):
        values = [_checked(name, k, check) for k in spec]
        weights = list(spec.values())
        if (
            any(isinstance(w, bool) or not isinstance(w, int | float) for w in weights)
            or any(not math.isfinite(w) or w < 0 for w in weights)
            or sum(weights) <= 0
        ):
            raise InvalidWorkloadError(
                "generator", None, name, dict(spec), "weights must be >= 0 with a positive sum"
            )
    else:
        values = [_checked(name, v, check) for v in spec]
        weights = [1.0] * len(values)
    if not values:
        raise InvalidWorkloadError("generator", None, name, spec, "must name at least one value")
    if len(values) == 1:
        only = values[0]
        return lambda rng: only
    totals = list(_running(weights))

    last = len(values) - 1  # random() * total may round up to total: never past the end

    def draw(rng: random.Random) -> Any:
        return values[bisect.bisect_right(totals, rng.random() * totals[-1], 0, last)]

    return draw


def _checked(name: str, value: object, check: Callable[[Any], Any]) -> Any:
    try:
        return check(value)
    except InvalidJobError as exc:
        raise InvalidWorkloadError("generator", None, name, value, _reason(exc)) from None


def _running(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total
