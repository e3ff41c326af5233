"""The P-CSCF: the UEs' first hop over UDP and TCP (TS 24.229 §5.2).

* REGISTER: adds a Path (RFC 3327) naming this P-CSCF service, so terminating requests come
  back through it, and forwards to the I-CSCF. On the 200 OK it keeps, in the shared store,
  the user's Service-Route (RFC 3608) and P-Associated-URIs, and removes the AKA keys
  (``ck``/``ik``) from 401 challenges before they reach the UE (TS 24.229 §5.2.2.1).
* Originating initial requests: the UE must be registered; the P-CSCF asserts its identity
  (P-Asserted-Identity, RFC 3325), pre-loads the Service-Route, Record-Routes, forwards.
* Terminating requests (Route ``sip:term@pcscf``): Record-Route and forward to the contact.
* In-dialog requests follow their Route set.
* UEs behind a NAT or a port publisher (a container's published SIP port): when a REGISTER
  arrives from another address than its Contact, the P-CSCF keeps that flow (RFC 5626 §3.3,
  TS 24.229 Annex F hosted NAT traversal) and sends requests for that contact back over it:
  from its service socket (UDP) or over the UE's connection (TCP).
* Rx (optional, ``rx.enabled``; rx.py): an answered INVITE's media is authorised at the PCRF
  (AAR, a QCI-1 bearer for voice), a BYE ends it (STR).
"""

from __future__ import annotations

import json
import re

from network_functions.protocols.ims import normalise_impu
from network_functions.protocols.sip import NameAddr, SipParseError, SipResponse, SipUri
from network_functions.runtime.names import NameResolutionError
from network_functions.runtime.sip import IncomingRequest, Target
from network_functions.runtime.sipnf import ServiceRef, SipNetworkFunction, SipNFConfig
from network_functions.runtime.store import Store

from .rx import RxClient, RxConfig

# The AKA keys the S-CSCF adds to its challenge for the P-CSCF only (TS 33.203 §7.1).
_KEY_PARAMS = re.compile(r',\s*(?:ck|ik)="[^"]*"', re.IGNORECASE)


class PcscfConfig(SipNFConfig):
    icscf: ServiceRef
    scscf: ServiceRef
    rx: RxConfig = RxConfig()


