"""Locust scenario ``epc``: LTE UEs attaching and detaching through simulated eNBs.

Each Locust user is one eNB (its own S1 connection over TCP, so eNBs spread over the MME's
replicas as real ones would) with the pair of subscribers the allocation gives its slot,
driven through network_functions/sim/enb.py (S1AP + NAS on the shared codecs; synchronous
sockets, gevent's once Locust has monkey-patched them). A user:

1. connects its eNB (S1 Setup, reported as ``s1-setup``) and attaches both UEs
   (EPS-AKA, security mode, default bearer: ``attach``);
2. every ``reregister_interval`` seconds per UE (random phase), detaches it (``detach``)
   and attaches it again: the EPC's counterpart of the IMS re-registration load;
3. detaches its UEs and closes the S1 connection when it stops.

Request type ``EPC``; a failure's reason is the simulator's error (reject cause, timeout).
"""

from __future__ import annotations

import random
import time
from typing import Any

from loadtests import common
from loadtests.common import ALLOCATION, CONFIG, MODEL, POOL, SHAPE, Stats, worker_index
from network_functions.sim.enb import Enb, SimError, SimUe

if SHAPE is not None:
    from loadtests.common import PlanShape  # noqa: F401  (Locust finds the shape here)

from locust import User, task

#: Retry a failed S1 Setup or attach after this many seconds.
RETRY = 5.0


class EpcUser(User):
    """One eNB with two UEs (see the module docstring)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.slot: int | None = None
        self.enb: Enb | None = None
        self.ues: list[SimUe] = []
        self.due: list[float] = []

    def wait_time(self) -> float:
        return max(0.0, min(self.due, default=RETRY) - time.monotonic())

    def on_start(self) -> None:
        self.slot = POOL.acquire()
        worker = worker_index(self.environment)
        a, b = ALLOCATION.pair(worker, self.slot)
        if common.LOG is not None:
            common.LOG.subscribers(worker, self.slot, [a.imsi, b.imsi])
        self.ues = [SimUe(imsi=s.imsi, k=s.k, opc=s.opc) for s in (a, b)]
        Stats.users += 1
        target = CONFIG["target"]
        self.enb = Enb(
            (target["host"], int(target["port"])),
            enb_id=ALLOCATION.index(worker, self.slot, 0) + 1,
            mcc=CONFIG["epc"]["mcc"],
            mnc=CONFIG["epc"]["mnc"],
            tac=int(CONFIG["epc"]["tac"]),
            timeout=float(CONFIG.get("timeout", 5.0)),
        )
        self._procedure("s1-setup", self.enb.connect)
        now = time.monotonic()
        self.due = []
        for ue in self.ues:
            self._attach(ue)
            self.due.append(now + random.uniform(0.0, MODEL.reregister_interval))

    def on_stop(self) -> None:
        try:
            for ue in self.ues:
                if ue.attached and self.enb is not None:
                    self._detach(ue)
        finally:
            for ue in self.ues:
                if ue.attached:
                    ue.attached = False
                    Stats.registered -= 1
            if self.enb is not None:
                self.enb.close()
                self.enb = None
            if self.slot is not None:
                POOL.release(self.slot)
                self.slot = None
            Stats.users -= 1

    @task
    def step(self) -> None:
        now = time.monotonic()
        for i, ue in enumerate(self.ues):
            if self.due[i] > now:
                continue
            if ue.attached:
                self._detach(ue)
            self._attach(ue)
            self.due[i] = time.monotonic() + (MODEL.reregister_interval if ue.attached else RETRY)

    # -- procedures --------------------------------------------------------------------------
    def _procedure(self, name: str, run: Any) -> bool:
        start, t0 = time.time(), time.monotonic()
        exc: Exception | None = None
        try:
            run()
        except (SimError, OSError) as e:
            exc = e if str(e) else SimError(type(e).__name__)
        common.report(self.environment, name, start, t0, exc, request_type="EPC")
        return exc is None

    def _attach(self, ue: SimUe) -> None:
        assert self.enb is not None
        enb = self.enb
        if enb.sock is None and not self._procedure("s1-setup", enb.connect):
            return
        if self._procedure("attach", lambda: enb.attach(ue)) and ue.attached:
            Stats.registered += 1

    def _detach(self, ue: SimUe) -> None:
        assert self.enb is not None
        enb = self.enb
        self._procedure("detach", lambda: enb.detach(ue))
        # Detached or not, the UE starts over with a fresh attach (a lost detach leaves a
        # context the MME replaces on the next attach of the IMSI).
        if ue.attached:
            ue.attached = False
        Stats.registered -= 1
