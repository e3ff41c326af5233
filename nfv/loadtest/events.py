"""Reading the Locust processes' event logs (loadtests/common.py) into per-second figures.

Every line is a finished procedure ``R,start,ms,name,ok,reason``, a user tick
``U,time,users,registered`` or a user's start ``S,time,worker,slot,IMSIs``; files come
from the single Locust process or from each worker. A procedure counts as *offered* in
the second it started and, if it succeeded, as *achieved* in the second it finished, so a
backlog shows as achieved < offered.
Percentiles are nearest-rank (the smallest value with at least p % of samples at or
below it), computed over the procedures that finished in that second.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Procedure:
    start: float
    ms: float
    name: str
    ok: bool
    reason: str

    @property
    def end(self) -> float:
        return self.start + self.ms / 1000.0


@dataclass
class EventData:
    procedures: list[Procedure] = field(default_factory=list)
    # per file: [(time, users, registered)]
    ticks: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    # users started: (time, worker index, slot, "IMSI-A IMSI-B")
    users: list[tuple[float, int, int, str]] = field(default_factory=list)
    bad_lines: int = 0


def read_events(directory: Path) -> EventData:
    """Every ``events-*.csv`` under *directory*; unparseable lines are counted, not fatal
    (a process killed mid-write leaves a partial last line)."""
    data = EventData()
    for path in sorted(directory.glob("events-*.csv")):
        ticks: list[tuple[float, int, int]] = []
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(",", 5)
            try:
                if parts[0] == "R" and len(parts) == 6:
                    data.procedures.append(
                        Procedure(
                            float(parts[1]), float(parts[2]), parts[3], parts[4] == "1", parts[5]
                        )
                    )
                elif parts[0] == "S" and len(parts) == 5:
                    data.users.append((float(parts[1]), int(parts[2]), int(parts[3]), parts[4]))
                elif parts[0] == "U" and len(parts) == 4:
                    ticks.append((float(parts[1]), int(parts[2]), int(parts[3])))
                else:
                    data.bad_lines += 1
            except ValueError:
                data.bad_lines += 1
        data.ticks[path.name] = ticks
    data.procedures.sort(key=lambda p: p.start)
    return data


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of *values* (need not be sorted); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def users_at(data: EventData, t: float) -> tuple[int, int]:
    """(users, registered) summed over processes at time *t* (each file's latest tick
    at or before *t*; a file whose first tick is later contributes nothing)."""
    users = registered = 0
    for ticks in data.ticks.values():
        last = None
        for tick in ticks:
            if tick[0] > t:
                break
            last = tick
        if last is not None:
            users += last[1]
            registered += last[2]
    return users, registered


@dataclass
class Second:
    """The figures of one second ``[t, t+1)`` (t relative to the run's start)."""

    t: int
    offered: int = 0
    achieved: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    by_name: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed_by_name: Counter[str] = field(default_factory=Counter)
    offered_by_name: Counter[str] = field(default_factory=Counter)


def per_second(procedures: Iterable[Procedure], t0: float, seconds: int) -> list[Second]:
    out = [Second(t) for t in range(seconds)]
    for p in procedures:
        s = math.floor(p.start - t0)
        if 0 <= s < seconds:
            out[s].offered += 1
            out[s].offered_by_name[p.name] += 1
        e = math.floor(p.end - t0)
        if 0 <= e < seconds:
            if p.ok:
                out[e].achieved += 1
                out[e].latencies.append(p.ms)
                out[e].by_name[p.name].append(p.ms)
            else:
                out[e].failed += 1
                out[e].failed_by_name[p.name] += 1
    return out


def summarize_procedures(procedures: Sequence[Procedure]) -> dict[str, dict[str, object]]:
    """Per procedure name: count, failures, latency percentiles (ms) of the successes and
    the failure reasons with their counts."""
    names = sorted({p.name for p in procedures})
    out: dict[str, dict[str, object]] = {}
    for name in names:
        mine = [p for p in procedures if p.name == name]
        ok = [p.ms for p in mine if p.ok]
        reasons = Counter(p.reason for p in mine if not p.ok)
        out[name] = {
            "count": len(mine),
            "failures": len(mine) - len(ok),
            "p50_ms": _round(percentile(ok, 50)),
            "p95_ms": _round(percentile(ok, 95)),
            "p99_ms": _round(percentile(ok, 99)),
            "max_ms": _round(max(ok) if ok else None),
            "failure_reasons": dict(reasons.most_common()),
        }
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
