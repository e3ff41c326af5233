"""The PCRF: Gx server for the PGW-C (TS 29.212) and Rx server for the P-CSCF (TS 29.214).

Gx (PCEF-initiated IP-CAN session procedures, TS 29.213 §4.1, §4.4):

* CCR-INITIAL → CCA with the APN's default bearer QoS (QCI, ARP) and APN-AMBR from the
  deployment's ``epc.apns`` (an unknown APN gets DIAMETER_ERROR_INITIAL_PARAMETERS 5140);
  the session and the UE-address binding are stored;
* CCR-UPDATE → CCA re-stating the authorised QoS (unknown session: 5002);
* CCR-TERMINATION → the session is removed.

Rx (AF session procedures, TS 29.213 §4.3, §4.4.1): an AAR for a UE address bound to a Gx
session (else IP-CAN_SESSION_NOT_AVAILABLE 5065) turns each media component into a PCC
rule (audio: QCI 1, video: QCI 2, GBR = MBR = the requested bandwidth, the flows from the
Media-Sub-Components) that a Gx Re-Auth-Request installs on the PGW owning the session; STR
removes the rules the same way. The RAR goes out on the PGW's own Gx connection to this
replica; if the PGW is connected only to another replica, the AAR gets the transient
REQUESTED_SERVICE_TEMPORARILY_NOT_AUTHORIZED 4261.

All sessions are in the shared store (sessions.py): any replica serves any session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols.diameter import (
    APP_GX,
    APP_RX,
    CMD_AAR,
    CMD_CCR,
    CMD_STR,
    VENDOR_3GPP,
    DiameterParseError,
    ExperimentalResultCode,
    Message,
    ResultCode,
    answer_result,
    gx,
    make_avp,
    rx,
)
from network_functions.runtime.diameter import DiameterServer, DiameterUnavailable
from network_functions.runtime.epc import ApnConfig, EpcConfig
from network_functions.runtime.service import BaseConfig, NetworkFunction

from .sessions import GxSession, RxSession, SessionRepository

Handler = Callable[[Message], Awaitable[Message]]
# A PGW answers a Re-Auth within this time or the AF request fails (below the P-CSCF's
# own Diameter timeout).
RAR_TIMEOUT = 2.0


class PcrfDiameterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=3868, ge=0, le=65535)
    allow: list[str] = []
    transport: Literal["tcp", "sctp"] = "tcp"


class VoicePolicy(BaseModel):
    """QoS of the dedicated bearers made for Rx media (TS 23.203 Table 6.1.7)."""

    model_config = ConfigDict(extra="forbid")
    audio_qci: int = Field(default=1, ge=1, le=255)
    video_qci: int = Field(default=2, ge=1, le=255)
    # ARP of a voice bearer: high priority, may pre-empt, not pre-emptable (GSMA IR.92 §4.3).
    arp: int = Field(default=2, ge=1, le=15)
    # Bit rate when the AF gives none (AMR-WB 23.85 kbit/s + RTP/UDP/IP headers, rounded).
    default_bandwidth_kbps: int = Field(default=64, ge=1)
    precedence: int = Field(default=100, ge=0)


class PcrfConfig(BaseConfig):
    epc: EpcConfig
    diameter: PcrfDiameterConfig = PcrfDiameterConfig()
    voice: VoicePolicy = VoicePolicy()


def flow_direction(description: str) -> int:
    """TS 29.214 §5.3.8: "permit out" rules describe downlink packets, "permit in" uplink."""
    words = description.split()
    if len(words) >= 2 and words[1] == "in":
        return gx.FlowDirection.UPLINK
    if len(words) >= 2 and words[1] == "out":
        return gx.FlowDirection.DOWNLINK
    return gx.FlowDirection.BIDIRECTIONAL


class Pcrf(NetworkFunction[PcrfConfig]):
    config_model = PcrfConfig

    def __init__(self, config: PcrfConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.repo: SessionRepository | None = None
        self.apns: dict[str, ApnConfig] = {a.name: a for a in config.epc.apns}
        realm = config.epc.realm
        self.server = DiameterServer(
            host=config.listen.host,
            port=config.diameter.port,
            origin_host=f"pcrf.{realm}",
            origin_realm=realm,
            advertise=self.address,
            auth_applications=[APP_GX, APP_RX],
            vendor_applications=[(VENDOR_3GPP, APP_GX), (VENDOR_3GPP, APP_RX)],
            handler=self.handle,
            metrics=self.metrics,
            # PGWs are in the EPC realm, P-CSCFs in the IMS one.
            allow=config.diameter.allow or [realm, config.realm],
            transport=config.diameter.transport,
        )
        self._handlers: dict[tuple[int, int], Handler] = {
            (APP_GX, CMD_CCR): self.on_ccr,
            (APP_RX, CMD_AAR): self.on_aar,
            (APP_RX, CMD_STR): self.on_str,
        }
        m = self.metrics
        self.m_ccr = m.counter("pcrf_ccr_total", "Gx CCR answered", ("type", "result"))
        self.m_rx = m.counter("pcrf_rx_total", "Rx requests answered", ("command", "result"))
        self.m_rar = m.counter("pcrf_gx_rar_total", "Gx RAR sent to a PGW", ("outcome",))

    @property
    def sessions(self) -> SessionRepository:
        assert self.repo is not None
        return self.repo

    async def start(self) -> None:
        self.repo = SessionRepository(await self.open_store())
        await self.server.start()

    async def drain(self) -> None:
        await self.server.drain()

    async def close(self) -> None:
        await self.server.close()

    @property
    def host(self) -> str:
        return self.server.origin_host

    @property
    def realm(self) -> str:
        return self.server.origin_realm

    async def handle(self, req: Message) -> Message:
        handler = self._handlers.get((req.application_id, req.command_code))
        if handler is None:
            code = (
                ResultCode.DIAMETER_COMMAND_UNSUPPORTED
                if req.application_id in (APP_GX, APP_RX)
                else ResultCode.DIAMETER_APPLICATION_UNSUPPORTED
            )
            return req.answer(code, origin_host=self.host, origin_realm=self.realm)
        return await handler(req)

    # -- Gx ----------------------------------------------------------------------------------
    def _cca(
        self,
        req: Message,
        kind: str,
        *,
        code: int | None = None,
        exp: int | None = None,
        session: GxSession | None = None,
    ) -> Message:
        if code is None and exp is None:
            code = ResultCode.DIAMETER_SUCCESS
        self.m_ccr.labels(kind, str(code if code is not None else exp)).inc()
        if session is None:
            return gx.cca(
                req,
                result_code=code,
                experimental_result_code=exp,
                origin_host=self.host,
                origin_realm=self.realm,
            )
        return gx.cca(
            req,
            result_code=code,
            experimental_result_code=exp,
            origin_host=self.host,
            origin_realm=self.realm,
            default_bearer_qos=gx.BearerQos(session.qci, gx.Arp(session.arp)),
            qos_information=gx.QosInformation(
                apn_ambr_ul=session.ambr_ul, apn_ambr_dl=session.ambr_dl
            ),
            bearer_control_mode=gx.BearerControlMode.UE_NW,
        )

    async def on_ccr(self, req: Message) -> Message:
        info = gx.read_ccr(req)
        if info.request_type == gx.CcRequestType.INITIAL_REQUEST:
            return await self._ccr_initial(req, info)
        kind = {2: "update", 3: "termination", 4: "event"}[info.request_type]
        session = await self.sessions.gx(info.session_id)
        if session is None:
            return self._cca(req, kind, code=ResultCode.DIAMETER_UNKNOWN_SESSION_ID)
        if info.request_type == gx.CcRequestType.TERMINATION_REQUEST:
            await self.sessions.delete_gx(session)
            return self._cca(req, kind)
        session.request_number = info.request_number
        await self.sessions.put_gx(session)
        return self._cca(req, kind, session=session)

    async def _ccr_initial(self, req: Message, info: gx.CcrInfo) -> Message:
        apn = self.apns.get(info.apn or "")
        if apn is None:
            # TS 29.212 §5.5.3: the PCRF has no policy for this PDN.
            return self._cca(
                req, "initial", exp=ExperimentalResultCode.DIAMETER_ERROR_INITIAL_PARAMETERS
            )
        if info.ue_ipv4 is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "CCR-I without Framed-IP-Address: no UE address to bind Rx sessions to",
                failed_avp=make_avp("Framed-IP-Address", bytes(4)),
            )
        session = GxSession(
            session_id=info.session_id,
            pgw_host=info.origin_host,
            pgw_realm=info.origin_realm,
            imsi=info.imsi,
            msisdn=info.msisdn,
            ue_ipv4=info.ue_ipv4,
            apn=apn.name,
            qci=apn.qci,
            arp=apn.arp,
            ambr_ul=apn.ambr_ul_kbps * 1000,
            ambr_dl=apn.ambr_dl_kbps * 1000,
            request_number=info.request_number,
        )
        await self.sessions.put_gx(session)
        return self._cca(req, "initial", session=session)

    async def _reauth(
        self,
        session: GxSession,
        *,
        install: list[gx.ChargingRule] | None = None,
        remove: list[str] | None = None,
    ) -> int | None:
        """Gx RAR to the PGW owning the session; the RAA's result, None if undelivered."""
        rar = gx.make_rar(
            session_id=session.session_id,
            destination_host=session.pgw_host,
            destination_realm=session.pgw_realm or self.server.origin_realm,
            install=install or (),
            remove=remove or (),
            origin_host=self.host,
            origin_realm=self.realm,
        )
        try:
            raa = await self.server.request(session.pgw_host, rar, timeout=RAR_TIMEOUT)
        except DiameterUnavailable as exc:
            self.m_rar.labels("undelivered").inc()
            self.log.warning(
                "Gx RAR not delivered",
                extra={"pgw": session.pgw_host, "session": session.session_id, "error": str(exc)},
            )
            return None
        try:
            code = answer_result(raa).code
        except DiameterParseError:
            code = ResultCode.DIAMETER_UNABLE_TO_COMPLY
        self.m_rar.labels("success" if code == ResultCode.DIAMETER_SUCCESS else "rejected").inc()
        return code

    # -- Rx ----------------------------------------------------------------------------------
    def _rx_answer(
        self, req: Message, command: str, *, code: int | None = None, exp: int | None = None
    ) -> Message:
        if code is None and exp is None:
            code = ResultCode.DIAMETER_SUCCESS
        self.m_rx.labels(command, str(code if code is not None else exp)).inc()
        return rx.aaa(
            req,
            result_code=code,
            experimental_result_code=exp,
            origin_host=self.host,
            origin_realm=self.realm,
        )

    def _rules(self, info: rx.AarInfo) -> list[gx.ChargingRule]:
        voice = self.config.voice
        default_bps = voice.default_bandwidth_kbps * 1000
        rules = []
        for media in info.media:
            qci = voice.video_qci if media.media_type == rx.MediaType.VIDEO else voice.audio_qci
            ul = media.max_ul if media.max_ul is not None else default_bps
            dl = media.max_dl if media.max_dl is not None else default_bps
            flows = tuple(
                gx.Flow(d, flow_direction(d)) for f in media.flows for d in f.descriptions
            )
            rules.append(
                gx.ChargingRule(
                    name=f"af:{info.session_id}:{media.number}",
                    qos=gx.QosInformation(
                        qci=qci,
                        arp=gx.Arp(
                            voice.arp,
                            gx.PreemptionCapability.ENABLED,
                            gx.PreemptionVulnerability.DISABLED,
                        ),
                        mbr_ul=ul,
                        mbr_dl=dl,
                        gbr_ul=ul,
                        gbr_dl=dl,
                    ),
                    flows=flows,
                    precedence=voice.precedence,
                    flow_status=media.flow_status,
                    af_charging_identifier=info.af_charging_identifier,
                )
            )
        return rules

    async def on_aar(self, req: Message) -> Message:
        info = rx.read_aar(req)
        if info.ue_ipv4 is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "AAR without Framed-IP-Address (TS 29.214 §5.6.1)",
                failed_avp=make_avp("Framed-IP-Address", bytes(4)),
            )
        session = await self.sessions.gx_for_ue(info.ue_ipv4)
        if session is None:
            return self._rx_answer(
                req, "AAR", exp=ExperimentalResultCode.IP_CAN_SESSION_NOT_AVAILABLE
            )
        rules = self._rules(info)
        old = await self.sessions.rx(info.session_id)
        if rules:
            code = await self._reauth(session, install=rules)
            if code is None:
                return self._rx_answer(
                    req,
                    "AAR",
                    exp=ExperimentalResultCode.REQUESTED_SERVICE_TEMPORARILY_NOT_AUTHORIZED,
                )
            if code != ResultCode.DIAMETER_SUCCESS:
                return self._rx_answer(
                    req, "AAR", exp=ExperimentalResultCode.REQUESTED_SERVICE_NOT_AUTHORIZED
                )
        names = [r.name for r in rules]
        if old is not None:
            names = sorted(set(old.rules) | set(names))
        await self.sessions.put_rx(
            RxSession(info.session_id, session.session_id, info.origin_host, names)
        )
        session.rules = sorted(set(session.rules) | set(names))
        await self.sessions.put_gx(session)
        return self._rx_answer(req, "AAR")

    async def on_str(self, req: Message) -> Message:
        sid = str(req.get("Session-Id", ""))
        af = await self.sessions.rx(sid)
        if af is None:
            self.m_rx.labels("STR", str(ResultCode.DIAMETER_UNKNOWN_SESSION_ID)).inc()
            return rx.sta(
                req,
                result_code=ResultCode.DIAMETER_UNKNOWN_SESSION_ID,
                origin_host=self.host,
                origin_realm=self.realm,
            )
        session = await self.sessions.gx(af.gx_session_id)
        if session is not None and af.rules:
            # TS 29.213 §4.4.1: the bearer goes when the AF session ends; a PGW that cannot
            # be reached keeps nothing the PCRF still tracks.
            await self._reauth(session, remove=af.rules)
            session.rules = [r for r in session.rules if r not in af.rules]
            await self.sessions.put_gx(session)
        await self.sessions.delete_rx(sid)
        self.m_rx.labels("STR", str(ResultCode.DIAMETER_SUCCESS)).inc()
        return rx.sta(req, origin_host=self.host, origin_realm=self.realm)
