"""The S-CSCF: registrar with authentication, and originating/terminating session routing.

Registration (TS 24.229 §5.4.1, RFC 3261 §10.3):
  REGISTER without valid credentials → MAR to the HSS → 401 with a Digest challenge
  (``MD5``, qop=auth, or ``AKAv1-MD5`` per RFC 3310 with the AKA vector's RAND‖AUTN as nonce);
  REGISTER with credentials → check → SAR → 200 OK with the bindings, Path echoed
  (RFC 3327), Service-Route (RFC 3608) and P-Associated-URI (RFC 7315 §4.1).
  Expires 0 de-registers (SAR USER_DEREGISTRATION when the last binding goes); bindings
  expire by time; AKA re-synchronisation (AUTS) asks the HSS for a fresh vector.

Routing (TS 24.229 §5.4.3):
  originating (Route ``sip:orig@scscf``): the served user must be registered; requests to
  the home domain go to the I-CSCF (which asks the HSS where the callee is);
  terminating (Route ``sip:term@scscf``): the callee's contact becomes the Request-URI and
  its Path the Route set. The S-CSCF Record-Routes both legs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import xml.etree.ElementTree as ET

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols.diameter import (
    CMD_MAR,
    CMD_SAR,
    ExperimentalResultCode,
    Message,
    ResultCode,
    answer_code,
)
from network_functions.protocols.ims import impi_from_impu, normalise_impu, tel_to_sip
from network_functions.protocols.sip import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    digest,
    make_response,
)
from network_functions.runtime.diameter import DiameterUnavailable
from network_functions.runtime.names import NameResolutionError
from network_functions.runtime.sip import IncomingRequest
from network_functions.runtime.sipnf import ServiceRef, SipNetworkFunction, SipNFConfig

from .registrar import Binding, Challenge, RegistrarStore, Registration

SCHEME_AKA = "Digest-AKAv1-MD5"
SCHEME_DIGEST = "SIP Digest"
SAT_REGISTRATION = 1
SAT_RE_REGISTRATION = 2
SAT_USER_DEREGISTRATION = 5
SAT_TIMEOUT_DEREGISTRATION = 4


class RegistrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_expires: int = Field(default=60, ge=1)
    max_expires: int = Field(default=7200, ge=1)
    default_expires: int = Field(default=600, ge=1)
    sweep_interval: float = Field(default=10.0, gt=0)


class ScscfConfig(SipNFConfig):
    server_name: str
    icscf: ServiceRef
    registration: RegistrationConfig = RegistrationConfig()


class CxError(Exception):
    """The HSS refused or could not be asked; carries the SIP answer to give."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def impus_from_user_data(xml: bytes | str | None) -> list[str]:
    """The public identities of a TS 29.228 Annex E IMS subscription document."""
    if not xml:
        return []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return []
    return [normalise_impu(e.text or "") for e in root.iter("Identity") if e.text]


