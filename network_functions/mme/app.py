"""The MME process: S1-MME server, S6a client to the HSS, S11 client to the SGW-C.

* S1-MME (``s1.py``): eNB associations, S1 Setup, UE associations; each UE association runs
  the attach/detach procedures of ``procedures.py``.
* S6a (TS 29.272): a Diameter client pool to the ``hss`` service for AIR, ULR and PUR; CLR
  from the HSS drops the UE's stored context. Every replica is the same MME towards the HSS:
  the Origin-Host is the MME's FQDN from its GUMMEI (TS 23.003 §19.4.2.4,
  ``mmec<MMEC>.mmegi<MMEGI>.mme.<epc realm>``), so a UE moving between replicas does not
  look like a change of MME.
* S11 (TS 29.274): ``s11.sockets`` GTP-C endpoints (``runtime.gtp``) on ephemeral ports of
  the replica's address, used in turn: each is one UDP flow, and flows are what spreads the
  load over SGW-C replicas sharing an address or a Service. Create Session goes to the
  ``sgw`` service (re-resolved every few seconds, off the event loop), Modify Bearer and
  Delete Session to the SGW's S11 F-TEID address from the Create Session Response. The MME's S11
  TEIDs come from blocks of a store counter, so they are unique across replicas.
* UE contexts (``contexts.py``) live in the state store.
"""

from __future__ import annotations

import itertools
import time

from network_functions.protocols import gtpv2c, kdf
from network_functions.protocols.diameter import (
    APP_S6A,
    CMD_CLR,
    VENDOR_3GPP,
    DiameterParseError,
    Message,
    ResultCode,
    new_session_id,
    s6a,
)
from network_functions.runtime.diameter import DiameterClient, DiameterUnavailable
from network_functions.runtime.gtp import GtpEndpoint, GtpTimeout, TeidAllocator
from network_functions.runtime.names import NameResolutionError
from network_functions.runtime.service import NetworkFunction
from network_functions.runtime.store import StoreError

from .config import MmeConfig
from .contexts import ContextError, UeContext, UeContextRepository
from .procedures import PeerFailure, UeHandler
from .s1 import S1Server

__all__ = ["Mme", "MmeConfig"]

# How long a resolved SGW service address is used before it is looked up again.
SGW_RESOLVE_INTERVAL = 5.0
ATTACH_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def mme_fqdn(config: MmeConfig) -> str:
    """TS 23.003 §19.4.2.4: mmec<MMEC>.mmegi<MMEGI>.mme.<realm> (hex, zero padded)."""
    epc = config.epc
    return f"mmec{epc.mme_code:02x}.mmegi{epc.mme_group_id:04x}.mme.{epc.realm}"


