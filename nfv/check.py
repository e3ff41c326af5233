"""``nfv check``: prove a running core works, the way a UE would.

Two subscribers register through the P-CSCF (one with MD5 digest, one with IMS-AKA when the
values give both a password and K/OPc), place a call (INVITE/100/180/200/ACK/BYE/200),
and de-register. Each step is timed; any failure names the step and the SIP answer.

When the EPC runs (an NF exposes ``s1ap``: the MME), a simulated eNB also does S1 Setup and
one subscriber attaches (EPS AKA, security mode, default bearer through SGW/PGW) and
detaches (:func:`run_epc_check`); the PLMN and TAC are the ones the MME's config serves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network_functions.sim.enb import Enb, SimError, SimUe
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


@dataclass(frozen=True)
class EpcTarget:
    """Where an eNB reaches the MME and the network it must announce in S1 Setup."""

    host: str
    port: int
    mcc: str
    mnc: str
    tac: int


def epc_target(plan: dict[str, Any]) -> EpcTarget | None:
    """The MME of a local plan (the NF exposing ``s1ap``), with the PLMN and first TAC from
    its rendered config file; None when no such NF runs. Raises CheckFailed when the config
    cannot be read."""
    import yaml

    for nf in plan.get("nfs", {}).values():
        if "s1ap" not in nf.get("exposed", []) or "s1ap" not in nf.get("interfaces", {}):
            continue
        try:
            config = yaml.safe_load(Path(nf["config"]).read_text())
            epc = config["epc"]
            return EpcTarget(
                nf["address"], int(nf["interfaces"]["s1ap"]), epc["mcc"], epc["mnc"], epc["tacs"][0]
            )
        except (OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError) as exc:
            raise CheckFailed(
                f"cannot read the EPC identity from {nf.get('config')}: {exc}"
            ) from exc
    return None


def run_epc_check(
    subscribers: list[dict[str, str]], target: EpcTarget, *, timeout: float = 10.0
) -> CheckReport:
    """S1 Setup, attach and detach of the first subscriber with K/OPc; raises CheckFailed."""
    sub = next((s for s in subscribers if s.get("k") and s.get("opc")), None)
    if sub is None:
        raise CheckFailed("the EPC check needs a provisioned subscriber with K and OPc")
    report = CheckReport()
    ue = SimUe(imsi=sub["imsi"], k=sub["k"], opc=sub["opc"])
    step = "S1 Setup"
    enb = Enb(
        (target.host, target.port), mcc=target.mcc, mnc=target.mnc, tac=target.tac, timeout=timeout
    )
    try:
        t = time.monotonic()
        enb.connect()
        report.steps.append(
            (f"S1 Setup with the MME at {target.host}:{target.port}", time.monotonic() - t)
        )
        step = "attach"
        result = enb.attach(ue)
        report.steps.append((f"attach {ue.imsi} (IP {result.ip})", result.seconds))
        step = "detach"
        done = enb.detach(ue)
        report.steps.append((f"detach {ue.imsi}", done.seconds))
    except (SimError, OSError) as exc:
        raise CheckFailed(f"EPC check failed at '{step}': {exc}") from exc
    finally:
        enb.close()
    return report
