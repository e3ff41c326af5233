"""The SGW-C: GTPv2-C on S11 (from the MME) and S5 (to the PGW-C), TS 23.401 §5.3.2.1.

Procedures (TS 29.274 §7.2):

* Create Session Request from the MME (S11, TEID 0): the SGW allocates its S11 and S5
  control TEIDs and its S1-U and S5-U user-plane TEIDs, sends Create Session Request to
  the PGW-C on S5 (Sender F-TEID = S5/S8 SGW GTP-C, S5/S8-U SGW F-TEID in the bearer
  context), stores the session and answers the MME with the S11 SGW F-TEID, the PGW's
  S5 control F-TEID, the PAA, APN-AMBR, PCO and the bearer context created (S1-U SGW
  F-TEID, S5/S8-U PGW F-TEID, QoS, Charging ID). A PGW that does not answer becomes cause
  100 "Remote peer not responding", an unreadable answer cause 107.
* Modify Bearer Request (S11) after Initial Context Setup: records the eNB's S1-U F-TEID
  (no S5 signalling: the SGW does not change here).
* Delete Session Request (S11): removes the session atomically (exactly one replica wins),
  sends Delete Session Request to the PGW-C and answers.

Path management (§7.1): the SGW-C sends Echo Requests to the PGW-C and is ready only while
they are answered; S5 requests are spread round robin over the PGW-C's addresses.

All session and bearer state is in the shared store, keyed by the SGW's S11 control TEID,
so any replica serves any session; TEIDs come from per-replica blocks of a store counter
(runtime.gtp.TeidAllocator). The user plane is out of scope: there is no GTP-U here,
the user-plane F-TEIDs are allocated and signalled but no packet is forwarded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import Fteid, GtpError, Ie, Message
from network_functions.runtime.epc import EpcConfig
from network_functions.runtime.gtp import GtpConfig, GtpTimeout, Peer, TeidAllocator
from network_functions.runtime.names import NameResolutionError
from network_functions.runtime.service import BaseConfig, NetworkFunction
from network_functions.runtime.store import Store, StoreError

__all__ = ["Sgw", "SgwConfig"]

# IEs of the MME's Create Session Request the SGW passes on to the PGW-C unchanged
# (TS 23.401 §5.3.2.1 step 13: "the Serving GW ... sends a Create Session Request").
FORWARDED = (
    g.IE_IMSI,
    g.IE_MSISDN,
    g.IE_MEI,
    g.IE_ULI,
    g.IE_SERVING_NETWORK,
    g.IE_RAT_TYPE,
    g.IE_INDICATION,
    g.IE_APN,
    g.IE_SELECTION_MODE,
    g.IE_PDN_TYPE,
    g.IE_PAA,
    g.IE_APN_RESTRICTION,
    g.IE_AMBR,
    g.IE_PCO,
    g.IE_UE_TIME_ZONE,
)
# Bearer context IE instances on each interface (Tables 7.2.1-2, 7.2.2-2, 7.2.7-2, 7.2.8-2)
CSREQ_S5U_SGW = 2
CSRSP_S1U_SGW = 0
CSRSP_S5U_PGW = 2
MBREQ_S1U_ENB = 0
MBRSP_S1U_SGW = 0
# How long a resolution of the PGW-C's name is used before asking again (seconds).
PEER_REFRESH = 2.0
# Echo towards the PGW-C (§7.1; the period is gtp.echo_interval): the retry period while it
# does not answer, and how long one Echo Request waits (no retransmission: the next period
# is the retry).
ECHO_RETRY = 0.5
ECHO_TIMEOUT = 1.0


class PeerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "pgw"
    port: int = Field(default=g.GTPC_PORT, ge=1, le=65535)


class SgwConfig(BaseConfig):
    epc: EpcConfig
    gtp: GtpConfig = GtpConfig()
    pgw: PeerConfig = PeerConfig()


def _fteid_json(f: Fteid | None) -> list[Any] | None:
    return None if f is None else [f.interface, f.teid, f.ipv4, f.ipv6]


def _fteid_from(v: list[Any] | None) -> Fteid | None:
    return None if v is None else Fteid(v[0], v[1], v[2], v[3])


class Sgw(NetworkFunction[SgwConfig]):
    config_model = SgwConfig

    def __init__(self, config: SgwConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.gtp = config.gtp.endpoint(
            config.listen.host, handler=self.handle, metrics=self.metrics
        )
        self.teids: TeidAllocator | None = None
        self._pgw_addresses: list[str] = []
        self._pgw_answered = 0.0
        self._echo_task: asyncio.Task[None] | None = None
        self._pgw_expiry = 0.0
        self._rr = itertools.count()
        self.m_sessions = self.metrics.counter(
            "sgw_sessions_total", "sessions by outcome", ("procedure", "cause")
        )

    @property
    def db(self) -> Store:
        assert self.store is not None
        return self.store

    async def start(self) -> None:
        store = await self.open_store()
        self.teids = await self.config.gtp.restore(
            store, self.gtp, prefix="sgw", replica=self.replica
        )
        self.gtp.on_peer_restart = self._peer_restarted
        await self.gtp.start()
        self._echo_task = asyncio.get_running_loop().create_task(self._echo_loop())
        self.add_readiness_check("pgw", self._pgw_readiness)

    async def drain(self) -> None:
        self._stop_echo()
        await self.gtp.drain()

    async def close(self) -> None:
        self._stop_echo()
        await self.gtp.close()

    def _stop_echo(self) -> None:
        if self._echo_task is not None:
            self._echo_task.cancel()
            self._echo_task = None

    # -- path management (TS 29.274 §7.1, TS 23.007 §20) ------------------------------------
    async def _echo_loop(self) -> None:
        """Echo the PGW-C: ready once it answers (ARCHITECTURE principle 5); a PGW-C that
        stops answering makes this replica not ready until it answers again."""
        while True:
            try:
                peer = await self._pgw_peer()
                await self.gtp.echo(peer, t3=ECHO_TIMEOUT, n3=0)
            except (GtpTimeout, GtpError, OSError) as exc:
                if self._pgw_answered:
                    self.log.warning("PGW-C does not answer Echo", extra={"error": str(exc)})
                self._pgw_answered = 0.0
                await asyncio.sleep(ECHO_RETRY)
                continue
            self._pgw_answered = time.monotonic()
            await asyncio.sleep(self.config.gtp.echo_interval)

    async def _pgw_readiness(self) -> str | None:
        fresh = 3 * self.config.gtp.echo_interval
        if self._pgw_answered and time.monotonic() - self._pgw_answered < fresh:
            return None
        return f"PGW-C {self.config.pgw.name}:{self.config.pgw.port} does not answer Echo"

    def _peer_restarted(self, peer: Peer, old: int, new: int) -> None:
        # §7.1.1 / TS 23.007: a new Recovery value means the peer lost its contexts.
        self.log.warning(
            "GTP-C peer restarted", extra={"peer": f"{peer[0]}:{peer[1]}", "old": old, "new": new}
        )

    # -- helpers ---------------------------------------------------------------------------
    async def _teid(self) -> int:
        assert self.teids is not None
        return await self.teids.allocate()

    async def _pgw_peer(self) -> Peer:
        """The next PGW-C replica, round robin: every replica serves every session (their
        state is in the store), so S5 load spreads over all of them (ARCHITECTURE principle
        6). The name is re-resolved every PEER_REFRESH seconds to follow scaling."""
        now = time.monotonic()
        if now >= self._pgw_expiry or not self._pgw_addresses:
            try:
                self._pgw_addresses = await self.names.resolve_all_async(self.config.pgw.name)
            except NameResolutionError as exc:
                if not self._pgw_addresses:
                    raise GtpError(g.CAUSE_REMOTE_PEER_NOT_RESPONDING, f"PGW: {exc}") from None
                self.log.warning("PGW name resolution failed", extra={"error": str(exc)})
            self._pgw_expiry = now + PEER_REFRESH
        addresses = self._pgw_addresses
        return (addresses[next(self._rr) % len(addresses)], self.config.pgw.port)

    async def _load(self, teid: int | None) -> dict[str, Any]:
        raw = await self.db.get(f"sgw:s:{teid}") if teid else None
        if raw is None:
            # §7.7? / §5.5.2: unknown TEID: Context Not Found, answered with TEID 0.
            raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, f"no session for TEID {teid}")
        session: dict[str, Any] = json.loads(raw)
        return session

    async def handle(self, msg: Message, peer: Peer) -> Message | None:
        try:
            if msg.type == g.CREATE_SESSION_REQUEST:
                return await self.create_session(msg, peer)
            if msg.type == g.MODIFY_BEARER_REQUEST:
                return await self.modify_bearer(msg)
            if msg.type == g.DELETE_SESSION_REQUEST:
                return await self.delete_session(msg)
        except StoreError as exc:
            self.log.error("store failed", extra={"error": str(exc)})
            raise GtpError(g.CAUSE_SYSTEM_FAILURE, "state store unavailable") from None
        raise GtpError(g.CAUSE_SERVICE_NOT_SUPPORTED, f"{msg.name} is not served by the SGW-C")

    # -- Create Session (§7.2.1) -------------------------------------------------------------
    async def create_session(self, req: Message, peer: Peer) -> Message:
        mme: Fteid = req.get(g.IE_FTEID, 0)
        mme_teid = mme.teid
        bearer = req.get(g.IE_BEARER_CONTEXT)
        ebi: int = g.find(bearer, g.IE_EBI)
        imsi: str = req.get(g.IE_IMSI)
        if mme.interface != g.IF_S11_MME:
            raise GtpError(
                g.CAUSE_MANDATORY_IE_INCORRECT,
                f"Sender F-TEID interface {mme.interface} is not S11 MME",
                offending=(g.IE_FTEID, 0),
                teid=mme_teid,
            )
        old = await self.db.get(f"sgw:imsi:{imsi}:{ebi}")
        if old is not None:
            # The MME lost the UE's context (re-attach): release the old PDN connection.
            await self._release(int(old), reason="replaced by a new Create Session")
        s11, s5c, s1u, s5u = [await self._teid() for _ in range(4)]
        addr = self.address
        forward = [i for i in req.ies if i.type in FORWARDED and i.instance == 0]
        group: list[Ie] = [Ie(g.IE_EBI, ebi)]
        group.append(Ie(g.IE_FTEID, Fteid(g.IF_S5S8_SGW_U, s5u, addr), CSREQ_S5U_SGW))
        group += [i for i in bearer if i.type == g.IE_BEARER_QOS]
        s5req = Message(
            g.CREATE_SESSION_REQUEST,
            0,
            [
                *forward,
                Ie(g.IE_FTEID, Fteid(g.IF_S5S8_SGW_C, s5c, addr), 0),
                g.bearer_context(group),
                Ie(g.IE_RECOVERY, self.gtp.recovery),
            ],
            teid=0,
        )
        pgw_peer = await self._pgw_peer()
        try:
            rsp = await self.gtp.request(pgw_peer, s5req)
        except GtpTimeout:
            self.m_sessions.labels("create", "pgw-timeout").inc()
            raise GtpError(
                g.CAUSE_REMOTE_PEER_NOT_RESPONDING, "PGW did not answer", teid=mme_teid
            ) from None
        except GtpError as exc:
            raise GtpError(
                g.CAUSE_INVALID_REPLY_FROM_REMOTE_PEER, f"PGW answer: {exc}", teid=mme_teid
            ) from None
        cause = rsp.cause or 0
        pco = rsp.ie(g.IE_PCO)
        if not g.is_accepted(cause):
            self.m_sessions.labels("create", str(cause)).inc()
            out = Message(g.CREATE_SESSION_RESPONSE, req.sequence, [Ie(g.IE_CAUSE, g.Cause(cause))])
            if pco is not None:
                out.ies.append(pco)
            out.teid = mme_teid
            return out
        pgw_c: Fteid | None = rsp.get(g.IE_FTEID, 0)
        created = rsp.get(g.IE_BEARER_CONTEXT)
        if pgw_c is None or created is None:
            raise GtpError(
                g.CAUSE_INVALID_REPLY_FROM_REMOTE_PEER,
                "PGW accepted without its F-TEID or bearer context",
                teid=mme_teid,
            )
        pgw_u: Fteid | None = g.find(created, g.IE_FTEID, CSRSP_S5U_PGW)
        charging: int | None = g.find(created, g.IE_CHARGING_ID)
        qos_ie = next((i for i in created if i.type == g.IE_BEARER_QOS), None)
        paa: g.Paa | None = rsp.get(g.IE_PAA)
        session = {
            "imsi": imsi,
            "ebi": ebi,
            "apn": req.get(g.IE_APN),
            "mme": _fteid_json(mme),
            "pgw_c": _fteid_json(pgw_c),
            "pgw_u": _fteid_json(pgw_u),
            "enb_u": None,
            "s11": s11,
            "s5c": s5c,
            "s1u": s1u,
            "s5u": s5u,
            "address": addr,
            "ue_ip": paa.ipv4 if paa is not None else None,
            "charging_id": charging,
        }
        try:
            await self.db.set(f"sgw:s:{s11}", json.dumps(session).encode())
            await self.db.set(f"sgw:imsi:{imsi}:{ebi}", str(s11).encode())
            await self.db.set(f"sgw:s5:{s5c}", str(s11).encode())
        except StoreError as exc:
            # Without our state the PDN connection cannot be used: undo it at the PGW-C.
            self.log.error("store failed after the PGW accepted", extra={"error": str(exc)})
            undo = g.delete_session_request(sequence=0, teid=pgw_c.teid, ebi=ebi)
            try:
                await self.gtp.request(pgw_peer, undo)
            except (GtpTimeout, GtpError):
                pass
            raise GtpError(
                g.CAUSE_SYSTEM_FAILURE, "state store unavailable", teid=mme_teid
            ) from None
        self.m_sessions.labels("create", str(cause)).inc()
        ies = [
            Ie(g.IE_CAUSE, g.Cause(cause)),
            Ie(g.IE_FTEID, Fteid(g.IF_S11S4_SGW, s11, addr), 0),
            Ie(g.IE_FTEID, pgw_c, 1),
        ]
        ies += [i for i in rsp.ies if i.type in (g.IE_PAA, g.IE_APN_RESTRICTION, g.IE_AMBR)]
        if pco is not None:
            ies.append(pco)
        out_group = [
            Ie(g.IE_EBI, ebi),
            Ie(g.IE_CAUSE, g.Cause(_bearer_cause(created, cause))),
            Ie(g.IE_FTEID, Fteid(g.IF_S1U_SGW, s1u, addr), CSRSP_S1U_SGW),
        ]
        if pgw_u is not None:
            out_group.append(Ie(g.IE_FTEID, pgw_u, CSRSP_S5U_PGW))
        if qos_ie is not None:
            out_group.append(qos_ie)
        if charging is not None:
            out_group.append(Ie(g.IE_CHARGING_ID, charging))
        ies.append(g.bearer_context(out_group))
        ies.append(Ie(g.IE_RECOVERY, self.gtp.recovery))
        return Message(g.CREATE_SESSION_RESPONSE, req.sequence, ies, mme_teid)

    # -- Modify Bearer (§7.2.7) --------------------------------------------------------------
    async def modify_bearer(self, req: Message) -> Message:
        session = await self._load(req.teid)
        mme_teid = session["mme"][1]
        changed = False
        for group in req.all(g.IE_BEARER_CONTEXT):
            ebi = g.find(group, g.IE_EBI)
            if ebi != session["ebi"]:
                raise GtpError(
                    g.CAUSE_CONTEXT_NOT_FOUND,
                    f"no bearer {ebi} in this session",
                    offending=(g.IE_EBI, 0),
                    bce=True,
                    teid=mme_teid,
                )
            enb: Fteid | None = g.find(group, g.IE_FTEID, MBREQ_S1U_ENB)
            if enb is not None:
                if enb.interface != g.IF_S1U_ENB:
                    raise GtpError(
                        g.CAUSE_MANDATORY_IE_INCORRECT,
                        f"S1-U F-TEID interface {enb.interface} is not S1-U eNodeB",
                        offending=(g.IE_FTEID, MBREQ_S1U_ENB),
                        bce=True,
                        teid=mme_teid,
                    )
                session["enb_u"] = _fteid_json(enb)
                changed = True
        uli = req.get(g.IE_ULI)
        if uli is not None and uli.tai is not None:
            session["tac"] = uli.tai.tac
            changed = True
        if changed:
            s11 = session["s11"]
            # Only if the session still exists (a concurrent Delete Session wins).
            key = f"sgw:s:{s11}"
            current = await self.db.get(key)
            new = json.dumps(session).encode()
            if current is None or not await self.db.compare_and_set(key, current, new):
                raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, "session deleted meanwhile")
        self.m_sessions.labels("modify", str(g.CAUSE_REQUEST_ACCEPTED)).inc()
        return g.modify_bearer_response(
            sequence=req.sequence,
            teid=mme_teid,
            cause=g.CAUSE_REQUEST_ACCEPTED,
            ebi=session["ebi"],
            sgw_fteid=Fteid(g.IF_S1U_SGW, session["s1u"], session["address"]),
            charging_id=session.get("charging_id"),
            recovery=self.gtp.recovery,
        )

    # -- Delete Session (§7.2.9.1) -------------------------------------------------------------
    async def delete_session(self, req: Message) -> Message:
        session = await self._load(req.teid)
        mme_teid = session["mme"][1]
        ebi = req.get(g.IE_EBI)
        if ebi is not None and ebi != session["ebi"]:
            raise GtpError(
                g.CAUSE_CONTEXT_NOT_FOUND,
                f"Linked EBI {ebi} is not this PDN connection's",
                offending=(g.IE_EBI, 0),
                teid=mme_teid,
            )
        cause = await self._release(session["s11"], reason="Delete Session", request=req)
        if cause is None:
            raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, "session deleted meanwhile")
        self.m_sessions.labels("delete", str(cause)).inc()
        return g.delete_session_response(
            sequence=req.sequence, teid=mme_teid, cause=cause, recovery=self.gtp.recovery
        )

    async def _release(
        self, s11: int, *, reason: str, request: Message | None = None
    ) -> int | None:
        """Remove the session (atomically: one replica wins) and delete it at the PGW.
        Returns the cause for the MME, or None when the session was already gone."""
        raw = await self.db.get(f"sgw:s:{s11}")
        if raw is None or not await self.db.compare_and_set(f"sgw:s:{s11}", raw, None):
            return None
        session = json.loads(raw)
        await self.db.compare_and_set(
            f"sgw:imsi:{session['imsi']}:{session['ebi']}", str(s11).encode(), None
        )
        await self.db.delete(f"sgw:s5:{session['s5c']}")
        pgw_c = _fteid_from(session["pgw_c"])
        if pgw_c is None:
            return g.CAUSE_REQUEST_ACCEPTED
        extra = (
            [] if request is None else [i for i in request.ies if i.type in (g.IE_ULI, g.IE_PCO)]
        )
        s5req = g.delete_session_request(sequence=0, teid=pgw_c.teid, ebi=session["ebi"])
        s5req.ies += extra
        try:
            rsp = await self.gtp.request(await self._pgw_peer(), s5req)
        except (GtpTimeout, GtpError) as exc:
            # The SGW's state is gone either way; the PGW's is released when it restarts
            # or when the same UE attaches again.
            self.log.warning(
                "PGW Delete Session failed", extra={"reason": reason, "error": str(exc)}
            )
            return g.CAUSE_REQUEST_ACCEPTED
        cause = rsp.cause or g.CAUSE_REQUEST_ACCEPTED
        # The PGW no longer knowing the session still ends it.
        return g.CAUSE_REQUEST_ACCEPTED if cause == g.CAUSE_CONTEXT_NOT_FOUND else cause


def _bearer_cause(group: list[Ie], default: int) -> int:
    c = g.find(group, g.IE_CAUSE)
    return c.value if isinstance(c, g.Cause) else default
