"""The P-CSCF as Rx client of the PCRF (TS 29.214; procedures TS 29.213 §4.3, §4.4.1).

When an INVITE is answered (2xx with SDP) the P-CSCF sends an AA-Request describing the
session's media (one Media-Component-Description per SDP m-line, with its RTP and RTCP flows
as IPFilterRules seen from the UE, TS 29.214 §5.3.7/§5.3.8, TS 29.213 §6.2 for the
SDP→Rx mapping), bound to the UE by Framed-IP-Address; the PCRF turns it into a QCI-1 PCC
rule on the PGW. On BYE the Session-Termination-Request ends the AF session and the bearer.

Optional (``rx.enabled``): the IMS core runs without a PCRF. Rx never delays or fails the
SIP transaction: the AAR goes out after the 2xx has been relayed, and a refusal (e.g. the
UE has no IP-CAN session: 5065) is logged and counted. The AF session of each call leg is
kept in the shared store (``pcscf:rx:<Call-ID>:<leg>``), so whichever replica sees the BYE
ends it, once. A BYE that overtakes the AAA (a short call) leaves a marker
(``pcscf:rx-ended:<Call-ID>``): the AAR's completion sees it and ends the session itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols.diameter import (
    APP_RX,
    VENDOR_3GPP,
    DiameterParseError,
    answer_result,
    new_session_id,
    rx,
)
from network_functions.runtime.diameter import DiameterClient, DiameterUnavailable

if TYPE_CHECKING:
    from .app import Pcscf

# An AF session outlives no call longer than this (a BYE that never came).
SESSION_TTL = 24 * 3600.0
# Seconds to wait for the PCRF's AAA / STA.
RX_TIMEOUT = 3.0
# How long a BYE is remembered for an AAR still in flight (longer than RX_TIMEOUT).
ENDED_TTL = 60.0
_MEDIA_TYPES = {
    "audio": rx.MediaType.AUDIO,
    "video": rx.MediaType.VIDEO,
    "application": rx.MediaType.APPLICATION,
    "text": rx.MediaType.TEXT,
    "message": rx.MediaType.MESSAGE,
}


class RxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    peer: str = "pcrf"
    port: int = Field(default=3868, ge=1, le=65535)
    # Destination-Realm of the AAR/STR; empty = the P-CSCF's own realm.
    realm: str = ""
    transport: Literal["tcp", "sctp"] = "tcp"
    watchdog_interval: float = Field(default=6.0, gt=0)
    connections: int = Field(default=2, ge=1, le=16)


@dataclass
class _Media:
    kind: str
    address: str
    port: int
    bandwidth_kbps: int | None


def _sdp_media(body: bytes) -> list[_Media]:
    """The m-lines of an SDP body (RFC 4566 §5) with the connection address in force for
    each (media-level c= over session-level) and its b=AS bandwidth; [] if not SDP."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return []
    session_addr = ""
    out: list[_Media] = []
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "c":
            parts = value.split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if out:
                out[-1].address = addr
            else:
                session_addr = addr
        elif kind == "m":
            parts = value.split()
            try:
                port = int(parts[1].split("/")[0]) if len(parts) >= 2 else 0
            except ValueError:
                port = 0
            out.append(_Media(parts[0] if parts else "", session_addr, port, None))
        elif kind == "b" and out and value.upper().startswith("AS:"):
            try:
                out[-1].bandwidth_kbps = int(value[3:])
            except ValueError:
                pass
    return out


def media_components(ue_sdp: bytes, remote_sdp: bytes) -> tuple[str, list[rx.MediaComponent]]:
    """(UE IPv4 address, media components) from the UE's and the remote party's SDP.

    Each m-line pair accepted by both sides (port != 0) becomes a component numbered from 1,
    with an RTP flow and an RTCP flow (port + 1, RFC 3550 §11) described from the UE's side:
    ``permit out`` towards the UE (downlink), ``permit in`` from it (uplink). The bandwidth is
    the UE side's b=AS (kbit/s), else the remote's. ValueError when there is no usable media
    or the UE address is not IPv4 (Framed-IP-Address, TS 29.214 §5.6.1).
    """
    ue, remote = _sdp_media(ue_sdp), _sdp_media(remote_sdp)
    if not ue or not remote:
        raise ValueError("no SDP media on one side")
    ue_ip = ue[0].address
    try:
        ipaddress.IPv4Address(ue_ip)
    except ValueError:
        raise ValueError(f"UE media address {ue_ip!r} is not IPv4") from None
    components = []
    for n, (mine, theirs) in enumerate(zip(ue, remote, strict=False), start=1):
        if mine.port == 0 or theirs.port == 0 or not mine.address or not theirs.address:
            continue
        flows = []
        for number, offset, usage in (
            (1, 0, rx.FlowUsage.NO_INFORMATION),
            (2, 1, rx.FlowUsage.RTCP),
        ):
            up, down = mine.port + offset, theirs.port + offset
            flows.append(
                rx.MediaFlow(
                    number,
                    (
                        f"permit out 17 from {theirs.address} {down} to {mine.address} {up}",
                        f"permit in 17 from {mine.address} {up} to {theirs.address} {down}",
                    ),
                    usage,
                )
            )
        kbps = mine.bandwidth_kbps if mine.bandwidth_kbps is not None else theirs.bandwidth_kbps
        bps = None if kbps is None else kbps * 1000
        components.append(
            rx.MediaComponent(
                number=n,
                media_type=_MEDIA_TYPES.get(mine.kind, rx.MediaType.DATA),
                flows=tuple(flows),
                max_ul=bps,
                max_dl=bps,
            )
        )
    if not components:
        raise ValueError("every media line is rejected (port 0)")
    return ue_ip, components


