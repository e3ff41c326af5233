"""The PGW-C as PCEF on Gx (TS 29.212 §4.5.1, TS 29.213 §4.1/§4.4): CCR-INITIAL when a PDN
connection is created, CCR-TERMINATION when it is deleted.

The CCA-I's Default-EPS-Bearer-QoS (QCI, ARP) and QoS-Information APN-AMBR replace the
APN's configured defaults; a CCA-I that is not DIAMETER_SUCCESS rejects the Create Session
(cause 94 "Request rejected"), and an unreachable PCRF rejects it with 73 "No resources
available" rather than applying a policy nobody authorised. A failed CCR-T is logged: the
PDN connection is gone either way.

Re-Auth-Requests from the PCRF (TS 29.212 §4.5.2, e.g. a QCI-1 rule for a VoLTE call,
pushed over this replica's own connection) update the PCC rules recorded in the session's
state and are answered DIAMETER_SUCCESS. Binding a rule to a dedicated bearer would need
Create/Delete Bearer Request towards the SGW-C and MME (TS 29.274 §7.2.3, §7.2.9.2), which
this PGW-C does not implement yet; a RAR asking to release the whole IP-CAN session
(Session-Release-Cause) is refused with DIAMETER_UNABLE_TO_COMPLY for the same reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.diameter import (
    APP_GX,
    CMD_RAR,
    Message,
    ResultCode,
    new_session_id,
)
from network_functions.protocols.diameter import gx as dgx
from network_functions.protocols.gtpv2c import GtpError
from network_functions.runtime.diameter import DiameterClient, DiameterUnavailable

if TYPE_CHECKING:
    from .app import Pgw

__all__ = ["GxPolicy"]

DIAMETER_SUCCESS = 2001
# A Create Session waits at most this long for the PCRF (below the SGW's T3).
CCR_TIMEOUT = 2.0
# Attempts at the read-modify-write of a session's rules when replicas race on it.
CAS_ATTEMPTS = 5


class GxPolicy:
    """Gx client of one PGW-C replica."""

    def __init__(self, pgw: Pgw) -> None:
        cfg = pgw.config
        self.realm = cfg.epc.realm
        self.origin_host = f"{pgw.replica}.{self.realm}"
        self.log = pgw.log
        self.pgw = pgw
        self.client = DiameterClient(
            peer=cfg.gx.peer,
            port=cfg.gx.port,
            names=pgw.names,
            origin_host=self.origin_host,
            origin_realm=self.realm,
            advertise=pgw.address,
            auth_applications=[APP_GX],
            vendor_applications=[],
            metrics=pgw.metrics,
            watchdog=cfg.gx.watchdog_interval,
            transport=cfg.gx.transport,
            request_handler=self.handle_request,
        )

    def start(self) -> None:
        self.client.start()

    async def readiness(self) -> str | None:
        return await self.client.readiness()

    async def close(self) -> None:
        await self.client.close()

    async def _request(self, ccr: Message) -> Message:
        try:
            return await self.client.request(ccr, timeout=CCR_TIMEOUT)
        except DiameterUnavailable as exc:
            raise GtpError(g.CAUSE_NO_RESOURCES_AVAILABLE, f"PCRF: {exc}") from None

    async def initial(
        self,
        session: dict[str, Any],
        requested: g.BearerQos | None,
        qos: g.BearerQos,
        ambr: g.Ambr,
    ) -> tuple[g.BearerQos, g.Ambr, str]:
        """CCR-I; returns the QoS and APN-AMBR to use and the Gx Session-Id."""
        sid = new_session_id(self.origin_host)
        asked = requested or qos
        ccr = dgx.make_ccr(
            session_id=sid,
            origin_host=self.origin_host,
            origin_realm=self.realm,
            destination_realm=self.realm,
            request_type=dgx.CcRequestType.INITIAL_REQUEST,
            request_number=0,
            imsi=session["imsi"],
            msisdn=session.get("msisdn"),
            ue_ipv4=session["ue_ip"],
            apn=session["apn"],
            default_bearer_qos=dgx.BearerQos(
                asked.qci,
                dgx.Arp(max(1, asked.pl), asked.pci, asked.pvi),
            ),
            qos_information=dgx.QosInformation(
                apn_ambr_ul=ambr.uplink * 1000, apn_ambr_dl=ambr.downlink * 1000
            ),
            event_triggers=[dgx.EventTrigger.UE_IP_ADDRESS_ALLOCATE],
        )
        cca = await self._request(ccr)
        code = cca.get("Result-Code")
        if code is None:
            exp = cca.find("Experimental-Result")
            code = exp.value.get("Experimental-Result-Code") if exp is not None else None
        if code != DIAMETER_SUCCESS:
            raise GtpError(g.CAUSE_REQUEST_REJECTED, f"PCRF answered CCR-I with {code}")
        try:
            dq = cca.find("Default-EPS-Bearer-QoS")
            if dq is not None:
                d = dgx.BearerQos.from_avp(dq)
                qos = g.BearerQos(
                    qci=d.qci,
                    pl=d.arp.priority_level,
                    pci=int(d.arp.pre_emption_capability),
                    pvi=int(d.arp.pre_emption_vulnerability),
                )
            qi = cca.find("QoS-Information")
            if qi is not None:
                info = dgx.QosInformation.from_avp(qi)
                ambr = g.Ambr(
                    ambr.uplink if info.apn_ambr_ul is None else info.apn_ambr_ul // 1000,
                    ambr.downlink if info.apn_ambr_dl is None else info.apn_ambr_dl // 1000,
                )
        except Exception as exc:  # DiameterParseError and friends: the PCRF sent junk
            raise GtpError(g.CAUSE_REQUEST_REJECTED, f"PCRF CCA-I unusable: {exc}") from None
        return qos, ambr, sid

    async def terminate(self, session: dict[str, Any]) -> None:
        """CCR-T for the session's Gx Session-Id."""
        ccr = dgx.make_ccr(
            session_id=session["gx"],
            origin_host=self.origin_host,
            origin_realm=self.realm,
            destination_realm=self.realm,
            request_type=dgx.CcRequestType.TERMINATION_REQUEST,
            request_number=1,
            event_triggers=[dgx.EventTrigger.UE_IP_ADDRESS_RELEASE],
        )
        try:
            await self._request(ccr)
        except GtpError as exc:
            self.log.warning("CCR-T failed", extra={"error": str(exc)})

    # -- requests from the PCRF -------------------------------------------------------------
    def _raa(self, req: Message, code: int) -> Message:
        return dgx.raa(req, origin_host=self.origin_host, origin_realm=self.realm, result_code=code)

    async def handle_request(self, req: Message) -> Message:
        """Answer a RAR (TS 29.212 §5.6.4/§5.6.5); other commands are unsupported."""
        if req.command_code != CMD_RAR:
            return req.answer(
                ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                origin_host=self.origin_host,
                origin_realm=self.realm,
            )
        store = self.pgw.db
        sid = str(req.get("Session-Id", ""))
        ref = await store.get(f"pgw:gx:{sid}")
        if ref is None:
            return self._raa(req, ResultCode.DIAMETER_UNKNOWN_SESSION_ID)
        if req.find("Session-Release-Cause") is not None:
            return self._raa(req, ResultCode.DIAMETER_UNABLE_TO_COMPLY)
        installed = [r.name for r in dgx.installed_rules(req)]
        removed = set(dgx.removed_rule_names(req))
        key = f"pgw:s:{ref.decode()}"
        for _ in range(CAS_ATTEMPTS):
            raw = await store.get(key)
            if raw is None:
                return self._raa(req, ResultCode.DIAMETER_UNKNOWN_SESSION_ID)
            session = json.loads(raw)
            rules = [r for r in session.get("rules", []) if r not in removed]
            rules += [r for r in installed if r not in rules]
            session["rules"] = rules
            if await store.compare_and_set(key, raw, json.dumps(session).encode()):
                self.log.info(
                    "PCC rules updated",
                    extra={
                        "imsi": session["imsi"],
                        "installed": installed,
                        "removed": sorted(removed),
                    },
                )
                return self._raa(req, DIAMETER_SUCCESS)
        return self._raa(req, ResultCode.DIAMETER_UNABLE_TO_COMPLY)