class Scscf(SipNetworkFunction[ScscfConfig]):
    config_model = ScscfConfig

    def __init__(self, config: ScscfConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.registrar: RegistrarStore | None = None
        self._sweeper: asyncio.Task[None] | None = None
        server_uri = SipUri.parse(config.server_name)
        self.own_hosts.add(server_uri.host)
        self.service_host = server_uri.host
        self.m_registrations = self.metrics.counter(
            "scscf_registrations_total", "REGISTER outcomes", ("outcome",)
        )
        self.m_sessions = self.metrics.counter(
            "scscf_sessions_total", "initial INVITEs routed", ("leg", "outcome")
        )
        self.m_active = self.metrics.gauge(
            "scscf_active_registrations",
            "registered users with a live binding (shared store; refreshed every sweep)",
        )

    @property
    def reg(self) -> RegistrarStore:
        assert self.registrar is not None
        return self.registrar

    async def start(self) -> None:
        self.registrar = RegistrarStore(await self.open_store())
        self.metrics.gauge("scscf_registrar_store", "1 when the registrar store is open").set(1)
        await super().start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def drain(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        await super().drain()

    async def _sweep_loop(self) -> None:
        """Expire registrations (RFC 3261 §10.3 step 7): one replica at a time, chosen by a
        lock in the store, de-registers users whose last binding expired (SAR
        TIMEOUT_DEREGISTRATION, TS 29.228 §6.1.2) so the HSS stops routing to them."""
        interval = self.config.registration.sweep_interval
        while True:
            await asyncio.sleep(interval)
            try:
                now = time.time()
                regs = await self.reg.all()
                self.m_active.set(sum(1 for r in regs if r.active(now)))
                if await self.reg.store.set_if_absent(
                    "scscf:sweep-lock", self.replica.encode(), ttl=interval * 0.9
                ):
                    await self.sweep_expired()
            except Exception:
                self.log.exception("registration sweep failed")

    async def sweep_expired(self) -> int:
        expired = 0
        now = time.time()
        for reg in await self.reg.all():
            if reg.active(now):
                continue
            sar = self._cx_request(CMD_SAR, reg.impi, reg.impus[0])
            sar.add("Server-Assignment-Type", SAT_TIMEOUT_DEREGISTRATION)
            sar.add("User-Data-Already-Available", 0)
            try:
                await self._ask_hss(sar)
            except CxError:
                continue  # the HSS is away: try again on the next sweep
            await self.reg.delete(reg)
            expired += 1
        if expired:
            self.m_registrations.labels("expired").inc(expired)
        return expired

    # -- dispatch ------------------------------------------------------------------------
    async def on_request(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        if req.method == "REGISTER":
            await self.on_register(incoming)
            return
        if self.too_many_hops(incoming):
            return
        if req.to.tag or req.method == "ACK":
            await self.route_in_dialog(incoming, record_route=False)
            return
        leg = self._leg(req)
        if leg == "term":
            await self.terminating(incoming)
        else:
            await self.originating(incoming)

    def _leg(self, req: SipRequest) -> str:
        routes = req.headers.get_all("Route")
        if routes:
            try:
                uri = NameAddr.parse(routes[0]).uri
            except SipParseError:
                return "orig"
            if self.is_own(uri) and uri.user == "term":
                return "term"
            if self.is_own(uri):
                return "orig"
        return "term" if not req.headers.get("P-Asserted-Identity") else "orig"

    # -- registration ----------------------------------------------------------------------
    def _expires(self, req: SipRequest, contact: NameAddr | None) -> int:
        value = contact.params.get("expires") if contact is not None else None
        if value is None:
            value = req.headers.get("Expires")
        if value is None:
            return self.config.registration.default_expires
        try:
            return max(0, int(value.strip()))
        except ValueError:
            raise SipParseError(f"Invalid expires value {value!r}") from None

    async def on_register(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        impu = normalise_impu(str(req.to.uri))
        auth_value = req.headers.get("Authorization")
        creds: digest.Credentials | None = None
        if auth_value is not None:
            try:
                creds = digest.parse_credentials(auth_value)
            except digest.DigestError as exc:
                incoming.reply(400, f"Malformed Authorization header: {exc}"[:100])
                return
        impi = creds.username if creds is not None else impi_from_impu(impu)
        try:
            if creds is None or not creds.response or not creds.nonce:
                await self._challenge(incoming, impi, impu, creds)
                return
            challenge = await self.reg.take_challenge(creds.nonce)
            if challenge is None:
                # Unknown or used nonce: a fresh challenge, stale=true (RFC 2617 §3.2.1).
                await self._challenge(incoming, impi, impu, creds, stale=True)
                return
            if creds.auts:
                await self._challenge(incoming, impi, impu, creds, resync=challenge)
                return
            if challenge.impi != impi or not digest.verify(
                creds, method="REGISTER", ha1_hex=challenge.ha1
            ):
                self.m_registrations.labels("auth_failed").inc()
                incoming.reply(403, "Forbidden (authentication failed)")
                return
            await self._register(incoming, impi, impu)
        except CxError as exc:
            self.m_registrations.labels("hss_error").inc()
            incoming.reply(exc.status, exc.reason)

    def _cx_request(self, command: int, impi: str, impu: str) -> Message:
        msg = self.cx_request(command, impu, impi=impi)
        msg.add("Server-Name", self.config.server_name)
        return msg

    async def _ask_hss(self, msg: Message) -> Message:
        try:
            return await self.diameter_request("hss", msg)
        except DiameterUnavailable as exc:
            raise CxError(504, "Server Time-out (HSS unavailable)") from exc

    async def _challenge(
        self,
        incoming: IncomingRequest,
        impi: str,
        impu: str,
        creds: digest.Credentials | None,
        *,
        stale: bool = False,
        resync: Challenge | None = None,
    ) -> None:
        mar = self._cx_request(CMD_MAR, impi, impu)
        mar.add("SIP-Number-Auth-Items", 1)
        algorithm = (creds.algorithm if creds is not None else "").upper()
        scheme = (
            SCHEME_AKA
            if algorithm.startswith("AKAV1")
            else (SCHEME_DIGEST if creds is not None and algorithm == "MD5" else "Unknown")
        )
        item: list[tuple[str, object]] = [("SIP-Authentication-Scheme", scheme)]
        if resync is not None and creds is not None and creds.auts:
            try:
                auts = base64.b64decode(creds.auts, validate=True)
            except (binascii.Error, ValueError):
                incoming.reply(400, "Malformed auts parameter")
                return
            item = [
                ("SIP-Authentication-Scheme", SCHEME_AKA),
                ("SIP-Authorization", bytes.fromhex(resync.rand) + auts),
            ]
        mar.add("SIP-Auth-Data-Item", item)
        maa = await self._ask_hss(mar)
        code = answer_code(maa)
        if code == ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN:
            self.m_registrations.labels("unknown_user").inc()
            incoming.reply(403, "Forbidden (unknown user)")
            return
        if code == ExperimentalResultCode.DIAMETER_ERROR_IDENTITIES_DONT_MATCH:
            incoming.reply(403, "Forbidden (public and private identity do not match)")
            return
        if code != ResultCode.DIAMETER_SUCCESS:
            incoming.reply(403, f"Forbidden (HSS answered {code})")
            return
        data = maa.get("SIP-Auth-Data-Item")
        if data is None:
            raise CxError(500, "Server Internal Error (MAA without auth data)")
        got_scheme = str(data.get("SIP-Authentication-Scheme"))
        realm = self.config.domain
        extra = ""
        if got_scheme == SCHEME_AKA:
            rand_autn = bytes(data.get("SIP-Authenticate"))
            xres = bytes(data.get("SIP-Authorization"))
            nonce = digest.aka_nonce(rand_autn[:16], rand_autn[16:32])
            ha1 = digest.ha1(impi, realm, xres)
            stored = Challenge(impi, impu, got_scheme, ha1, rand=rand_autn[:16].hex())
            algorithm_out = "AKAv1-MD5"
            ck, ik = data.get("Confidentiality-Key"), data.get("Integrity-Key")
            if ck is not None and ik is not None:
                extra = f', ck="{bytes(ck).hex()}", ik="{bytes(ik).hex()}"'
        else:
            dig = data.get("SIP-Digest-Authenticate")
            if dig is None:
                raise CxError(500, "Server Internal Error (MAA without digest data)")
            ha1 = str(dig.get("Digest-HA1"))
            nonce = digest.new_nonce()
            stored = Challenge(impi, impu, got_scheme, ha1)
            algorithm_out = "MD5"
        await self.reg.put_challenge(nonce, stored)
        header = (
            digest.Challenge(
                realm=realm, nonce=nonce, algorithm=algorithm_out, qop="auth", stale=stale
            ).to_header()
            + extra
        )
        headers = Headers()
        headers.add("WWW-Authenticate", header)
        self.m_registrations.labels("challenged").inc()
        incoming.respond(make_response(incoming.request, 401, "Unauthorized", headers=headers))

    async def _register(self, incoming: IncomingRequest, impi: str, impu: str) -> None:
        req = incoming.request
        now = time.time()
        contacts = req.headers.get_all("Contact")
        existing = await self.reg.get(impi)
        was_registered = existing is not None and bool(existing.active(now))
        reg = existing if existing is not None else Registration(impi=impi, impus=[impu])
        reg.bindings = reg.active(now)
        wildcard = len(contacts) == 1 and contacts[0].strip() == "*"
        path = req.headers.get_all("Path")
        call_id = req.call_id
        cseq = req.cseq[0]
        if wildcard:
            if self._expires(req, None) != 0:
                incoming.reply(400, "Invalid Contact: * requires Expires: 0")
                return
            reg.bindings = []
        for value in contacts if not wildcard else []:
            contact = NameAddr.parse(value)
            expires = self._expires(req, contact)
            uri = str(contact.uri)
            if 0 < expires < self.config.registration.min_expires:
                headers = Headers()
                headers.add("Min-Expires", str(self.config.registration.min_expires))
                incoming.respond(make_response(req, 423, "Interval Too Brief", headers=headers))
                return
            expires = min(expires, self.config.registration.max_expires)
            reg.bindings = [b for b in reg.bindings if b.uri != uri]
            if expires > 0:
                reg.bindings.append(
                    Binding(
                        uri=uri,
                        expires_at=now + expires,
                        path=path,
                        call_id=call_id,
                        cseq=cseq,
                        received=incoming.source.host,
                    )
                )
        if not reg.bindings:
            if was_registered:
                sar = self._cx_request(CMD_SAR, impi, impu)
                sar.add("Server-Assignment-Type", SAT_USER_DEREGISTRATION)
                sar.add("User-Data-Already-Available", 0)
                await self._ask_hss(sar)
                await self.reg.delete(reg)
            self.m_registrations.labels("deregistered").inc()
            incoming.respond(self._ok(req, reg, now))
            return
        sar = self._cx_request(CMD_SAR, impi, impu)
        sar.add(
            "Server-Assignment-Type", SAT_RE_REGISTRATION if was_registered else SAT_REGISTRATION
        )
        sar.add("User-Data-Already-Available", 1 if was_registered else 0)
        saa = await self._ask_hss(sar)
        if answer_code(saa) != ResultCode.DIAMETER_SUCCESS:
            incoming.reply(403, f"Forbidden (server assignment refused: {answer_code(saa)})")
            return
        impus = impus_from_user_data(saa.get("User-Data"))
        if impus:
            # The registered IMPU first, then the implicitly registered set (TS 23.228 §4.3.3.4)
            reg.impus = [impu] + [u for u in impus if u != impu]
        await self.reg.save(reg)
        self.m_registrations.labels("reregistered" if was_registered else "registered").inc()
        incoming.respond(self._ok(req, reg, now))

    def _ok(self, req: SipRequest, reg: Registration, now: float) -> SipResponse:
        headers = Headers()
        for binding in reg.active(now):
            headers.add("Contact", f"<{binding.uri}>;expires={binding.remaining(now)}")
        for path in req.headers.get_all("Path"):
            headers.add("Path", path)
        if reg.active(now):
            headers.add("Service-Route", f"<{self.own_uri('orig')}>")
            for impu in reg.impus:
                headers.add("P-Associated-URI", f"<{impu}>")
        headers.add("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)))
        return make_response(req, 200, "OK", headers=headers)

    # -- routing -----------------------------------------------------------------------------
    async def originating(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        asserted = req.headers.get("P-Asserted-Identity")
        try:
            served = normalise_impu(asserted) if asserted else normalise_impu(str(req.from_.uri))
        except SipParseError:
            incoming.reply(400, "Malformed From header")
            return
        reg = await self.reg.by_impu(served)
        if reg is None or not reg.active():
            self.m_sessions.labels("orig", "not_registered").inc()
            incoming.reply(403, "Forbidden (originating user not registered)")
            return
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        if fwd.uri.startswith("tel:"):
            fwd.uri = tel_to_sip(fwd.uri, self.config.domain)
        try:
            callee = SipUri.parse(fwd.uri)
        except SipParseError as exc:
            incoming.reply(416 if exc.status == 416 else 400, exc.reason)
            return
        if callee.host != self.config.domain and not fwd.headers.get_all("Route"):
            self.m_sessions.labels("orig", "no_route").inc()
            incoming.reply(404, f"Not Found (no route to {callee.host}: no BGCF)")
            return
        fwd.headers.add("Record-Route", f"<{self.own_uri()}>", first=True)
        try:
            if fwd.headers.get_all("Route"):
                target = await self.next_hop(fwd)
            else:
                target = await self.service_target(self.config.icscf.name, self.config.icscf.port)
        except NameResolutionError as exc:
            incoming.reply(500, f"Server Internal Error ({exc})"[:100])
            return
        response = await self.endpoint.proxy(incoming, fwd, target)
        self.m_sessions.labels("orig", str(response.status)).inc()

    async def terminating(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        callee = normalise_impu(tel_to_sip(fwd.uri, self.config.domain))
        reg = await self.reg.by_impu(callee)
        if reg is None and fwd.uri.startswith("tel:"):
            reg = await self.reg.by_impu(normalise_impu(fwd.uri))
        bindings = reg.active() if reg is not None else []
        if not bindings:
            self.m_sessions.labels("term", "480").inc()
            incoming.reply(480, "Temporarily Unavailable (callee not registered)")
            return
        binding = max(bindings, key=lambda b: b.expires_at)
        fwd.uri = binding.uri
        response = await self.relay(
            incoming,
            fwd,
            routes=binding.path,
            error_status=480,
            error_reason="Temporarily Unavailable",
        )
        if response is not None:
            self.m_sessions.labels("term", str(response.status)).inc()