class Pcscf(SipNetworkFunction[PcscfConfig]):
    config_model = PcscfConfig

    def __init__(self, config: PcscfConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.state: Store | None = None
        self.m_registrations = self.metrics.counter(
            "pcscf_registrations_total", "REGISTER final responses relayed", ("code",)
        )
        self.m_sessions = self.metrics.counter(
            "pcscf_sessions_total", "initial requests by leg and final code", ("leg", "code")
        )
        self.rx = RxClient(self, config.rx) if config.rx.enabled else None
        if self.rx is not None:
            self.add_readiness_check("diameter:rx", self.rx.client.readiness)

    async def start(self) -> None:
        self.state = await self.open_store()
        await super().start()
        if self.rx is not None:
            self.rx.start()

    async def close(self) -> None:
        await super().close()
        if self.rx is not None:
            await self.rx.close()

    @property
    def kv(self) -> Store:
        assert self.state is not None, "started"
        return self.state

    async def on_request(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        if self.too_many_hops(incoming):
            return
        if req.method == "REGISTER":
            await self.on_register(incoming)
        elif req.to.tag or req.method == "ACK":
            if req.method == "BYE" and self.rx is not None:
                self.rx.session_ended(req.call_id)
            await self.route_in_dialog(incoming, record_route=False)
        elif self._is_terminating(incoming):
            await self.terminating(incoming)
        else:
            await self.originating(incoming)

    def _is_terminating(self, incoming: IncomingRequest) -> bool:
        routes = incoming.request.headers.get_all("Route")
        if not routes:
            return False
        try:
            uri = NameAddr.parse(routes[0]).uri
        except SipParseError:
            return False
        return self.is_own(uri) and uri.user == "term"

    # -- registration ----------------------------------------------------------------------
    async def on_register(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        fwd.headers.add("Path", f"<{self.own_uri('term')}>", first=True)
        supported = fwd.headers.get("Supported") or ""
        if "path" not in supported:
            fwd.headers.add("Supported", "path")
        if fwd.headers.get("P-Visited-Network-ID") is None:
            fwd.headers.add("P-Visited-Network-ID", f'"{self.config.domain}"')
        try:
            target = await self.service_target(self.config.icscf.name, self.config.icscf.port)
        except NameResolutionError as exc:
            incoming.reply(500, f"Server Internal Error ({exc})"[:100])
            return
        aor = normalise_impu(str(req.to.uri))
        response = await self.endpoint.proxy(incoming, fwd, target, rewrite=_strip_keys)
        self.m_registrations.labels(str(response.status)).inc()
        if response.status == 200:
            await self._remember(aor, response)
            await self._remember_flows(incoming, response)

    async def _remember(self, aor: str, response: SipResponse) -> None:
        contacts = response.headers.get_all("Contact")
        identities = [normalise_impu(u) for u in response.headers.get_all("P-Associated-URI")]
        if aor not in identities:
            identities.insert(0, aor)
        if not contacts:
            for impu in identities:
                await self.kv.delete(f"pcscf:reg:{impu}")
            return
        expires = 0
        for value in contacts:
            try:
                expires = max(expires, int(NameAddr.parse(value).params.get("expires") or 0))
            except (SipParseError, ValueError):
                continue
        record = json.dumps(
            {
                "service_route": response.headers.get_all("Service-Route"),
                "identities": identities,
            }
        ).encode()
        await self.kv.set_many(
            {f"pcscf:reg:{impu}": record for impu in identities}, ttl=max(expires, 1) + 30
        )

    # -- flows (NAT traversal) ---------------------------------------------------------------
    @staticmethod
    def _flow_key(uri: SipUri) -> str:
        return f"pcscf:flow:{uri.user or ''}@{uri.host}:{uri.port or 5060}".lower()

    async def _remember_flows(self, incoming: IncomingRequest, response: SipResponse) -> None:
        """Keep the address each binding's REGISTER came from when it is not the Contact's."""
        source = incoming.source
        registered = bool(response.headers.get_all("Contact"))
        for value in incoming.request.headers.get_all("Contact"):
            try:
                contact = NameAddr.parse(value)
            except SipParseError:
                continue  # "*" (remove all) or junk: nothing to map
            uri = contact.uri
            transport = (uri.params.get("transport") or "udp").lower()
            key = self._flow_key(uri)
            same = (uri.host, uri.port or 5060, transport) == (
                source.host,
                source.port,
                source.transport,
            )
            try:
                expires = int(
                    contact.params.get("expires") or incoming.request.headers.get("Expires") or 0
                )
            except ValueError:
                expires = 0
            if same or not registered or expires == 0:
                await self.kv.delete(key)
                continue
            record = {
                "host": source.host,
                "port": source.port,
                "transport": source.transport,
                "replica": self.replica,
            }
            await self.kv.set(key, json.dumps(record).encode(), ttl=expires + 30)

    async def target_for(self, uri: SipUri) -> Target:
        """A contact registered through a NAT is reached over its flow, when this replica
        holds it (another replica's socket is not the address the NAT maps back)."""
        if uri.user is not None and not self.is_own(uri):
            raw = await self.kv.get(self._flow_key(uri))
            if raw is not None:
                flow = json.loads(raw)
                if flow.get("replica") == self.replica:
                    return Target(flow["host"], int(flow["port"]), flow["transport"], flow=True)
        return await super().target_for(uri)

    # -- sessions ----------------------------------------------------------------------------
    async def originating(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        preferred = req.headers.get("P-Preferred-Identity")
        try:
            identity = (
                normalise_impu(preferred) if preferred else normalise_impu(str(req.from_.uri))
            )
        except SipParseError:
            incoming.reply(400, "Malformed From header")
            return
        raw = await self.kv.get(f"pcscf:reg:{identity}")
        if raw is None:
            self.m_sessions.labels("orig", "403").inc()
            incoming.reply(403, "Forbidden (not registered)")
            return
        record = json.loads(raw)
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        fwd.headers.remove("P-Preferred-Identity")
        fwd.headers.set("P-Asserted-Identity", f"<{identity}>")
        response = await self.relay(
            incoming,
            fwd,
            routes=record["service_route"],
            error_status=500,
            error_reason="Server Internal Error",
        )
        if response is not None:
            self.m_sessions.labels("orig", str(response.status)).inc()
            if self.rx is not None and req.method == "INVITE" and 200 <= response.status < 300:
                self.rx.session_answered(
                    req.call_id,
                    "orig",
                    ue_sdp=req.body,
                    remote_sdp=response.body,
                    subscriber=identity,
                )

    async def terminating(self, incoming: IncomingRequest) -> None:
        fwd = self.forward_copy(incoming.request)
        self.pop_own_routes(fwd)
        response = await self.relay(
            incoming, fwd, routes=None, error_status=480, error_reason="Temporarily Unavailable"
        )
        if response is not None:
            self.m_sessions.labels("term", str(response.status)).inc()
            req = incoming.request
            if self.rx is not None and req.method == "INVITE" and 200 <= response.status < 300:
                self.rx.session_answered(
                    req.call_id,
                    "term",
                    ue_sdp=response.body,
                    remote_sdp=req.body,
                    subscriber=None,
                )


def _strip_keys(response: SipResponse) -> None:
    if response.status != 401:
        return
    values = response.headers.get_all("WWW-Authenticate")
    if not values:
        return
    response.headers.remove("WWW-Authenticate")
    for value in values:
        response.headers.add("WWW-Authenticate", _KEY_PARAMS.sub("", value))