class Mme(NetworkFunction[MmeConfig]):
    config_model = MmeConfig

    def __init__(self, config: MmeConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        epc = config.epc
        self.origin_host = mme_fqdn(config)
        self.realm = epc.realm
        self.plmn = kdf.plmn_bytes(epc.mcc, epc.mnc)
        self.serving_network = gtpv2c.Plmn(epc.mcc, epc.mnc)
        self._contexts: UeContextRepository | None = None
        self.handlers: dict[str, UeHandler] = {}
        self._teids: TeidAllocator | None = None
        # The config model guarantees a peer; the one named hss if several.
        peer = next((p for p in config.diameter.peers if p.name == "hss"), config.diameter.peers[0])
        self.hss = DiameterClient(
            peer=peer.name,
            port=peer.port,
            names=self.names,
            origin_host=self.origin_host,
            origin_realm=self.realm,
            advertise=self.address,
            auth_applications=[],
            vendor_applications=[(VENDOR_3GPP, APP_S6A)],
            metrics=self.metrics,
            connections=peer.connections,
            watchdog=config.diameter.watchdog_interval,
            transport=config.diameter.transport,
            request_handler=self.on_hss_request,
        )
        self.add_readiness_check("diameter:hss", self.hss.readiness)
        # Several S11 sockets, used in turn: each is one UDP flow, and flows are what
        # spreads load over SGW replicas (SO_REUSEPORT locally, conntrack on Kubernetes).
        self.gtps = [
            GtpEndpoint(
                config.listen.host, 0, t3=config.s11.t3, n3=config.s11.n3, metrics=self.metrics
            )
            for _ in range(config.s11.sockets)
        ]
        self.gtp = self.gtps[0]
        self._gtp_turn = itertools.count()
        self._sgw_address: tuple[str, float] | None = None  # (address, resolved at)
        self.s1 = S1Server(self, config, self.metrics)
        self.m_procedures = self.metrics.counter(
            "mme_procedures_total", "UE procedures by outcome", ("procedure", "result")
        )
        self.m_attach = self.metrics.histogram(
            "mme_attach_seconds",
            "Initial UE Message to Modify Bearer Response, successful attaches",
            buckets=ATTACH_BUCKETS,
        )

    @property
    def contexts(self) -> UeContextRepository:
        assert self._contexts is not None
        return self._contexts

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        store = await self.open_store()
        self._contexts = UeContextRepository(store)
        self._teids = TeidAllocator(store, "mme:s11-teid-block")
        try:
            recovery = (await store.incr(f"mme:recovery:{self.replica}")) & 0xFF
        except StoreError as exc:
            self.log.warning("restart counter not kept", extra={"error": str(exc)})
            recovery = 0
        self.hss.start()
        for gtp in self.gtps:
            gtp.recovery = recovery
            await gtp.start()
        await self.s1.start(self.config.listen.host)

    async def drain(self) -> None:
        await self.s1.stop_accepting()
        await self.s1.wait_idle()

    async def close(self) -> None:
        await self.s1.close()
        for gtp in self.gtps:
            await gtp.close()
        await self.hss.close()

    def record(self, procedure: str, result: str, seconds: float | None = None) -> None:
        self.m_procedures.labels(procedure, result).inc()
        if seconds is not None and procedure == "attach" and result == "success":
            self.m_attach.observe(seconds)

    # -- S6a ------------------------------------------------------------------------------------
    async def _s6a(self, request: Message) -> Message:
        try:
            return await self.hss.request(request)
        except DiameterUnavailable as exc:
            raise PeerFailure(f"HSS: {exc}") from exc

    async def air(self, imsi: str, resync: bytes | None) -> Message:
        return await self._s6a(
            s6a.make_air(
                session_id=new_session_id(self.origin_host),
                origin_host=self.origin_host,
                origin_realm=self.realm,
                destination_realm=self.realm,
                imsi=imsi,
                visited_plmn_id=self.plmn,
                resync_info=resync,
            )
        )

    async def ulr(self, imsi: str) -> Message:
        return await self._s6a(
            s6a.make_ulr(
                session_id=new_session_id(self.origin_host),
                origin_host=self.origin_host,
                origin_realm=self.realm,
                destination_realm=self.realm,
                imsi=imsi,
                visited_plmn_id=self.plmn,
            )
        )

    async def pur(self, imsi: str) -> Message:
        return await self._s6a(
            s6a.make_pur(
                session_id=new_session_id(self.origin_host),
                origin_host=self.origin_host,
                origin_realm=self.realm,
                destination_realm=self.realm,
                imsi=imsi,
            )
        )

    async def on_hss_request(self, req: Message) -> Message:
        """Cancel-Location (TS 29.272 §5.2.1.2): the UE moved to another MME; forget it."""
        code: int = ResultCode.DIAMETER_SUCCESS
        if req.command_code != CMD_CLR:
            code = ResultCode.DIAMETER_COMMAND_UNSUPPORTED
        else:
            try:
                imsi = s6a.read_imsi(req)
                ctx = await self.contexts.get(imsi)
                if ctx is not None:
                    await self.contexts.delete(ctx)
                self.record("cancel-location", "success")
            except DiameterParseError as exc:
                code = exc.result_code
            except ContextError as exc:
                self.log.warning("CLR: store failed", extra={"error": str(exc)})
                code = ResultCode.DIAMETER_UNABLE_TO_COMPLY
        return s6a.s6a_answer(
            req, origin_host=self.origin_host, origin_realm=self.realm, result_code=code
        )

    # -- S11 -------------------------------------------------------------------------------------
    async def _s11(self, peer: tuple[str, int], msg: gtpv2c.Message) -> gtpv2c.Message:
        gtp = self.gtps[next(self._gtp_turn) % len(self.gtps)]
        try:
            return await gtp.request(peer, msg)
        except GtpTimeout as exc:
            raise PeerFailure(f"SGW: {exc}") from exc
        except gtpv2c.GtpError as exc:
            raise PeerFailure(f"SGW answered with an invalid message: {exc}") from exc

    async def _sgw(self) -> str:
        """The SGW service's address, re-resolved every SGW_RESOLVE_INTERVAL seconds
        (without blocking the loop on DNS)."""
        now = time.monotonic()
        if self._sgw_address is None or now - self._sgw_address[1] > SGW_RESOLVE_INTERVAL:
            address = await self.names.resolve_async(self.config.s11.sgw)
            self._sgw_address = (address, now)
        return self._sgw_address[0]

    def _uli(self, ctx: UeContext, eci: int | None = None) -> gtpv2c.Uli:
        sn = self.serving_network
        return gtpv2c.Uli(
            tai=gtpv2c.Tai(sn, ctx.tai_tac),
            ecgi=gtpv2c.Ecgi(sn, eci) if eci is not None else None,
        )

    async def create_session(self, ctx: UeContext, ambr: tuple[int, int]) -> gtpv2c.Message:
        assert self._teids is not None
        try:
            sgw = (await self._sgw(), self.config.s11.port)
            ctx.bearer.mme_s11_teid = await self._teids.allocate()
        except NameResolutionError as exc:
            raise PeerFailure(f"SGW: {exc}") from exc
        except StoreError as exc:
            raise PeerFailure(f"no S11 TEID: {exc}") from exc
        b = ctx.bearer
        request = gtpv2c.create_session_request(
            sequence=0,
            teid=0,
            imsi=ctx.imsi,
            msisdn=ctx.msisdn or None,
            uli=self._uli(ctx),
            serving_network=self.serving_network,
            sender_fteid=gtpv2c.Fteid(gtpv2c.IF_S11_MME, b.mme_s11_teid, self.address),
            apn=b.apn,
            ebi=b.ebi,
            qos=gtpv2c.BearerQos(qci=b.qci, pl=b.arp),
            paa=gtpv2c.Paa(gtpv2c.PDN_IPV4, "0.0.0.0"),
            apn_ambr=gtpv2c.Ambr(ambr[0], ambr[1]),
            recovery=self.gtp.recovery,
        )
        return await self._s11(sgw, request)

    def _sgw_peer(self, ctx: UeContext) -> tuple[str, int]:
        return (ctx.bearer.sgw_s11_ip, self.config.s11.port)

    async def modify_bearer(self, ctx: UeContext) -> gtpv2c.Message:
        b = ctx.bearer
        request = gtpv2c.modify_bearer_request(
            sequence=0,
            teid=b.sgw_s11_teid,
            ebi=b.ebi,
            enb_fteid=gtpv2c.Fteid(gtpv2c.IF_S1U_ENB, b.enb_s1u_teid, b.enb_s1u_ip),
        )
        return await self._s11(self._sgw_peer(ctx), request)

    async def delete_session(self, ctx: UeContext) -> gtpv2c.Message:
        b = ctx.bearer
        request = gtpv2c.delete_session_request(sequence=0, teid=b.sgw_s11_teid, ebi=b.ebi)
        return await self._s11(self._sgw_peer(ctx), request)
