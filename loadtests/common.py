"""What every Locust scenario of nfv shares: its configuration, the per-second event log,
the worker's subscriber slots and the load shape.

`nfv loadtest` / `nfv experiment` start Locust with ``NFV_LOADTEST_CONFIG`` naming a JSON
file (written by nfv/loadtest/runner.py) that holds the target's endpoint, the IMS domain,
the subscriber allocation, the traffic model, the shape and the directory for event logs.

Every process that runs users (the only process, or each worker) appends one line per
finished procedure to ``<events_dir>/events-<pid>.csv``::

    R,<start epoch s>,<duration ms>,<procedure>,<1 ok|0 failed>,<failure reason>
    U,<epoch s>,<users running>,<subscribers registered>      (once a second)
    S,<epoch s>,<worker index>,<user slot>,<IMSI A> <IMSI B>   (a user started)

so the experiment runner can compute exact per-second rates and percentiles over all
workers (Locust's own stats history smooths over a 10 s window). Procedures are also
reported through Locust's ``request`` event, which gives the usual stats CSV.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

import gevent
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from nfv.loadtest.model import Allocation, SlotPool, TrafficModel
from nfv.loadtest.shapes import AnyShape, shape_from_dict

CONFIG_ENV = "NFV_LOADTEST_CONFIG"
# How often the event log is flushed and the user count written (seconds).
TICK = 1.0


def load_config() -> dict[str, Any]:
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise SystemExit(f"{CONFIG_ENV} is not set: run this scenario with `nfv loadtest`")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


CONFIG = load_config()
MODEL = TrafficModel.model_validate(CONFIG["model"])
ALLOCATION = Allocation.from_dict(CONFIG["allocation"])
POOL = SlotPool(ALLOCATION.users_per_worker)
SHAPE: AnyShape | None = shape_from_dict(CONFIG["shape"]) if CONFIG.get("shape") else None


class Stats:
    """This process's counters (greenlets share them; gevent switches only on I/O)."""

    users = 0
    registered = 0


class EventLog:
    """Buffered per-process event lines; flushed once a second and at the end."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"events-{os.getpid()}.csv"
        self.fh: TextIO | None = open(self.path, "a", buffering=1 << 16)  # noqa: SIM115

    def procedure(self, start: float, ms: float, name: str, ok: bool, reason: str) -> None:
        if self.fh is not None:
            clean = reason.replace(",", ";").replace("\n", " ")[:200]
            self.fh.write(f"R,{start:.3f},{ms:.2f},{name},{int(ok)},{clean}\n")

    def subscribers(self, worker: int, slot: int, imsis: list[str]) -> None:
        if self.fh is not None:
            self.fh.write(f"S,{time.time():.3f},{worker},{slot},{' '.join(imsis)}\n")

    def tick(self) -> None:
        if self.fh is not None:
            self.fh.write(f"U,{time.time():.3f},{Stats.users},{Stats.registered}\n")
            self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.tick()
            self.fh.close()
            self.fh = None


LOG: EventLog | None = None


def worker_index(environment: Environment) -> int:
    """0 for a standalone run; the master-assigned index on a worker."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return max(int(runner.worker_index), 0)
    return 0


def report(
    environment: Environment,
    name: str,
    start: float,
    t0: float,
    exc: Exception | None,
    *,
    request_type: str = "SIP",
) -> None:
    """Fire Locust's request event and log the procedure (*t0*: monotonic start)."""
    ms = (time.monotonic() - t0) * 1000.0
    environment.events.request.fire(  # type: ignore[no-untyped-call]
        request_type=request_type,
        name=name,
        response_time=ms,
        response_length=0,
        exception=exc,
        context={},
    )
    if LOG is not None:
        LOG.procedure(start, ms, name, exc is None, "" if exc is None else str(exc))


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Environment, **_: Any) -> None:
    global LOG
    if isinstance(environment.runner, MasterRunner):
        return
    LOG = EventLog(Path(CONFIG["events_dir"]))

    def ticker() -> None:
        while LOG is not None and LOG.fh is not None:
            LOG.tick()
            gevent.sleep(TICK)

    gevent.spawn(ticker)


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _on_quit(environment: Environment, **_: Any) -> None:
    if LOG is not None:
        LOG.close()


if SHAPE is not None:

    class PlanShape(LoadTestShape):
        """The configured shape (nfv/loadtest/shapes.py), driven by Locust's clock."""

        def tick(self) -> tuple[int, float] | None:
            assert SHAPE is not None
            return SHAPE.tick(self.get_run_time())  # type: ignore[no-untyped-call]
