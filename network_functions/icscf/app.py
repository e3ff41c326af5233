"""The I-CSCF: finds the S-CSCF for a user by asking the HSS (TS 24.229 §5.3).

* REGISTER → UAR (User-Authorization-Type from Expires) → forward to the Server-Name the
  HSS gives (TS 29.228 §6.1.1); refusals become 403, an unreachable HSS 504.
* Initial requests for a home-domain user → LIR (§6.1.4) → forward to that S-CSCF with a
  ``term`` Route; unknown users 404, unregistered ones 480.
* The I-CSCF does not Record-Route (it is not needed later in the dialog).
"""

from __future__ import annotations

from network_functions.protocols.diameter import (
    CMD_LIR,
    CMD_UAR,
    ExperimentalResultCode,
    ResultCode,
    answer_code,
)
from network_functions.protocols.ims import impi_from_impu, normalise_impu, tel_to_sip
from network_functions.protocols.sip import SipParseError, SipUri, digest
from network_functions.runtime.diameter import DiameterUnavailable
from network_functions.runtime.names import NameResolutionError
from network_functions.runtime.sip import IncomingRequest, Target
from network_functions.runtime.sipnf import ServiceRef, SipNetworkFunction, SipNFConfig

SUCCESS = {
    ResultCode.DIAMETER_SUCCESS,
    ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION,
    ExperimentalResultCode.DIAMETER_SUBSEQUENT_REGISTRATION,
}
# TS 29.228 Table 6.1.1.1 mapping of UAA errors to SIP, §5.3.1.2 of TS 24.229.
UAA_REFUSALS: dict[int, tuple[int, str]] = {
    ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN: (403, "Forbidden (unknown user)"),
    ExperimentalResultCode.DIAMETER_ERROR_IDENTITIES_DONT_MATCH: (
        403,
        "Forbidden (public and private identity do not match)",
    ),
    ExperimentalResultCode.DIAMETER_ERROR_ROAMING_NOT_ALLOWED: (
        403,
        "Forbidden (roaming not allowed)",
    ),
    ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED: (
        403,
        "Forbidden (identity not registered)",
    ),
    ResultCode.DIAMETER_AUTHORIZATION_REJECTED: (403, "Forbidden (authorization rejected)"),
}


class IcscfConfig(SipNFConfig):
    scscf: ServiceRef


class Icscf(SipNetworkFunction[IcscfConfig]):
    config_model = IcscfConfig

    def __init__(self, config: IcscfConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.m_queries = self.metrics.counter(
            "icscf_hss_queries_total", "UAR/LIR outcomes", ("command", "result")
        )

    async def scscf_target(self, server_name: str) -> Target:
        uri = SipUri.parse(server_name)
        return Target(
            await self.resolve_host(uri.host),
            uri.port or self.config.scscf.port,
            (uri.params.get("transport") or "udp").lower(),
        )

    async def on_request(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        if self.too_many_hops(incoming):
            return
        if req.method == "REGISTER":
            await self.on_register(incoming)
        elif req.to.tag or req.method == "ACK":
            await self.route_in_dialog(incoming, record_route=False)
        else:
            await self.on_initial(incoming)

    async def on_register(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        impu = normalise_impu(str(req.to.uri))
        impi = impi_from_impu(impu)
        auth = req.headers.get("Authorization")
        if auth:
            try:
                impi = digest.parse_credentials(auth).username
            except digest.DigestError as exc:
                incoming.reply(400, f"Malformed Authorization header: {exc}"[:100])
                return
        expires = req.headers.get("Expires")
        contact = req.headers.get("Contact") or ""
        dereg = (expires is not None and expires.strip() == "0") or "expires=0" in contact.replace(
            " ", ""
        )
        uar = self.cx_request(CMD_UAR, impu, impi=impi)
        uar.add(
            "Visited-Network-Identifier",
            (req.headers.get("P-Visited-Network-ID") or self.config.domain).strip('"'),
        )
        uar.add("User-Authorization-Type", 1 if dereg else 0)
        try:
            uaa = await self.diameter_request("hss", uar)
        except DiameterUnavailable:
            self.m_queries.labels("UAR", "unavailable").inc()
            incoming.reply(504, "Server Time-out (HSS unavailable)")
            return
        code = answer_code(uaa)
        self.m_queries.labels("UAR", str(code)).inc()
        if code not in SUCCESS:
            status, reason = UAA_REFUSALS.get(code, (480, f"Temporarily Unavailable (UAA {code})"))
            incoming.reply(status, reason)
            return
        server_name = uaa.get("Server-Name")
        if not server_name:
            incoming.reply(480, "Temporarily Unavailable (no S-CSCF)")
            return
        try:
            target = await self.scscf_target(str(server_name))
        except (SipParseError, NameResolutionError) as exc:
            incoming.reply(480, f"Temporarily Unavailable (S-CSCF {server_name}: {exc})"[:100])
            return
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        await self.endpoint.proxy(incoming, fwd, target)

    async def on_initial(self, incoming: IncomingRequest) -> None:
        req = incoming.request
        fwd = self.forward_copy(req)
        self.pop_own_routes(fwd)
        impu = normalise_impu(fwd.uri)
        lir = self.cx_request(CMD_LIR, impu)
        try:
            lia = await self.diameter_request("hss", lir)
        except DiameterUnavailable:
            self.m_queries.labels("LIR", "unavailable").inc()
            incoming.reply(504, "Server Time-out (HSS unavailable)")
            return
        code = answer_code(lia)
        if code == ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN and impu.startswith("tel:"):
            lia = await self.diameter_request(
                "hss", self.cx_request(CMD_LIR, tel_to_sip(impu, self.config.domain))
            )
            code = answer_code(lia)
        self.m_queries.labels("LIR", str(code)).inc()
        if code == ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN:
            incoming.reply(404, "Not Found (unknown user)")
            return
        if code == ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED:
            incoming.reply(480, "Temporarily Unavailable (user not registered)")
            return
        server_name = lia.get("Server-Name")
        if code not in SUCCESS or not server_name:
            incoming.reply(480, f"Temporarily Unavailable (LIA {code})")
            return
        uri = SipUri.parse(str(server_name))
        try:
            target = await self.scscf_target(str(server_name))
        except NameResolutionError as exc:
            incoming.reply(480, f"Temporarily Unavailable ({exc})"[:100])
            return
        port = uri.port or self.config.scscf.port
        fwd.headers.add("Route", f"<sip:term@{uri.host}:{port};lr>", first=True)
        await self.endpoint.proxy(incoming, fwd, target)
