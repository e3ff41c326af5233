"""The HSS's S6a server (TS 29.272 §5.2, TS 23.401 §5.3.2.1): MME-facing procedures.

* AIR → AIA (§5.2.3.1): E-UTRAN authentication vectors from the subscriber's K/OPc and
  the SQN shared with Cx (one USIM), with K_ASME bound to the visited PLMN (TS 33.401
  §6.1.2, A.2); re-synchronisation from RAND||AUTS (TS 33.102 §6.3.5).
* ULR → ULA (§5.2.1.1): registers the MME (Origin-Host/Realm) as serving the UE and returns
  the subscription (MSISDN, UE-AMBR, the APN-Configuration-Profile from the deployment's
  APNs with each APN's QCI/ARP/APN-AMBR). A ULR from another MME makes the HSS send
  Cancel-Location to the old one (§5.2.1.2).
* PUR → PUA (§5.2.1.3): marks the UE purged when the purging MME is the registered one.

All state (subscriber, SQN, serving MME) is in the shared store: any HSS replica serves
any MME. The CLR is sent on the old MME's connection to this replica; if the old MME is
connected to another replica only, the CLR is skipped and counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from network_functions.protocols import aka, kdf
from network_functions.protocols.diameter import (
    CMD_AIR,
    CMD_PUR,
    CMD_ULR,
    ExperimentalResultCode,
    Message,
    ResultCode,
    new_session_id,
    s6a,
)
from network_functions.protocols.diameter.gx import Arp, RatType
from network_functions.runtime.diameter import DiameterUnavailable

from .subscribers import Subscriber

if TYPE_CHECKING:
    from network_functions.runtime.epc import EpcConfig

    from .app import Hss

# TS 33.401 §6.1.1: the "separation bit" (bit 0 of AMF) is 1 in vectors for E-UTRAN.
AMF_SEPARATION_BIT = 0x80
# RAT types an EPS subscription may use here (TS 29.272 §5.2.1.1.3: others get 5421).
ALLOWED_RATS = frozenset({RatType.EUTRAN, RatType.EUTRAN_NB_IOT})


def subscription_profile(epc: EpcConfig) -> tuple[tuple[s6a.ApnProfile, ...], int, int]:
    """The APN-Configuration-Profile of every subscriber from the deployment's APNs
    (context identifiers 1..n; the first APN is the default) and the UE-AMBR (bit/s) as the
    sum of the APN-AMBRs."""
    apns = tuple(
        s6a.ApnProfile(
            context_identifier=i,
            service_selection=apn.name,
            qci=apn.qci,
            arp=Arp(apn.arp),
            ambr_ul=apn.ambr_ul_kbps * 1000,
            ambr_dl=apn.ambr_dl_kbps * 1000,
        )
        for i, apn in enumerate(epc.apns, start=1)
    )
    ue_ul = min(sum(a.ambr_ul for a in apns), 0xFFFFFFFF)
    ue_dl = min(sum(a.ambr_dl for a in apns), 0xFFFFFFFF)
    return apns, ue_ul, ue_dl


class S6aService:
    """AIR/ULR/PUR handlers of one HSS replica."""

    def __init__(self, hss: Hss, epc: EpcConfig) -> None:
        self.hss = hss
        self.epc = epc
        self.home_plmn = s6a.plmn_id(epc.mcc, epc.mnc)
        self.apns, self.ue_ambr_ul, self.ue_ambr_dl = subscription_profile(epc)
        self._tasks: set[asyncio.Task[None]] = set()
        m = hss.metrics
        self.m_vectors = m.counter("hss_eps_vectors_total", "E-UTRAN authentication vectors")
        self.m_updates = m.counter("hss_update_locations_total", "ULR answered", ("result",))
        self.m_cancel = m.counter(
            "hss_cancel_locations_total", "CLR sent to an old MME", ("outcome",)
        )

    @property
    def handlers(self) -> dict[int, Callable[[Message], Awaitable[Message]]]:
        return {CMD_AIR: self.on_air, CMD_ULR: self.on_ulr, CMD_PUR: self.on_pur}

    def _answer(self, req: Message, *, code: int | None = None, exp: int | None = None) -> Message:
        server = self.hss.server
        if code is None and exp is None:
            code = ResultCode.DIAMETER_SUCCESS
        return s6a.s6a_answer(
            req,
            origin_host=server.origin_host,
            origin_realm=server.origin_realm,
            result_code=code,
            experimental_result_code=exp,
        )

    async def _subscriber(self, req: Message) -> tuple[Subscriber | None, Message | None]:
        imsi = s6a.read_imsi(req)
        sub = await self.hss.subs.get(imsi)
        if sub is None:
            return None, self._answer(req, exp=ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN)
        return sub, None

    # -- AIR ---------------------------------------------------------------------------------
    async def on_air(self, req: Message) -> Message:
        sub, error = await self._subscriber(req)
        if sub is None:
            assert error is not None
            return error
        plmn = s6a.read_visited_plmn(req)
        asked = s6a.read_auth_request(req)
        if asked.number_of_vectors == 0:
            # §5.2.3.1.3: only UTRAN/GERAN vectors asked for; this HSS makes E-UTRAN ones.
            return self._answer(
                req, exp=ExperimentalResultCode.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE
            )
        k, opc = bytes.fromhex(sub.k), bytes.fromhex(sub.opc)
        if asked.resync_info is not None:
            rand, auts = asked.resync_info[:16], asked.resync_info[16:]
            try:
                sqn_ms = aka.resync(k, opc, rand, auts)
            except aka.AkaError:
                # TS 33.102 §6.3.5: AUTS fails MAC-S; no vectors can be trusted by the USIM.
                return self._answer(
                    req, exp=ExperimentalResultCode.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE
                )
            await self.hss.subs.resync_sqn(sub.imsi, sqn_ms)
        amf = bytearray.fromhex(sub.amf)
        amf[0] |= AMF_SEPARATION_BIT
        vectors = []
        for _ in range(asked.number_of_vectors):
            sqn = await self.hss.subs.next_sqn(sub.imsi)
            vec = aka.generate_vector(k, opc, sqn, amf=bytes(amf))
            kasme = kdf.kasme(vec.ck, vec.ik, plmn, vec.autn[:6])
            vectors.append(s6a.EutranVector(vec.rand, vec.xres, vec.autn, kasme))
        self.m_vectors.inc(len(vectors))
        return s6a.add_vectors(self._answer(req), vectors)

    # -- ULR ---------------------------------------------------------------------------------
    async def on_ulr(self, req: Message) -> Message:
        sub, error = await self._subscriber(req)
        if sub is None:
            assert error is not None
            self.m_updates.labels("user-unknown").inc()
            return error
        plmn = s6a.read_visited_plmn(req)
        if plmn != self.home_plmn:
            # §5.2.1.1.3: no roaming agreements here.
            self.m_updates.labels("roaming-not-allowed").inc()
            return self._answer(req, exp=ExperimentalResultCode.DIAMETER_ERROR_ROAMING_NOT_ALLOWED)
        rat = int(req.get("RAT-Type", -1))
        if rat not in ALLOWED_RATS:
            self.m_updates.labels("rat-not-allowed").inc()
            return self._answer(req, exp=ExperimentalResultCode.DIAMETER_ERROR_RAT_NOT_ALLOWED)
        if not self.apns:
            self.m_updates.labels("no-eps-subscription").inc()
            return self._answer(
                req, exp=ExperimentalResultCode.DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION
            )
        flags = int(req.get("ULR-Flags", 0))
        host = str(req.get("Origin-Host", ""))
        realm = str(req.get("Origin-Realm", ""))
        old = await self.hss.subs.set_serving_mme(sub.imsi, host, realm)
        if old is not None and old[0] != host:
            cancel = (
                s6a.CancellationType.INITIAL_ATTACH_PROCEDURE
                if flags & s6a.ULR_INITIAL_ATTACH_INDICATOR
                else s6a.CancellationType.MME_UPDATE_PROCEDURE
            )
            self._spawn(self._cancel(sub.imsi, old[0], old[1], cancel))
        ans = self._answer(req)
        ans.add("ULA-Flags", s6a.ULA_SEPARATION_INDICATION)
        if not flags & s6a.ULR_SKIP_SUBSCRIBER_DATA:
            data = s6a.SubscriptionData(
                msisdn=sub.msisdn,
                ambr_ul=self.ue_ambr_ul,
                ambr_dl=self.ue_ambr_dl,
                apns=self.apns,
                default_context=self.apns[0].context_identifier,
            )
            ans.add("Subscription-Data", data.avps())
        self.m_updates.labels("success").inc()
        return ans

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel(self, imsi: str, host: str, realm: str, cancellation_type: int) -> None:
        """Cancel-Location to the MME that served the UE before (§5.2.1.2)."""
        server = self.hss.server
        clr = s6a.make_clr(
            session_id=new_session_id(server.origin_host),
            origin_host=server.origin_host,
            origin_realm=server.origin_realm,
            destination_host=host,
            destination_realm=realm or self.epc.realm,
            imsi=imsi,
            cancellation_type=cancellation_type,
        )
        try:
            cla = await server.request(host, clr)
        except DiameterUnavailable as exc:
            self.m_cancel.labels("unreachable").inc()
            self.hss.log.info(
                "CLR not delivered", extra={"imsi": imsi, "mme": host, "error": str(exc)}
            )
            return
        code = cla.get("Result-Code")
        self.m_cancel.labels("answered" if code == ResultCode.DIAMETER_SUCCESS else "failed").inc()

    # -- PUR ---------------------------------------------------------------------------------
    async def on_pur(self, req: Message) -> Message:
        sub, error = await self._subscriber(req)
        if sub is None:
            assert error is not None
            return error
        host = str(req.get("Origin-Host", ""))
        purged = await self.hss.subs.purge(sub.imsi, host)
        ans = self._answer(req)
        # §5.2.1.3.2: Freeze-M-TMSI when the purging MME is the registered one.
        ans.add("PUA-Flags", s6a.PUA_FREEZE_M_TMSI if purged else 0)
        return ans

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
