"""``nfv check``: prove a running core works, the way a UE would.

Two subscribers register through the P-CSCF (one with MD5 digest, one with IMS-AKA when the
values give both a password and K/OPc), place a call (INVITE/100/180/200/ACK/BYE/200),
and de-register. Each step is timed; any failure names the step and the SIP answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from network_functions.sim.ue import UE, UEError, place_call

from .errors import NfvError


class CheckFailed(NfvError):
    pass


@dataclass
class CheckReport:
    steps: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "steps": [{"step": s, "ms": round(t * 1000, 2)} for s, t in self.steps]}


def make_ue(
    sub: dict[str, str], *, domain: str, pcscf: tuple[str, int], aka: bool, transport: str = "udp"
) -> UE:
    msisdn, imsi = sub["msisdn"], sub["imsi"]
    return UE(
        impu=f"sip:{msisdn}@{domain}",
        impi=sub.get("impi") or f"{imsi}@{domain}",
        domain=domain,
        pcscf=pcscf,
        password=None if aka else sub.get("password"),
        k=sub.get("k") if aka else None,
        opc=sub.get("opc") if aka else None,
        transport=transport,
    )


def run_check(
    subscribers: list[dict[str, str]],
    *,
    domain: str,
    pcscf: tuple[str, int],
    transport: str = "udp",
) -> CheckReport:
    """Register two subscribers, call, hang up, de-register; raises CheckFailed."""
    if len(subscribers) < 2:
        raise CheckFailed("nfv check needs at least two provisioned subscribers in the values")
    report = CheckReport()
    a_sub, b_sub = subscribers[0], subscribers[1]
    alice = make_ue(
        a_sub, domain=domain, pcscf=pcscf, aka=not a_sub.get("password"), transport=transport
    )
    bob = make_ue(b_sub, domain=domain, pcscf=pcscf, aka=True, transport=transport)
    step = "register A"
    try:
        with alice, bob:
            t = time.monotonic()
            alice.register()
            report.steps.append((f"register {alice.impu} (digest)", time.monotonic() - t))
            step = "register B"
            t = time.monotonic()
            bob.register()
            report.steps.append((f"register {bob.impu} (IMS-AKA)", time.monotonic() - t))
            step = "call"
            timings = place_call(alice, bob)
            report.steps.append(("call setup INVITE→ACK", timings["setup"]))
            report.steps.append(("call teardown BYE→200", timings["teardown"]))
            step = "de-register"
            t = time.monotonic()
            alice.deregister()
            bob.deregister()
            report.steps.append(("de-register both", time.monotonic() - t))
    except (UEError, OSError) as exc:
        raise CheckFailed(f"check failed at '{step}': {exc}") from exc
    return report