class RxClient:
    """Rx of one P-CSCF replica."""

    def __init__(self, pcscf: Pcscf, cfg: RxConfig) -> None:
        self.pcscf = pcscf
        config = pcscf.config
        self.realm = config.realm
        self.destination_realm = cfg.realm or config.realm
        self.origin_host = f"{pcscf.replica}.{config.realm}"
        self.client = DiameterClient(
            peer=cfg.peer,
            port=cfg.port,
            names=pcscf.names,
            origin_host=self.origin_host,
            origin_realm=self.realm,
            advertise=pcscf.address,
            auth_applications=[APP_RX],
            vendor_applications=[(VENDOR_3GPP, APP_RX)],
            metrics=pcscf.metrics,
            connections=cfg.connections,
            watchdog=cfg.watchdog_interval,
            transport=cfg.transport,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.m_rx = pcscf.metrics.counter(
            "pcscf_rx_requests_total", "Rx requests to the PCRF by outcome", ("command", "result")
        )

    def start(self) -> None:
        self.client.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            await asyncio.wait([task], timeout=RX_TIMEOUT)
        await self.client.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def session_answered(
        self, call_id: str, leg: str, *, ue_sdp: bytes, remote_sdp: bytes, subscriber: str | None
    ) -> None:
        """A call leg was answered: authorise its media (AAR) in the background."""
        self._spawn(self._authorize(call_id, leg, ue_sdp, remote_sdp, subscriber))

    def session_ended(self, call_id: str) -> None:
        """A BYE: end the AF sessions of the call's legs (STR) in the background."""
        self._spawn(self._terminate(call_id))

    async def _authorize(
        self, call_id: str, leg: str, ue_sdp: bytes, remote_sdp: bytes, subscriber: str | None
    ) -> None:
        try:
            ue_ip, media = media_components(ue_sdp, remote_sdp)
        except ValueError as exc:
            self.m_rx.labels("AAR", "no-media").inc()
            self.pcscf.log.info("no Rx for this call", extra={"call_id": call_id, "why": str(exc)})
            return
        sid = new_session_id(self.origin_host)
        aar = rx.make_aar(
            session_id=sid,
            origin_host=self.origin_host,
            origin_realm=self.realm,
            destination_realm=self.destination_realm,
            ue_ipv4=ue_ip,
            media=media,
            af_charging_identifier=call_id.encode(),
            subscriber=subscriber,
            specific_actions=[rx.SpecificAction.INDICATION_OF_RELEASE_OF_BEARER],
        )
        try:
            aaa = await self.client.request(aar, timeout=RX_TIMEOUT)
            result = answer_result(aaa)
        except (DiameterUnavailable, DiameterParseError) as exc:
            self.m_rx.labels("AAR", "unavailable").inc()
            self.pcscf.log.warning("Rx AAR failed", extra={"call_id": call_id, "error": str(exc)})
            return
        self.m_rx.labels("AAR", str(result.code)).inc()
        if not result.success:
            self.pcscf.log.info(
                "PCRF refused the media", extra={"call_id": call_id, "result": result.code}
            )
            return
        await self.pcscf.kv.set(f"pcscf:rx:{call_id}:{leg}", sid.encode(), ttl=SESSION_TTL)
        # Stored first, checked second (the BYE does the reverse): one of the two sees the
        # other, and the delete in _end_legs makes the STR go out once.
        if await self.pcscf.kv.get(f"pcscf:rx-ended:{call_id}") is not None:
            await self._end_legs(call_id)

    async def _terminate(self, call_id: str) -> None:
        await self.pcscf.kv.set(f"pcscf:rx-ended:{call_id}", b"1", ttl=ENDED_TTL)
        await self._end_legs(call_id)

    async def _end_legs(self, call_id: str) -> None:
        for leg in ("orig", "term"):
            key = f"pcscf:rx:{call_id}:{leg}"
            raw = await self.pcscf.kv.get(key)
            # The replica whose delete succeeds sends the STR: a BYE seen twice (both legs
            # through this P-CSCF) or by two replicas ends the session once.
            if raw is None or not await self.pcscf.kv.delete(key):
                continue
            str_ = rx.make_str(
                session_id=raw.decode(),
                origin_host=self.origin_host,
                origin_realm=self.realm,
                destination_realm=self.destination_realm,
            )
            try:
                sta = await self.client.request(str_, timeout=RX_TIMEOUT)
                code = str(answer_result(sta).code)
            except (DiameterUnavailable, DiameterParseError) as exc:
                code = "unavailable"
                self.pcscf.log.warning(
                    "Rx STR failed", extra={"call_id": call_id, "error": str(exc)}
                )
            self.m_rx.labels("STR", code).inc()
