"""Locust scenario ``ims``: VoLTE subscribers registering and calling through the P-CSCF.

Each Locust user is a pair of subscribers (A, B) with one UDP socket each (so SO_REUSEPORT
spreads the pairs over the P-CSCF's replicas, as real UEs would be), speaking SIP through
the shared codec (network_functions/sim/ue.py; its sockets are gevent's once Locust has
monkey-patched the standard library). A user:

1. registers A and B (MD5 digest or IMS-AKA, per the traffic model's ``auth``);
2. re-registers each of them every ``reregister_interval`` seconds (random phase);
3. places calls A→B and B→A as a Poisson process of ``bhca`` attempts per subscriber
   and busy hour: INVITE/100/180/200/ACK, holds for an exponential ``holding_time``,
   then BYE/200 (one call at a time per pair: an attempt due during a call waits for it);
4. de-registers both when it stops (ramp-down, end of test).

Procedures reported (request type ``SIP``): ``register``, ``re-register``, ``call-setup``
(INVITE sent → 200 received and ACKed, callee answered), ``hangup`` (BYE → 200),
``de-register``; a failure's reason is the SIP answer or the timeout.

The EPC scenario (attach/detach through network_functions/sim/enb.py) goes in
loadtests/epc.py with the same structure: a user class using common.report().
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
from locust import User, task

from loadtests import common
from loadtests.common import ALLOCATION, CONFIG, MODEL, POOL, SHAPE, Stats, report, worker_index
from network_functions.protocols.sip import new_tag
from network_functions.sim.ue import UE, Call, UEError

if SHAPE is not None:
    from loadtests.common import PlanShape  # noqa: F401  (Locust finds the shape here)

#: Retry a failed initial registration after this many seconds.
REGISTER_RETRY = 5.0


def make_ue(imsi: str, msisdn: str, password: str, k: str, opc: str, *, aka: bool) -> UE:
    domain = CONFIG["domain"]
    target = CONFIG["target"]
    return UE(
        impu=f"sip:{msisdn}@{domain}",
        impi=f"{imsi}@{domain}",
        domain=domain,
        pcscf=(target["host"], int(target["port"])),
        password=None if aka else password,
        k=k if aka else None,
        opc=opc if aka else None,
        transport=target.get("transport", "udp"),
        timeout=float(CONFIG.get("timeout", 5.0)),
    )


class Subscriber:
    """One UE of the pair and its schedule."""

    def __init__(self, ue: UE) -> None:
        self.ue = ue
        self.registered = False
        self.next_register = 0.0
        self.expires_at = 0.0  # when the last successful registration lapses


class ImsUser(User):
    """A pair of VoLTE subscribers (see the module docstring)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.slot: int | None = None
        self.subs: list[Subscriber] = []
        self.next_call = float("inf")
        self.call: Call | None = None
        self.call_caller: Subscriber | None = None
        self.call_callee: Subscriber | None = None
        self.hangup_at = float("inf")

    # Locust asks how long to wait before the next task: until the next scheduled action.
    # While waiting the user can be stopped at once (and on_stop de-registers).
    def wait_time(self) -> float:
        return max(0.0, self._next_due() - time.monotonic())

    def _next_due(self) -> float:
        due = [s.next_register for s in self.subs]
        due.append(self.hangup_at if self.call is not None else self.next_call)
        return min(due)

    # -- life cycle --------------------------------------------------------------------------
    def on_start(self) -> None:
        self.slot = POOL.acquire()
        worker = worker_index(self.environment)
        a, b = ALLOCATION.pair(worker, self.slot)
        if common.LOG is not None:
            common.LOG.subscribers(worker, self.slot, [a.imsi, b.imsi])
        aka_a = MODEL.auth == "aka"
        aka_b = MODEL.auth in ("aka", "mixed")
        self.subs = [
            Subscriber(make_ue(a.imsi, a.msisdn, a.password, a.k, a.opc, aka=aka_a)),
            Subscriber(make_ue(b.imsi, b.msisdn, b.password, b.k, b.opc, aka=aka_b)),
        ]
        Stats.users += 1
        now = time.monotonic()
        for sub in self.subs:
            self._register(sub, "register")
            if sub.registered:
                # A random phase spreads the population's refreshes evenly in time.
                sub.next_register = now + random.uniform(0.0, MODEL.reregister_interval)
        self._schedule_call(now)

    def on_stop(self) -> None:
        try:
            if self.call is not None:
                self._hangup()
            for sub in self.subs:
                if sub.registered:
                    self._register(sub, "de-register", expires=0)
        finally:
            # Also when Locust kills the greenlet in the middle (its stop timeout).
            for sub in self.subs:
                if sub.registered:
                    sub.registered = False
                    Stats.registered -= 1
                sub.ue.close()
            self.subs = []
            if self.slot is not None:
                POOL.release(self.slot)
                self.slot = None
            Stats.users -= 1

    @task
    def step(self) -> None:
        """Do whatever is due now: hang up, re-register, place a call."""
        now = time.monotonic()
        if self.call is not None and self.hangup_at <= now:
            self._hangup()
        for sub in self.subs:
            if sub.next_register <= now:
                self._register(sub, "re-register" if sub.registered else "register")
        if self.call is None and self.next_call <= time.monotonic():
            self._place_call()

    # -- procedures --------------------------------------------------------------------------
    def _register(self, sub: Subscriber, name: str, *, expires: int | None = None) -> None:
        start, t0 = time.time(), time.monotonic()
        exc: Exception | None = None
        try:
            sub.ue.register(MODEL.register_expires if expires is None else expires)
        except (UEError, OSError) as e:
            exc = e
        finally:
            sub.ue.discard_pending()
        report(self.environment, name, start, t0, exc)
        was = sub.registered
        now = time.monotonic()
        if expires == 0:
            sub.registered = False
        elif exc is None:
            sub.registered = True
            sub.expires_at = now + MODEL.register_expires
        else:
            # A failed refresh leaves the old binding until it expires (RFC 3261 §10.2.1).
            sub.registered = sub.registered and now < sub.expires_at
        if sub.registered != was:
            Stats.registered += 1 if sub.registered else -1
        interval = MODEL.reregister_interval if sub.registered else REGISTER_RETRY
        sub.next_register = time.monotonic() + interval

    def _schedule_call(self, after: float) -> None:
        mean = MODEL.mean_call_interval
        if mean is None:
            self.next_call = float("inf")
            return
        # Both subscribers of the pair originate: the pair's attempt rate is twice one's.
        self.next_call = after + random.expovariate(2.0 / mean)

    def _place_call(self) -> None:
        planned = self.next_call
        self._schedule_call(planned)
        if not all(s.registered for s in self.subs):
            return  # no attempt without both ends registered (counted by "register")
        caller, callee = random.sample(self.subs, 2)
        start, t0 = time.time(), time.monotonic()
        exc: Exception | None = None
        call: Call | None = None
        answering = None
        try:
            call = caller.ue.invite(callee.ue.impu)
            answering = gevent.spawn(_answer, callee.ue, call.call_id)
            final = caller.ue.await_answer(call)
            if final.status != 200:
                raise UEError(f"INVITE answered {final.status} {final.reason}")
            answering.get(timeout=caller.ue.timeout)  # the callee saw the ACK
        except (UEError, OSError, gevent.Timeout) as e:
            exc = e if not isinstance(e, gevent.Timeout) else UEError("callee saw no ACK")
        finally:
            if answering is not None:
                answering.kill(block=False)
        if exc is not None and answering is not None and answering.exception is not None:
            # The callee's side failed first (e.g. no INVITE reached it): say so.
            exc = UEError(f"{exc} (callee: {answering.exception})")
        report(self.environment, "call-setup", start, t0, exc)
        if exc is not None or call is None:
            caller.ue.discard_pending()
            callee.ue.discard_pending()
            return
        self.call, self.call_caller, self.call_callee = call, caller, callee
        hold = random.expovariate(1.0 / MODEL.holding_time) if MODEL.holding_time > 0 else 0.0
        self.hangup_at = time.monotonic() + hold
        if self.next_call < self.hangup_at:
            self.next_call = self.hangup_at

    def _hangup(self) -> None:
        call, caller, callee = self.call, self.call_caller, self.call_callee
        self.call, self.hangup_at = None, float("inf")
        assert call is not None and caller is not None and callee is not None
        start, t0 = time.time(), time.monotonic()
        exc: Exception | None = None
        answering = gevent.spawn(_answer_bye, callee.ue, call.call_id)
        try:
            response = caller.ue.bye(call)
            if response.status != 200:
                raise UEError(f"BYE answered {response.status} {response.reason}")
        except (UEError, OSError) as e:
            exc = e
        finally:
            answering.kill(block=False)
            caller.ue.discard_pending()
            callee.ue.discard_pending()
        report(self.environment, "hangup", start, t0, exc)


def _answer(callee: UE, call_id: str) -> None:
    """The callee's side of call setup: 180 then 200 with SDP, then wait for the ACK."""
    invite = callee.expect_request("INVITE", call_id=call_id)
    tag = new_tag()
    callee.respond(invite, 180, tag=tag)
    callee.respond(invite, 200, tag=tag)
    callee.expect_request("ACK", call_id=call_id)


def _answer_bye(callee: UE, call_id: str) -> None:
    bye = callee.expect_request("BYE", call_id=call_id)
    callee.respond(bye, 200)
