"""What every SIP network function (the CSCFs) shares on top of the NF life cycle.

* a :class:`SipEndpoint` on the NF's service port (UDP + TCP),
* Diameter client pools to the Diameter peers named in the config,
* resolution of SIP URIs to targets **by name**: the host of a URI is looked up in the name
  table (local platform) or DNS (Kubernetes Service); a host inside the IMS home domain
  whose first label names an NF service (``scscf.ims.example.org``) resolves as that
  service, so the same config works on every platform;
* loose routing helpers (RFC 3261 §16.4, §16.12) and relaying of stray responses.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols.diameter import (
    APP_CX,
    VENDOR_3GPP,
    Avp,
    Message,
    new_session_id,
)
from network_functions.protocols.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
)

from .diameter import DiameterClient
from .names import NameResolutionError
from .service import BaseConfig, NetworkFunction
from .sip import IncomingRequest, SipEndpoint, Target

# Seconds a starting CSCF waits for its Diameter peers (CER/CEA done) before it opens its
# SIP service port anyway (see SipNetworkFunction.start).
DIAMETER_START_WAIT = 10.0


class SipConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=5060, ge=0, le=65535)
    transports: list[str] = ["udp", "tcp"]
    t1: float = Field(default=0.5, gt=0)
    # Requests in progress per replica beyond which new ones get 503 (overload control).
    max_pending: int = Field(default=200, ge=1)


class DiameterPeerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    port: int = Field(default=3868, ge=1, le=65535)
    connections: int = Field(default=2, ge=1, le=16)


class DiameterClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    watchdog_interval: float = Field(default=6.0, gt=0)
    # RFC 6733 §2.1: TCP or SCTP. This project's dev machines have no SCTP in the kernel.
    transport: Literal["tcp", "sctp"] = "tcp"
    peers: list[DiameterPeerConfig] = []


class ServiceRef(BaseModel):
    """A peer NF service reached over SIP: its name (resolved by the platform) and port."""

    model_config = ConfigDict(extra="forbid")
    name: str
    port: int = Field(default=5060, ge=1, le=65535)


class SipNFConfig(BaseConfig):
    sip: SipConfig = SipConfig()
    diameter: DiameterClientConfig = DiameterClientConfig()


SC = TypeVar("SC", bound=SipNFConfig)


class SipNetworkFunction(NetworkFunction[SC]):
    """Base of the CSCFs: endpoint + Diameter clients + routing by name."""

    def __init__(self, config: SC, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.endpoint = SipEndpoint(
            host=config.listen.host,
            port=config.sip.port,
            advertise=self.address,
            transports=config.sip.transports,
            handler=self,
            metrics=self.metrics,
            t1=config.sip.t1,
            max_pending=config.sip.max_pending,
        )
        self.diameter: dict[str, DiameterClient] = {}
        for peer in config.diameter.peers:
            client = DiameterClient(
                peer=peer.name,
                port=peer.port,
                names=self.names,
                origin_host=f"{replica}.{config.realm}",
                origin_realm=config.realm,
                advertise=self.address,
                auth_applications=[],
                vendor_applications=[(VENDOR_3GPP, APP_CX)],
                metrics=self.metrics,
                connections=peer.connections,
                watchdog=config.diameter.watchdog_interval,
                transport=config.diameter.transport,
            )
            self.diameter[peer.name] = client
            self.add_readiness_check(f"diameter:{peer.name}", client.readiness)
        # Hosts that mean "this NF" in Route / Record-Route URIs.
        self.own_hosts = {
            self.address,
            config.nf,
            f"{config.nf}.{config.domain}",
        }
        self.service_host = f"{config.nf}.{config.domain}"
        self._cx_head: list[Avp] | None = None

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        for client in self.diameter.values():
            client.start()
        # Join the SIP service socket only once the Diameter peers answer: locally the
        # kernel hands a replica flows as soon as it joins the SO_REUSEPORT group (nothing
        # gates on readiness as a Kubernetes Service does), and a replica without its HSS
        # connection could only answer 504. Bounded: with the peer away the NF starts
        # anyway, not ready, and answers 504 until the peer comes.
        await asyncio.gather(
            *(client.wait_ready(DIAMETER_START_WAIT) for client in self.diameter.values())
        )
        await self.endpoint.start()

    async def drain(self) -> None:
        self.endpoint.stop_accepting()
        await self.endpoint.wait_idle()

    async def close(self) -> None:
        await self.endpoint.close()
        for client in self.diameter.values():
            await client.close()

    async def on_request(self, incoming: IncomingRequest) -> None:
        """Handle a request received on the NF's SIP endpoint (each CSCF implements it)."""
        raise NotImplementedError

    # -- routing helpers ----------------------------------------------------------------------
    def own_uri(self, user: str | None = None) -> str:
        """A loose-route URI naming this NF's service (for Record-Route, Path, Service-Route)."""
        userpart = f"{user}@" if user else ""
        return f"sip:{userpart}{self.service_host}:{self.config.sip.port};lr"

    def is_own(self, uri: SipUri) -> bool:
        return uri.host in self.own_hosts and (uri.port in (None, self.config.sip.port))

    async def resolve_host(self, host: str) -> str:
        """Name → IP: an IP as is; the name table / DNS; else the home-domain service label."""
        hit = self.names.cached(host)  # an IP literal or a name of the current table
        if hit is not None:
            return hit
        try:
            ipaddress.ip_address(host.strip("[]"))
            return host.strip("[]")
        except ValueError:
            pass
        try:
            return await self.names.resolve_async(host)
        except NameResolutionError:
            suffix = "." + self.config.domain
            if host.endswith(suffix):
                return await self.names.resolve_async(host[: -len(suffix)].split(".")[-1])
            raise

    async def target_for(self, uri: SipUri) -> Target:
        transport = (uri.params.get("transport") or "udp").lower()
        port = uri.port or 5060
        return Target(await self.resolve_host(uri.host), port, transport)

    async def service_target(self, name: str, port: int) -> Target:
        return Target(await self.resolve_host(name), port, "udp")

    def pop_own_routes(self, request: SipRequest) -> None:
        """§16.4: remove the top Route entries that name this NF."""
        while True:
            top = request.headers.get_all("Route")
            if not top:
                return
            try:
                uri = NameAddr.parse(top[0]).uri
            except SipParseError:
                return
            if not self.is_own(uri):
                return
            request.headers.pop_first("Route")

    async def next_hop(self, request: SipRequest) -> Target:
        """§16.6 step 6-7 (loose routing): the top Route if any, else the Request-URI."""
        routes = request.headers.get_all("Route")
        uri = NameAddr.parse(routes[0]).uri if routes else SipUri.parse(request.uri)
        return await self.target_for(uri)

    @staticmethod
    def forward_copy(request: SipRequest) -> SipRequest:
        """A copy to forward (§16.6 step 1) with Max-Forwards decremented (step 3)."""
        out = SipRequest(request.method, request.uri, request.headers.copy(), request.body)
        mf = out.headers.get("Max-Forwards")
        out.headers.set("Max-Forwards", str(int(mf) - 1) if mf and mf.isdigit() else "70")
        return out

    @staticmethod
    def too_many_hops(incoming: IncomingRequest) -> bool:
        """§16.3 step 3: Max-Forwards 0 → 483."""
        mf = incoming.request.headers.get("Max-Forwards")
        if mf is not None and mf.strip() == "0":
            incoming.reply(483, "Too Many Hops")
            return True
        return False

    async def route_in_dialog(self, incoming: IncomingRequest, *, record_route: bool) -> None:
        """Forward a request by its Route set / Request-URI (in-dialog or preloaded)."""
        request = self.forward_copy(incoming.request)
        self.pop_own_routes(request)
        try:
            target = await self.next_hop(request)
        except (SipParseError, NameResolutionError) as exc:
            incoming.reply(
                404 if isinstance(exc, NameResolutionError) else 400, f"Cannot route: {exc}"[:100]
            )
            return
        if request.method == "ACK":
            self.endpoint.forward_stateless(request, target)
            return
        if record_route and request.method == "INVITE":
            request.headers.add("Record-Route", f"<{self.own_uri()}>", first=True)
        await self.endpoint.proxy(incoming, request, target)

    def on_stray_response(self, response: SipResponse) -> None:
        """§16.7 / §16.11: a response with no transaction (e.g. a retransmitted 2xx to an
        INVITE whose client transaction ended) is forwarded statelessly if it was ours."""
        try:
            vias = response.vias
        except SipParseError:
            self.endpoint.metrics_dropped_responses.inc()
            return
        if len(vias) < 2 or vias[0].host != self.address:
            self.endpoint.metrics_dropped_responses.inc()
            return
        response.headers.pop_first("Via")
        self.endpoint.send_response_upstream(response)

    def cx_request(self, command: int, impu: str, *, impi: str | None = None) -> Message:
        """A Cx request from this replica (TS 29.229 §6.1): the AVPs every Cx command
        carries, then User-Name (when given) and Public-Identity."""
        origin = f"{self.replica}.{self.config.realm}"
        msg = Message(command, APP_CX, request=True, proxiable=True)
        msg.add("Session-Id", new_session_id(origin))
        head = self._cx_head
        if head is None:  # the same in every Cx request of this replica: encoded once
            tmpl = Message(command, APP_CX, request=True, proxiable=True)
            tmpl.add(
                "Vendor-Specific-Application-Id",
                [("Vendor-Id", VENDOR_3GPP), ("Auth-Application-Id", APP_CX)],
            )
            tmpl.add("Auth-Session-State", 1)  # NO_STATE_MAINTAINED
            tmpl.add("Origin-Host", origin)
            tmpl.add("Origin-Realm", self.config.realm)
            tmpl.add("Destination-Realm", self.config.realm)
            head = self._cx_head = tmpl.avps
        msg.avps.extend([avp.copy() for avp in head])
        if impi is not None:
            msg.add("User-Name", impi)
        msg.add("Public-Identity", impu)
        return msg

    async def relay(
        self,
        incoming: IncomingRequest,
        fwd: SipRequest,
        *,
        routes: list[str] | None,
        error_status: int,
        error_reason: str,
    ) -> SipResponse | None:
        """Forward an initial request as a Record-Routing proxy (§16.6): optionally replace
        its Route set, add our Record-Route, send it to the next hop and relay the answer.
        Returns the final response sent upstream, or None when the next hop is unknown."""
        if routes is not None:
            fwd.headers.remove("Route")
            for hop in routes:
                fwd.headers.add("Route", hop)
        fwd.headers.add("Record-Route", f"<{self.own_uri()}>", first=True)
        try:
            target = await self.next_hop(fwd)
        except (NameResolutionError, SipParseError) as exc:
            incoming.reply(error_status, f"{error_reason} ({exc})"[:100])
            return None
        return await self.endpoint.proxy(incoming, fwd, target)

    async def diameter_request(self, peer: str, message: Message) -> Message:
        return await self.diameter[peer].request(message)
