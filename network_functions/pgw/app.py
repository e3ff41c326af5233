"""The PGW-C: GTPv2-C on S5 (from the SGW-C), UE IP pools per APN, Gx to the PCRF.

Procedures (TS 29.274 §7.2, TS 23.401 §5.3.2.1 steps 14-15 and §5.3.8.2):

* Create Session Request: the APN (its network identifier, TS 23.003 §9.1.1) must be one
  of ``epc.apns`` (else cause 78 "Missing or unknown APN"); the PDN type must include
  IPv4 (IPv6-only gets 83 "Preferred PDN type not supported"; IPv4v6 gets an IPv4
  address and 18 "New PDN type due to network preference"). The UE's IPv4 address comes
  from the APN's pool, atomically in the shared store (no two replicas hand out one
  address; an exhausted pool gives 84 "All dynamic addresses are occupied"). APN-AMBR and
  the default bearer's QCI/ARP come from the APN's config — or from the PCRF's CCA-I when
  Gx is enabled (``gx.enabled``). The answer carries the PGW's S5 control F-TEID, the
  PAA, APN-AMBR, the bearer context created (S5/S8-U PGW F-TEID, QoS, Charging ID) and a
  PCO answer.
* Delete Session Request: removes the session atomically, releases the address and
  ends the Gx session (CCR-T).

State is in the shared store (``pgw:s:<S5 control TEID>``), so any replica serves any
session. The user plane is out of scope: no GTP-U, no SGi; the S5-U F-TEID is allocated
and signalled but carries no packets.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import Fteid, GtpError, Message
from network_functions.runtime.config import ConfigError
from network_functions.runtime.epc import ApnConfig, EpcConfig
from network_functions.runtime.gtp import GtpConfig, Peer, TeidAllocator
from network_functions.runtime.service import BaseConfig, NetworkFunction
from network_functions.runtime.store import Store, StoreError

from .gx import GxPolicy

__all__ = ["AddressPool", "Pgw", "PgwConfig"]

CSRSP_S5U_PGW = 2  # Table 7.2.2-2: S5/S8-U PGW F-TEID is instance 2
# TS 24.008 §10.5.6.3: configuration protocol octet (PPP, extension bit) and no options.
PCO_EMPTY = b"\x80"
# The first usable address of a pool is kept for the PGW-U's own SGi side (the UEs'
# default gateway); addresses are handed out from the one after it.
POOL_RESERVED = 1


class GxConfig(BaseModel):
    """Gx to the PCRF (TS 29.212): off until a PCRF is deployed."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    peer: str = "pcrf"
    port: int = Field(default=3868, ge=1, le=65535)
    transport: str = "tcp"
    watchdog_interval: float = Field(default=6.0, gt=0)


class PgwConfig(BaseConfig):
    epc: EpcConfig
    gtp: GtpConfig = GtpConfig()
    gx: GxConfig = GxConfig()


class AddressPool:
    """IPv4 addresses of one APN, allocated atomically in the shared store.

    ``pgw:ip-used:<apn>`` counts addresses in use (an ``incr`` that overshoots the pool
    size is undone and means "all occupied"); ``pgw:ip-next:<apn>`` is a cursor every
    replica advances; an address is taken by ``set_if_absent`` on ``pgw:ip:<apn>:<ip>``,
    so it has exactly one owner even when cursors race or wrap onto addresses still held.
    """

    def __init__(self, store: Store, apn: str, pool: str) -> None:
        try:
            net = ipaddress.IPv4Network(pool)
        except ValueError as exc:
            raise ConfigError(f"APN {apn}: pool {pool!r}: {exc}") from None
        self.store, self.apn, self.network = store, apn, net
        # network address, the reserved gateway address(es) and the broadcast address
        self.first = int(net.network_address) + 1 + POOL_RESERVED
        self.size = net.num_addresses - 2 - POOL_RESERVED
        if self.size < 1:
            raise ConfigError(f"APN {apn}: pool {pool} has no address to give out")

    async def allocate(self, owner: str) -> str:
        used_key = f"pgw:ip-used:{self.apn}"
        if await self.store.incr(used_key) > self.size:
            await self.store.incr(used_key, -1)
            raise GtpError(g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED, f"pool of APN {self.apn} full")
        for _ in range(self.size):
            n = await self.store.incr(f"pgw:ip-next:{self.apn}")
            ip = str(ipaddress.IPv4Address(self.first + (n - 1) % self.size))
            if await self.store.set_if_absent(f"pgw:ip:{self.apn}:{ip}", owner.encode()):
                return ip
        await self.store.incr(used_key, -1)  # every address raced away under us
        raise GtpError(g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED, f"pool of APN {self.apn} full")

    async def release(self, ip: str, owner: str) -> bool:
        if await self.store.compare_and_set(f"pgw:ip:{self.apn}:{ip}", owner.encode(), None):
            await self.store.incr(f"pgw:ip-used:{self.apn}", -1)
            return True
        return False


def apn_network_identifier(apn: str) -> str:
    """The APN-NI: the APN without an operator identifier suffix (TS 23.003 §9.1.2:
    ``mnc<MNC>.mcc<MCC>.gprs``), lower-cased (APNs compare case-insensitively, §9.1)."""
    labels = apn.lower().split(".")
    if (
        len(labels) > 3
        and labels[-1] == "gprs"
        and labels[-2].startswith("mcc")
        and labels[-3].startswith("mnc")
    ):
        labels = labels[:-3]
    return ".".join(labels)


class Pgw(NetworkFunction[PgwConfig]):
    config_model = PgwConfig

    def __init__(self, config: PgwConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.gtp = config.gtp.endpoint(
            config.listen.host, handler=self.handle, metrics=self.metrics
        )
        self.apns: dict[str, ApnConfig] = {a.name.lower(): a for a in config.epc.apns}
        self.pools: dict[str, AddressPool] = {}
        self.teids: TeidAllocator | None = None
        self.gx: GxPolicy | None = None
        self.m_sessions = self.metrics.counter(
            "pgw_sessions_total", "sessions by outcome", ("procedure", "cause")
        )

    @property
    def db(self) -> Store:
        assert self.store is not None
        return self.store

    async def start(self) -> None:
        store = await self.open_store()
        for name, apn in self.apns.items():
            self.pools[name] = AddressPool(store, name, apn.pool)
        self.teids = await self.config.gtp.restore(
            store, self.gtp, prefix="pgw", replica=self.replica
        )
        if self.config.gx.enabled:
            await self._start_gx()
        await self.gtp.start()

    async def _start_gx(self) -> None:
        gx = self.gx = GxPolicy(self)
        gx.start()
        self.add_readiness_check("gx", gx.readiness)

    async def drain(self) -> None:
        await self.gtp.drain()

    async def close(self) -> None:
        await self.gtp.close()
        if self.gx is not None:
            await self.gx.close()

    async def handle(self, msg: Message, peer: Peer) -> Message | None:
        try:
            if msg.type == g.CREATE_SESSION_REQUEST:
                return await self.create_session(msg)
            if msg.type == g.DELETE_SESSION_REQUEST:
                return await self.delete_session(msg)
        except StoreError as exc:
            self.log.error("store failed", extra={"error": str(exc)})
            raise GtpError(g.CAUSE_SYSTEM_FAILURE, "state store unavailable") from None
        raise GtpError(g.CAUSE_SERVICE_NOT_SUPPORTED, f"{msg.name} is not served by the PGW-C")

    # -- Create Session (§7.2.1 on S5) -----------------------------------------------------------
    async def create_session(self, req: Message) -> Message:
        sgw: Fteid = req.get(g.IE_FTEID, 0)
        sgw_teid = sgw.teid
        if sgw.interface != g.IF_S5S8_SGW_C:
            raise GtpError(
                g.CAUSE_MANDATORY_IE_INCORRECT,
                f"Sender F-TEID interface {sgw.interface} is not S5/S8 SGW GTP-C",
                offending=(g.IE_FTEID, 0),
                teid=sgw_teid,
            )
        apn_name = apn_network_identifier(req.get(g.IE_APN))
        apn = self.apns.get(apn_name)
        if apn is None:
            self.m_sessions.labels("create", str(g.CAUSE_MISSING_OR_UNKNOWN_APN)).inc()
            raise GtpError(
                g.CAUSE_MISSING_OR_UNKNOWN_APN, f"unknown APN {apn_name!r}", teid=sgw_teid
            )
        pdn_type = req.get(g.IE_PDN_TYPE) or g.PDN_IPV4
        cause = g.CAUSE_REQUEST_ACCEPTED
        if pdn_type == g.PDN_IPV6:
            raise GtpError(
                g.CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED, "IPv6 is not offered", teid=sgw_teid
            )
        if pdn_type == g.PDN_IPV4V6:
            cause = g.CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE
        bearer = req.get(g.IE_BEARER_CONTEXT)
        ebi: int = g.find(bearer, g.IE_EBI)
        sgw_u: Fteid | None = g.find(bearer, g.IE_FTEID, 2)
        imsi: str = req.get(g.IE_IMSI)
        old = await self.db.get(f"pgw:imsi:{imsi}:{ebi}")
        if old is not None:
            # A new default bearer with the same EBI replaces the old PDN connection
            # (the SGW or MME lost it): free its address.
            await self._release(int(old))
        assert self.teids is not None
        s5c = await self.teids.allocate()
        s5u = await self.teids.allocate()
        charging_id = await self.teids.allocate()
        pool = self.pools[apn_name]
        ue_ip = await pool.allocate(str(s5c))
        qos = g.BearerQos(qci=apn.qci, pl=apn.arp, pci=1, pvi=0)
        ambr = g.Ambr(apn.ambr_ul_kbps, apn.ambr_dl_kbps)
        requested_qos = g.find(bearer, g.IE_BEARER_QOS)
        session: dict[str, Any] = {
            "imsi": imsi,
            "msisdn": req.get(g.IE_MSISDN),
            "apn": apn_name,
            "ebi": ebi,
            "ue_ip": ue_ip,
            "sgw_c": [sgw.interface, sgw.teid, sgw.ipv4, sgw.ipv6],
            "sgw_u": None if sgw_u is None else [sgw_u.interface, sgw_u.teid, sgw_u.ipv4],
            "s5c": s5c,
            "s5u": s5u,
            "charging_id": charging_id,
            "address": self.address,
        }
        if self.gx is not None:
            try:
                qos, ambr, session["gx"] = await self.gx.initial(session, requested_qos, qos, ambr)
            except GtpError as exc:
                await pool.release(ue_ip, str(s5c))
                exc.teid = sgw_teid
                raise
        session["qci"], session["arp"] = qos.qci, qos.pl
        await self.db.set(f"pgw:s:{s5c}", json.dumps(session).encode())
        await self.db.set(f"pgw:imsi:{imsi}:{ebi}", str(s5c).encode())
        if session.get("gx"):
            await self.db.set(f"pgw:gx:{session['gx']}", str(s5c).encode())
        self.m_sessions.labels("create", str(cause)).inc()
        return g.create_session_response(
            sequence=req.sequence,
            teid=sgw_teid,
            cause=cause,
            sender_fteid=Fteid(g.IF_S5S8_PGW_C, s5c, self.address),
            paa=g.Paa(g.PDN_IPV4, ipv4=ue_ip),
            apn_restriction=0,
            apn_ambr=ambr,
            pco=PCO_EMPTY if req.get(g.IE_PCO) is not None else None,
            ebi=ebi,
            bearer_cause=g.CAUSE_REQUEST_ACCEPTED,
            bearer_fteids=[(CSRSP_S5U_PGW, Fteid(g.IF_S5S8_PGW_U, s5u, self.address))],
            qos=qos,
            charging_id=charging_id,
            recovery=self.gtp.recovery,
        )

    # -- Delete Session (§7.2.9.1 on S5) ---------------------------------------------------------
    async def delete_session(self, req: Message) -> Message:
        raw = await self.db.get(f"pgw:s:{req.teid}") if req.teid else None
        if raw is None:
            raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, f"no session for TEID {req.teid}")
        session = json.loads(raw)
        sgw_teid = session["sgw_c"][1]
        ebi = req.get(g.IE_EBI)
        if ebi is not None and ebi != session["ebi"]:
            raise GtpError(
                g.CAUSE_CONTEXT_NOT_FOUND,
                f"Linked EBI {ebi} is not this PDN connection's",
                offending=(g.IE_EBI, 0),
                teid=sgw_teid,
            )
        if not await self._release(int(req.teid or 0)):
            raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, "session deleted meanwhile")
        self.m_sessions.labels("delete", str(g.CAUSE_REQUEST_ACCEPTED)).inc()
        return g.delete_session_response(
            sequence=req.sequence,
            teid=sgw_teid,
            cause=g.CAUSE_REQUEST_ACCEPTED,
            recovery=self.gtp.recovery,
        )

    async def _release(self, s5c: int) -> bool:
        """Remove a session once (exactly one caller wins), free its address, end Gx."""
        key = f"pgw:s:{s5c}"
        raw = await self.db.get(key)
        if raw is None or not await self.db.compare_and_set(key, raw, None):
            return False
        session = json.loads(raw)
        await self.db.compare_and_set(
            f"pgw:imsi:{session['imsi']}:{session['ebi']}", str(s5c).encode(), None
        )
        pool = self.pools.get(session["apn"])
        if pool is not None:
            await pool.release(session["ue_ip"], str(s5c))
        if session.get("gx"):
            await self.db.delete(f"pgw:gx:{session['gx']}")
            if self.gx is not None:
                await self.gx.terminate(session)
        return True
